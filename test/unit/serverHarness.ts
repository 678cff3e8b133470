// A real LSP client (vscode-languageserver-protocol over a child process's stdio) for the server
// tests and the benchmark: starts `node dist/server.js --stdio`, answers workspace/configuration
// with the settings a test chooses, and records diagnostics, serverStatus, showMessage and logMessage
// notifications.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  CodeActionRequest,
  CompletionRequest,
  CompletionResolveRequest,
  ConfigurationRequest,
  ErrorCodes,
  ResponseError,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShowMessageNotification,
  SemanticTokensRefreshRequest,
  InlayHintRefreshRequest,
  ShutdownRequest,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
  type CodeAction,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type Hover,
  type LogMessageParams,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type ShowMessageParams,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';
import {
  NextTagsRequest,
  RelatedTagsRequest,
  SampleTagsRequest,
  ServerStatusNotification,
  type NextTagsResult,
  type RelatedTagsResult,
  type SampleTagsResult,
  type ServerStatusParams,
} from '../../src/protocol';

export const repoRoot = path.join(__dirname, '..', '..');
export const serverModule = path.join(repoRoot, 'dist', 'server.js');
export const tinyModel = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny-tag');
export const shippedModel = path.join(repoRoot, 'models', 'default');

/**
 * The model the tests rank with: DANBOORU_GPT_TEST_MODEL when set, else the shipped one when present,
 * else the tiny generated fixture.
 */
export function testModelDir(): string | undefined {
  const override = process.env.DANBOORU_GPT_TEST_MODEL;
  if (override) return path.resolve(override);
  for (const dir of [shippedModel, tinyModel]) if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  return undefined;
}

export type Settings = Record<string, unknown>;

interface Waiter<T> {
  test: (value: T) => boolean;
  resolve: (value: T) => void;
}

export class LspTestClient {
  readonly statuses: ServerStatusParams[] = [];
  /** window/showMessage notifications (warnings about settings, for one). */
  readonly messages: ShowMessageParams[] = [];
  /** window/logMessage notifications (connection.console), what the client writes to its log. */
  readonly logs: LogMessageParams[] = [];
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** workspace/semanticTokens/refresh requests from the server (after each engine load). */
  semanticTokensRefreshes = 0;
  /** workspace/inlayHint/refresh requests from the server (a changed translation file or setting). */
  inlayHintRefreshes = 0;
  private readonly diagnosticWaiters: Waiter<PublishDiagnosticsParams>[] = [];
  private readonly statusWaiters: Waiter<ServerStatusParams>[] = [];
  private versions = new Map<string, number>();
  stderr = '';

  private constructor(
    readonly process: ChildProcessWithoutNullStreams,
    readonly connection: ProtocolConnection,
    public settings: Settings,
  ) {}

  /** Starts the server; `settings` is the `danbooruGpt` section it gets for every document. */
  /** `refreshFails`: answer the refresh requests with an error, as a client that claims them and then cannot. */
  /** `workspaceFolders`: folder paths the client opens (a multi-root workspace); none by default. */
  static async start(
    settings: Settings = {},
    options: { pullConfiguration?: boolean; pickedTagsFile?: string; nodeArgs?: string[]; refreshFails?: boolean; workspaceFolders?: string[] } = {},
  ): Promise<LspTestClient> {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), serverModule, '--stdio'], { cwd: repoRoot, stdio: 'pipe' });
    const connection = createProtocolConnection(child.stdout, child.stdin);
    const client = new LspTestClient(child, connection, settings);
    child.stderr.on('data', (chunk: Buffer) => (client.stderr += chunk.toString()));
    connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => client.settings));
    connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
    const refreshed = (): void => {
      if (options.refreshFails) throw new ResponseError(ErrorCodes.InternalError, 'this client cannot refresh now');
    };
    connection.onRequest(SemanticTokensRefreshRequest.type, () => (client.semanticTokensRefreshes++, refreshed()));
    connection.onRequest(InlayHintRefreshRequest.type, () => (client.inlayHintRefreshes++, refreshed()));
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      client.diagnostics.set(params.uri, params);
      settle(client.diagnosticWaiters, params);
    });
    connection.onNotification(ShowMessageNotification.type, (message) => client.messages.push(message));
    connection.onNotification(LogMessageNotification.type, (message) => client.logs.push(message));
    connection.onNotification(ServerStatusNotification, (status) => {
      client.statuses.push(status);
      settle(client.statusWaiters, status);
    });
    connection.listen();
    const pull = options.pullConfiguration ?? true;
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: options.workspaceFolders?.length ? pathToFileURL(options.workspaceFolders[0]!).href : null,
      workspaceFolders: options.workspaceFolders?.map((folder) => ({ uri: pathToFileURL(folder).href, name: path.basename(folder) })) ?? null,
      capabilities: {
        workspace: { configuration: pull, workspaceFolders: options.workspaceFolders !== undefined, semanticTokens: { refreshSupport: true }, inlayHint: { refreshSupport: true } },
        window: { workDoneProgress: true },
      },
      initializationOptions: { ...(pull ? {} : { settings }), ...(options.pickedTagsFile ? { pickedTagsFile: options.pickedTagsFile } : {}) },
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  /** Opens a document; returns its uri. */
  open(name: string, text: string, languageId = 'danbooru-prompt'): Promise<string> {
    return this.openUri(`file:///test/${name}`, text, languageId);
  }

  /** Opens a document at a uri of its own (a real file's, say); returns it. */
  async openUri(uri: string, text: string, languageId = 'danbooru-prompt'): Promise<string> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  /** Replaces a document's whole text. */
  async replace(uri: string, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  /** Changes a document by ranges, in order, as VS Code sends edits (several at once for several cursors). */
  async edit(uri: string, contentChanges: TextDocumentContentChangeEvent[]): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges });
  }

  async close(uri: string): Promise<void> {
    this.versions.delete(uri);
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async changeSettings(settings: Settings): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { danbooruGpt: settings } });
  }

  complete(uri: string, line: number, character: number, token?: CancellationTokenSource): Promise<CompletionList | CompletionItem[] | null> {
    return this.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line, character } }, token?.token);
  }

  /** Completion items of a list result, in the server's order. */
  async completionItems(uri: string, line: number, character: number): Promise<CompletionItem[]> {
    const result = await this.complete(uri, line, character);
    if (!result) return [];
    return Array.isArray(result) ? result : result.items;
  }

  resolve(item: CompletionItem): Promise<CompletionItem> {
    return this.connection.sendRequest(CompletionResolveRequest.type, item);
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  codeActions(uri: string, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    const range = diagnostics[0]!.range;
    return this.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range, context: { diagnostics } }) as Promise<CodeAction[]>;
  }

  sample(uri: string | undefined, line = 0, character = 0, n?: number): Promise<SampleTagsResult> {
    return this.connection.sendRequest(SampleTagsRequest, uri ? { textDocument: { uri }, position: { line, character }, n } : { n });
  }

  /**
   * Opens `line` as a document and samples at its end twice with the configured seed: the first
   * answer (and the document), once both are found equal and the context is the line's tags.
   */
  async sampleTwiceAtEnd(name: string, line: string, seed: number): Promise<{ first: SampleTagsResult; uri: string }> {
    const uri = await this.open(name, line);
    const first = await this.sample(uri, 0, line.length);
    const second = await this.sample(uri, 0, line.length);
    assert.equal(first.seed, seed);
    assert.deepEqual(first.samples, second.samples);
    assert.deepEqual(first.context, line.split(',').map((tag) => tag.trim()));
    return { first, uri };
  }

  related(uri: string, line: number, character: number, k = 20): Promise<RelatedTagsResult> {
    return this.connection.sendRequest(RelatedTagsRequest, { textDocument: { uri }, position: { line, character }, k });
  }

  nextTags(uri: string, line: number, character: number): Promise<NextTagsResult> {
    return this.connection.sendRequest(NextTagsRequest, { textDocument: { uri }, position: { line, character } });
  }

  /** Resolves with the first diagnostics for `uri` (already received or coming) that pass `test`. */
  waitForDiagnostics(uri: string, test: (d: Diagnostic[]) => boolean = () => true, timeoutMs = 20000): Promise<Diagnostic[]> {
    const current = this.diagnostics.get(uri);
    if (current && test(current.diagnostics)) return Promise.resolve(current.diagnostics);
    return withTimeout(new Promise<PublishDiagnosticsParams>((resolve) => {
      this.diagnosticWaiters.push({ test: (p) => p.uri === uri && test(p.diagnostics), resolve });
    }), timeoutMs, `diagnostics for ${uri}`).then((p) => p.diagnostics);
  }

  /** Resolves with the first serverStatus (already received or coming) that passes `test`. */
  waitForStatus(test: (s: ServerStatusParams) => boolean, timeoutMs = 20000): Promise<ServerStatusParams> {
    const seen = this.statuses.find(test);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise<ServerStatusParams>((resolve) => this.statusWaiters.push({ test, resolve })), timeoutMs, 'server status');
  }

  async stop(): Promise<void> {
    try {
      await withTimeout(this.connection.sendRequest(ShutdownRequest.type), 5000, 'shutdown');
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      // the process is killed below either way
    }
    this.connection.dispose();
    // Wait for the process to be gone (SIGKILL if SIGTERM is not enough) and close its pipes: a child
    // or pipe left behind would keep the test file's process from exiting.
    const child = this.process;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      try {
        await withTimeout(exited, 3000, 'the server to exit');
      } catch {
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
  }
}

function settle<T>(waiters: Waiter<T>[], value: T): void {
  for (let i = waiters.length - 1; i >= 0; i--) {
    if (waiters[i]!.test(value)) {
      waiters[i]!.resolve(value);
      waiters.splice(i, 1);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Applies LSP text edits (single-line ranges as the server produces them) to a text. */
export function applyEdits(text: string, edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]): string {
  const lines = text.split('\n');
  const offsetOf = (p: { line: number; character: number }): number => lines.slice(0, p.line).reduce((sum, l) => sum + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offsetOf(b.range.start) - offsetOf(a.range.start));
  let result = text;
  for (const edit of sorted) result = result.slice(0, offsetOf(edit.range.start)) + edit.newText + result.slice(offsetOf(edit.range.end));
  return result;
}

export { CancellationTokenSource };
