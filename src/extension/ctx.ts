// The client's lifecycle: the language client (started when the first prompt document is open or a
// command needs it), its log, the status bar item driven by the server's serverStatus notification,
// restarts, and the inline suggestion provider that follows its setting.
import path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  LanguageClient,
  MessageType,
  ShowMessageNotification,
  State,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { ServerStatusNotification, TAG_PICKED_COMMAND, WorkspaceTrustedNotification, type InitializationOptions, type ServerStatusParams } from '../protocol';
import { Config, SECTION } from './config';
import { InlineTagProvider } from './inline';
import { clientOutputChannel } from './logChannel';

const STARTING = 'Starting the language server…';

/** URI schemes of a file's other versions: Git's (diffs, timeline) and GitLens's. */
const OTHER_VERSION_SCHEMES = new Set(['git', 'gitlens']);

export class Ctx implements vscode.Disposable {
  readonly config: Config;
  readonly log: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  /** The last start failed (the status says why). */
  private startFailed = false;
  /**
   * The client library stopped the server for good: it crashed more often than the library restarts
   * it, or its connection failed. Not the library's own restart after a crash, which also passes
   * through the Stopped state.
   */
  private stoppedForGood = false;
  private disposed = false;
  private readonly statusItem: vscode.StatusBarItem;
  private serverStatus: ServerStatusParams | undefined;
  private inlineRegistration: vscode.Disposable | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly statusListeners = new vscode.EventEmitter<ServerStatusParams>();
  /** Warnings the server has shown (a setting out of range): a restarted server would show them again. */
  private readonly shownWarnings = new Set<string>();
  /** Fires on every serverStatus notification (the Related Tags view refreshes on a model load). */
  readonly onDidChangeServerStatus = this.statusListeners.event;

  /** The log and the status item belong to the activation shim (main.ts): they exist before this module loads. */
  constructor(readonly extension: vscode.ExtensionContext, log: vscode.LogOutputChannel, statusItem: vscode.StatusBarItem) {
    this.log = log;
    this.statusItem = statusItem;
    // Shown once a window, as the server's warnings about its settings are.
    this.config = new Config((message) => {
      if (!this.firstWarning(message)) return;
      this.log.warn(message);
      void vscode.window.showWarningMessage(`Danbooru GPT: ${message}`);
    });
    this.disposables.push(this.statusListeners);

    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((document) => this.startIfPrompt(document)),
      vscode.workspace.onDidChangeConfiguration((event) => this.configurationChanged(event)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        // The folders first (a link out of the workspace may be read now), then the settings again.
        void this.client?.sendNotification(WorkspaceTrustedNotification).then(() => this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null }));
      }),
    );
    for (const document of vscode.workspace.textDocuments) this.startIfPrompt(document);
    this.updateInlineProvider();
    this.disposables.push(vscode.window.onDidChangeActiveTextEditor(() => this.updatePromptEditor()));
    this.updatePromptEditor();
  }

  /**
   * The editor menu's Sample Tags and Tag Counts for every file the features apply to (extraFiles,
   * extraLanguages), not only the prompt language (package.json's `when`): a context key for the
   * editor in front, set again when it or those settings change.
   */
  private updatePromptEditor(): void {
    const editor = vscode.window.activeTextEditor;
    void vscode.commands.executeCommand('setContext', 'danbooruGpt.promptEditor', editor !== undefined && this.isPrompt(editor.document));
  }

  /** True when the features apply to this document (prompt language or a configured glob/language). */
  isPrompt(document: vscode.TextDocument): boolean {
    return this.config.isPrompt(document);
  }

  /**
   * The running client for a command, starting it if needed: also after a start failed or the server
   * stopped for good (it crashed more often than the client library restarts it), since the user asked.
   */
  start(): Promise<LanguageClient> {
    // (A restart that was stopping the old server when the window closed must not start a new one.)
    if (this.disposed) return Promise.reject(new Error('the extension is shutting down'));
    if (this.starting && this.stoppedForGood) {
      this.log.info('The language server had stopped: starting it again.');
      const stopped = this.client;
      this.starting = undefined;
      this.client = undefined;
      void stopped?.dispose().catch(() => undefined);
    }
    this.stoppedForGood = false;
    this.starting ??= this.createAndStart().then(
      (client) => {
        this.startFailed = false;
        return client;
      },
      (error: unknown) => {
        this.starting = undefined;
        this.startFailed = true;
        this.setStatus({ health: 'error', loading: false, message: `The language server did not start: ${describe(error)}` });
        throw error;
      },
    );
    return this.starting;
  }

  /**
   * The client for what runs on its own (an opened prompt, the Related Tags view on each cursor move,
   * inline suggestions on each keystroke): undefined after a start failed or the server stopped for
   * good, which only a command or Restart tries again (each try would spawn servers and errors).
   */
  available(): Promise<LanguageClient> | undefined {
    if (this.disposed || this.startFailed || this.stoppedForGood) return undefined;
    return this.start();
  }

  /** How many restarts were asked for (Restart, a change of the files served): a request a restart ended is no failure. */
  restarts = 0;

  async restart(): Promise<void> {
    this.restarts++;
    this.log.info('Restarting the language server.');
    this.startFailed = false;
    this.stoppedForGood = false;
    const previous = this.starting;
    this.starting = undefined;
    this.client = undefined;
    const old = await previous?.catch(() => undefined);
    await old?.dispose().catch((error: unknown) => this.log.warn(`Stopping the old server: ${describe(error)}`));
    await this.start();
  }

  showLog(): void {
    this.log.show(true);
  }

  get status(): ServerStatusParams | undefined {
    return this.serverStatus;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.inlineRegistration?.dispose();
    for (const d of this.disposables) d.dispose();
    const client = await this.starting?.catch(() => undefined);
    await client?.dispose();
  }

  private startIfPrompt(document: vscode.TextDocument): void {
    // After a failed start, a command or Restart tries again, not every prompt opened (each would say it failed).
    if (this.isPrompt(document)) void this.available()?.catch(() => undefined);
  }

  private async createAndStart(): Promise<LanguageClient> {
    const module = this.extension.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: this.config.documentSelector,
      synchronize: { configurationSection: SECTION },
      outputChannel: clientOutputChannel(this.log),
      // Shared by the windows: picks made in one raise the tags in all (pickedTags.ts).
      initializationOptions: { pickedTagsFile: path.join(this.extension.globalStorageUri.fsPath, 'picked-tags.json'), workspaceTrusted: vscode.workspace.isTrusted } satisfies InitializationOptions,
      middleware: {
        // Another version of a file (a diff's left side) is not the user's prompt: checked, its
        // problems would show in the Problems panel twice, under a URI no one edits.
        didOpen: (document, next) => (OTHER_VERSION_SCHEMES.has(document.uri.scheme) ? Promise.resolve() : next(document)),
        // A picked tag's command goes to the server (which counts it); after a written separator the
        // list opens again for the next tag, which only the editor can do.
        executeCommand: async (command, args, next) => {
          const result: unknown = await next(command, args);
          if (command === TAG_PICKED_COMMAND && args[1] === true) await vscode.commands.executeCommand('editor.action.triggerSuggest');
          return result;
        },
        workspace: {
          // A change of the files the features apply to restarts the client (configurationChanged) in the
          // same event: the old one, stopping, is told nothing (sending failed with a red "Starting server failed").
          didChangeConfiguration: (sections, next) => (this.client === client ? next(sections) : Promise.resolve()),
          // A model folder from an untrusted workspace's settings never reaches the server.
          configuration: async (params, token, next) => {
            const asked = await next(params, token);
            if (!Array.isArray(asked)) return asked;
            // A prompt's settings as its editor reads them: with the `"[danbooru-prompt]": {…}` block (or a
            // caption language's) applied, which the library's read by URI leaves out.
            return asked.map((libraryValue: unknown, i) => {
              const item = params.items[i];
              if (item?.section !== SECTION) return libraryValue;
              const document = item.scopeUri === undefined ? undefined : vscode.workspace.textDocuments.find((d) => d.uri.toString() === item.scopeUri);
              const value = document ? (JSON.parse(JSON.stringify(vscode.workspace.getConfiguration(undefined, document).get(SECTION) ?? null)) as unknown) : libraryValue;
              return isRecord(value) ? Config.trustedPaths(value, (message) => this.firstWarning(message) && this.log.warn(message)) : value;
            });
          },
        },
      },
    };
    // The library's own handler decides whether a crashed server is restarted; the status says which.
    let restartingAfterCrash = false;
    const errorHandler: ErrorHandler = {
      error: (error, message, count) => libraryHandler.error(error, message, count),
      closed: async () => {
        const result = await libraryHandler.closed();
        restartingAfterCrash = result.action === CloseAction.Restart;
        if (restartingAfterCrash && this.client === client) {
          this.setStatus({ health: 'warning', loading: true, message: 'The language server stopped unexpectedly: restarting it (the log says why).' });
        }
        return result;
      },
    };
    const client = new LanguageClient('danbooruGpt', 'Danbooru GPT language', serverOptions, { ...clientOptions, errorHandler });
    const libraryHandler = client.createDefaultErrorHandler();
    // The server logs its statuses itself (window/logMessage, at their level): not logged again here.
    client.onNotification(ServerStatusNotification, (status) => this.setStatus(status, false));
    // Replaces the client's own handler: the same warning is shown once per window, not again after a restart.
    client.onNotification(ShowMessageNotification.type, ({ type, message }) => {
      if (type === MessageType.Warning) {
        if (this.firstWarning(message)) void vscode.window.showWarningMessage(message);
      } else if (type === MessageType.Error) void vscode.window.showErrorMessage(message);
      else void vscode.window.showInformationMessage(message);
    });
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Starting) {
        restartingAfterCrash = false;
        this.setStatus({ health: 'warning', loading: true, message: STARTING });
      }
      // The model loads with the first prompt the server sees; until then (a command run with none
      // open) the server is ready, not loading.
      if (newState === State.Running && this.client === client && this.serverStatus?.message === STARTING) {
        this.setStatus({ health: 'ok', loading: false, message: 'The language server is running; the tag model loads with the first prompt opened.' });
      }
      // (Not on the way to the library's own restart, which passes through Stopped.)
      if (newState === State.Stopped && this.client === client && !restartingAfterCrash) {
        this.stoppedForGood = true;
        this.setStatus({ health: 'error', loading: false, stopped: true, message: 'The language server stopped. Use "Danbooru GPT: Restart Language Server" to start it again; the log says why.' });
      }
    });
    this.client = client;
    this.log.info(`Starting the language server: ${module}`);
    try {
      await client.start();
    } catch (error) {
      // The next start makes a client of its own.
      if (this.client === client) this.client = undefined;
      void client.dispose().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** Whether this warning is new to the window (noted as seen): a warning is shown or logged once. */
  private firstWarning(message: string): boolean {
    if (this.shownWarnings.has(message)) return false;
    this.shownWarnings.add(message);
    return true;
  }

  private configurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) return;
    if (event.affectsConfiguration(`${SECTION}.inlineSuggestions`) || this.config.needsRestart(event)) this.updateInlineProvider();
    if (this.config.needsRestart(event)) this.updatePromptEditor();
    if (this.config.needsRestart(event) && this.starting) {
      this.log.info('The files the features apply to changed: restarting the language client.');
      void this.restart().catch(() => undefined);
    } else if (!this.starting) {
      for (const document of vscode.workspace.textDocuments) this.startIfPrompt(document);
    }
  }

  private updateInlineProvider(): void {
    this.inlineRegistration?.dispose();
    this.inlineRegistration = undefined;
    if (!this.config.inlineSuggestions) return;
    this.inlineRegistration = vscode.languages.registerInlineCompletionItemProvider(this.config.documentSelector as vscode.DocumentSelector, new InlineTagProvider(this));
  }

  private setStatus(status: ServerStatusParams, log = true): void {
    const previous = this.serverStatus;
    this.serverStatus = status;
    if (log && previous?.message !== status.message) {
      if (status.health === 'error') this.log.error(status.message);
      else if (status.health === 'warning' && !status.loading) this.log.warn(status.message);
      else this.log.info(status.message);
    }
    const item = this.statusItem;
    // `Danbooru GPT: default` (the model folder's name), `…: loading`, `…: error`.
    if (status.loading) {
      item.text = '$(sync~spin) Danbooru GPT: loading';
      item.backgroundColor = undefined;
    } else if (status.health === 'error') {
      item.text = '$(error) Danbooru GPT: error';
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (status.health === 'warning') {
      item.text = `$(warning) Danbooru GPT${status.model ? `: ${status.model}` : ''}`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else {
      item.text = `$(tag) Danbooru GPT${status.model ? `: ${status.model}` : ''}`;
      item.backgroundColor = undefined;
    }
    const tooltip = new vscode.MarkdownString(`**Danbooru GPT** — ${status.loading ? 'loading' : status.health === 'ok' ? 'ready' : status.health}\n\n${status.message}\n\nClick for actions.`);
    item.tooltip = tooltip;
    item.show();
    this.statusListeners.fire(status);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
