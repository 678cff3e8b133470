// The language server: declares its capabilities, keeps the open prompt documents, and routes each
// request to the file that implements it. Runs over IPC when the extension starts it, or standalone:
// `node dist/server.js --stdio`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  ErrorCodes,
  InlayHintRefreshRequest,
  ProposedFeatures,
  ResponseError,
  SemanticTokensRefreshRequest,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type InitializeParams,
  type InitializeResult,
  type WorkspaceFolder,
} from 'vscode-languageserver/node';
import {
  EditEveryPromptRequest,
  ForgetPickedTagsRequest,
  NextTagsRequest,
  PickedTagsRequest,
  RelatedTagsRequest,
  SampleTagsRequest,
  TAG_PICKED_COMMAND,
  TagCountsRequest,
  WorkspaceTrustedNotification,
  type InitializationOptions,
} from '../protocol';
import { cancelledError } from './cancellation';
import { provideCodeActions, resolveCodeAction } from './codeActions';
import { COMPLETION_TRIGGER_CHARACTERS, provideCompletion, resolveCompletion } from './completion';
import { provideDefinition } from './definition';
import { DiagnosticsScheduler } from './diagnostics';
import { provideDocumentHighlights } from './documentHighlight';
import { provideDocumentSymbols } from './documentSymbols';
import { EngineHost } from './engineHost';
import { editEveryPrompt } from './everyPrompt';
import { FolderFiles } from './folderFiles';
import { provideFormatting } from './formatting';
import { provideHover } from './hover';
import { provideInlayHints } from './inlayHints';
import { nextTagSuggestions } from './inline';
import { LineDocument } from './lineDocument';
import { PickedTags } from './pickedTags';
import { TranslationHost } from './translations';
import { provideReferences } from './references';
import { relatedTags } from './related';
import { prepareRename, provideRename } from './rename';
import { sampleTags } from './sample';
import { SEMANTIC_TOKENS_LEGEND, provideSemanticTokensRange } from './semanticTokens';
import type { ServerContext } from './serverContext';
import { SettingsStore } from './settings';
import { tagCounts } from './tagCounts';

const connection = createConnection(ProposedFeatures.all);
// Open documents as arrays of lines (a keystroke in a 76 MB dataset copies no text), each change noted
// before it is applied (its offsets are in the text it applies to), so that a check after a keystroke
// runs only the lines it changed.
const documents = new TextDocuments<LineDocument>({
  create: LineDocument.create,
  update: (document, changes, version) => {
    for (const change of changes) {
      diagnostics.noteChange(document, change);
      LineDocument.update(document, [change], version);
    }
    return document;
  },
});
const settings = new SettingsStore(connection);
let workspaceRoot: string | undefined;
let canRefreshSemanticTokens = false;
let canRefreshInlayHints = false;
let canWatchWorkspaceFolders = false;
let workspaceFolders: WorkspaceFolder[] = [];

/** The workspace's folders now: kept (for the changes to come), their local paths given to the settings. */
function setWorkspaceFolders(folders: readonly WorkspaceFolder[]): void {
  workspaceFolders = [...folders];
  settings.setWorkspaceFolders(folders.filter((each) => each.uri.startsWith('file:')).map((each) => fileURLToPath(each.uri)));
}
const engines = new EngineHost(connection, () => settings.forServer(), () => workspaceRoot);
const folders = new FolderFiles(() => workspaceRoot, (message) => warn(message));
const warn = (message: string): void => connection.console.warn(message);
// Replaced on initialize by one kept in the file the client names.
const translations = new TranslationHost(() => workspaceRoot, (problem) => settings.warnOnce(problem), (message) => connection.console.info(message), () => {
  // Edited on disk: the open documents' hints and checks are asked for again, and read the new file.
  diagnostics.scheduleAll();
  refreshInlayHints();
});
const ctx: ServerContext = { connection, documents, settings, engines, folders, picks: new PickedTags(undefined, warn), translations };
const diagnostics = new DiagnosticsScheduler(ctx);
ctx.checkedLines = (uri, version, check) => diagnostics.checkedLines(uri, version, check);

connection.onInitialize((params: InitializeParams): InitializeResult => {
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
  if (folder?.startsWith('file:')) workspaceRoot = fileURLToPath(folder);
  else if (params.rootPath) workspaceRoot = path.resolve(params.rootPath);
  canWatchWorkspaceFolders = params.capabilities.workspace?.workspaceFolders === true;
  setWorkspaceFolders(params.workspaceFolders ?? []);
  settings.configure(params.capabilities.workspace?.configuration === true, params.initializationOptions);
  canRefreshSemanticTokens = params.capabilities.workspace?.semanticTokens?.refreshSupport === true;
  canRefreshInlayHints = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
  const picksFile = (params.initializationOptions as InitializationOptions | undefined)?.pickedTagsFile;
  if (typeof picksFile === 'string' && picksFile) ctx.picks = new PickedTags(picksFile, warn);
  folders.confined = (params.initializationOptions as InitializationOptions | undefined)?.workspaceTrusted === false;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: COMPLETION_TRIGGER_CHARACTERS, resolveProvider: true },
      hoverProvider: true,
      definitionProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.SourceFixAll], resolveProvider: true },
      semanticTokensProvider: { legend: SEMANTIC_TOKENS_LEGEND, range: true, full: false },
      documentFormattingProvider: true,
      documentRangeFormattingProvider: true,
      documentHighlightProvider: true,
      referencesProvider: true,
      documentSymbolProvider: { label: 'Prompts' },
      renameProvider: { prepareProvider: true },
      executeCommandProvider: { commands: [TAG_PICKED_COMMAND] },
      inlayHintProvider: true,
      // A multi-root workspace's folders: each document's relative wildcard and LoRA folders are under its own.
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    serverInfo: { name: 'danbooru-gpt-language-server', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  if (!canWatchWorkspaceFolders) return;
  // Folders added to or removed from the workspace: documents find their relative folders again.
  connection.workspace.onDidChangeWorkspaceFolders(({ added, removed }) => {
    const gone = new Set(removed.map((each) => each.uri));
    setWorkspaceFolders([...workspaceFolders.filter((each) => !gone.has(each.uri)), ...added]);
    diagnostics.scheduleAll();
  });
});

engines.onDidLoad(() => {
  diagnostics.scheduleAll();
  // Another dictionary (danbooruGpt.dictionaryFile) may give tags other categories.
  // (Sent here: the library's semanticTokens.refresh() drops the answer's promise, whose error then ended the server.)
  if (canRefreshSemanticTokens) connection.sendRequest(SemanticTokensRefreshRequest.type).catch((error: unknown) => refreshFailed('semantic tokens', error));
});

connection.onNotification(WorkspaceTrustedNotification, () => {
  folders.confined = false;
});

connection.onDidChangeConfiguration((change) => {
  if (shutDown) return;
  settings.changed(change.settings);
  void engines.settingsChanged().then(() => diagnostics.scheduleAll());
  // The translation file or its hints may have changed: the editor asks for the hints again.
  refreshInlayHints();
});

function refreshInlayHints(): void {
  if (canRefreshInlayHints) connection.sendRequest(InlayHintRefreshRequest.type).catch((error: unknown) => refreshFailed('inlay hints', error));
}

/** A client that said it refreshes and then answers with an error: logged, not an unhandled rejection that ended the server. */
function refreshFailed(what: string, error: unknown): void {
  connection.console.log(`The client did not refresh ${what}: ${error instanceof Error ? error.message : String(error)}`);
}

documents.onDidOpen(({ document }) => {
  if (shutDown) return;
  // The first prompt opened starts loading the engine (progress is reported to the client).
  void engines.engine().catch(() => undefined);
  diagnostics.schedule(document, true);
});
documents.onDidChangeContent(({ document }) => diagnostics.schedule(document));
documents.onDidClose(({ document }) => {
  diagnostics.clear(document.uri);
  settings.forget(document.uri);
});

let shutDown = false;

/**
 * A request handler that answers as the protocol asks once the server is shut down: InvalidRequest for
 * a request that comes after, RequestCancelled for one whose work the shutdown ended (it answered
 * "the model session was released", which the client shows as an error).
 */
function serving<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R | ResponseError<void> {
  return (...args: A) => {
    if (shutDown) return new ResponseError(ErrorCodes.InvalidRequest, 'The server is shut down.');
    const result = handler(...args);
    return result instanceof Promise ? (result.catch((error: unknown) => {
      throw shutDown ? cancelledError() : error;
    }) as R) : result;
  };
}

connection.onCompletion(serving((params, token) => provideCompletion(ctx, params, token)));
connection.onCompletionResolve(serving((item) => resolveCompletion(ctx, item)));
connection.onHover(serving((params, token) => provideHover(ctx, params, token)));
connection.onDefinition(serving((params) => provideDefinition(ctx, params)));
connection.onCodeAction(serving((params) => provideCodeActions(ctx, params)));
connection.onCodeActionResolve(serving((action, token) => resolveCodeAction(ctx, action, token)));
connection.onDocumentHighlight(serving((params, token) => provideDocumentHighlights(ctx, params, token)));
connection.onDocumentSymbol(serving((params) => provideDocumentSymbols(ctx, params)));
connection.onReferences(serving((params, token) => provideReferences(ctx, params, token)));
connection.onPrepareRename(serving((params) => prepareRename(ctx, params)));
connection.onRenameRequest(serving((params, token) => provideRename(ctx, params, token)));
connection.onDocumentFormatting(serving((params, token) => provideFormatting(ctx, params, token)));
connection.onDocumentRangeFormatting(serving((params, token) => provideFormatting(ctx, params, token)));
connection.languages.semanticTokens.onRange(serving((params, token) => provideSemanticTokensRange(ctx, params, token)));
connection.languages.inlayHint.on(serving((params, token) => provideInlayHints(ctx, params, token)));
connection.onRequest(SampleTagsRequest, serving((params, token) => sampleTags(ctx, params, token)));
connection.onRequest(RelatedTagsRequest, serving((params, token) => relatedTags(ctx, params, token)));
connection.onRequest(TagCountsRequest, serving((params, token) => tagCounts(ctx, params, token)));
connection.onRequest(EditEveryPromptRequest, serving((params, token) => editEveryPrompt(ctx, params, token)));
connection.onRequest(NextTagsRequest, serving((params, token) => nextTagSuggestions(ctx, params, token)));
connection.onExecuteCommand(serving(({ command, arguments: args }) => {
  if (command === TAG_PICKED_COMMAND && typeof args?.[0] === 'string') ctx.picks.record(args[0]);
}));
connection.onRequest(PickedTagsRequest, serving(() => ctx.picks.list()));
connection.onRequest(ForgetPickedTagsRequest, serving(async (params) => {
  const tags = params?.tags;
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string'))) {
    throw new ResponseError(ErrorCodes.InvalidParams, `tags must be a list of tag names (or left out: every picked tag), got ${JSON.stringify(tags)}.`);
  }
  return { forgotten: await ctx.picks.forget(tags) };
}));
connection.onShutdown(async () => {
  shutDown = true;
  diagnostics.dispose();
  await ctx.picks.flush();
  translations.dispose();
  await engines.dispose();
});

documents.listen(connection);
connection.listen();
