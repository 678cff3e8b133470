// Extension entry point, kept light so that activation stays within a few milliseconds: the log,
// the status item, the command registrations and the Related Tags view exist at once; the client
// runtime (dist/client.js: language client, commands, view provider) loads on the first prompt
// document or command, and the model loads in the server process.
import path from 'node:path';
import * as vscode from 'vscode';
import type { ClientRuntime } from './client';
import { Config, NO_PROMPT_MESSAGE } from './config';
import type { RelatedTag } from '../protocol';
// The converter's command lives in convert.ts (owned by the converter engineer).
import { registerConvertCommand, stopConversions } from './convert';

const COMMANDS = [
  'danbooruGpt.sampleTags',
  'danbooruGpt.tagCounts',
  'danbooruGpt.addTagToEveryPrompt',
  'danbooruGpt.removeTagFromEveryPrompt',
  'danbooruGpt.forgetPickedTags',
  'danbooruGpt.restartServer',
  'danbooruGpt.openLog',
  'danbooruGpt.openSettings',
  'danbooruGpt.showMenu',
  'danbooruGpt.insertTag',
  'danbooruGpt.refreshRelatedTags',
  'danbooruGpt.addKnownTag',
];

/** The Related Tags view's provider until the runtime is loaded; then it forwards to the real one. */
class RelatedTagsProxy implements vscode.TreeDataProvider<RelatedTag> {
  private target: vscode.TreeDataProvider<RelatedTag> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly load: () => ClientRuntime,
    private readonly isPrompt: (document: vscode.TextDocument) => boolean,
  ) {}

  attach(target: vscode.TreeDataProvider<RelatedTag>): void {
    this.target = target;
    target.onDidChangeTreeData?.(() => this.changed.fire());
    this.changed.fire();
  }

  getTreeItem(element: RelatedTag): vscode.TreeItem | Thenable<vscode.TreeItem> {
    return this.target!.getTreeItem(element);
  }

  getChildren(element?: RelatedTag): vscode.ProviderResult<RelatedTag[]> {
    if (this.target) return this.target.getChildren(element);
    // Shown in the Explorer of every window: the runtime (the language client's bundle) loads for a
    // prompt only, as everywhere else; a prompt opened later loads it and fills the view then.
    const document = vscode.window.activeTextEditor?.document;
    if (document && this.isPrompt(document)) setImmediate(() => this.load());
    return [];
  }
}

let runtime: ClientRuntime | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Danbooru GPT', { log: true });
  const statusItem = vscode.window.createStatusBarItem('danbooruGpt.status', vscode.StatusBarAlignment.Right, 100);
  statusItem.name = 'Danbooru GPT';
  statusItem.text = '$(tag) Danbooru GPT';
  statusItem.tooltip = 'Danbooru GPT: the language server starts when a prompt is opened. Click for actions.';
  statusItem.command = 'danbooruGpt.showMenu';
  // Shown once the runtime loads (a prompt opened, a command run), not in every window VS Code opens.
  const config = new Config();
  const isPrompt = (document: vscode.TextDocument): boolean => config.isPrompt(document);
  const proxy = new RelatedTagsProxy(() => load(), isPrompt);
  const relatedView = vscode.window.createTreeView('danbooruGpt.relatedTags', { treeDataProvider: proxy });
  relatedView.message = NO_PROMPT_MESSAGE;
  context.subscriptions.push(log, statusItem, relatedView);

  const load = (): ClientRuntime => {
    if (!runtime) {
      // A separate bundle: required at run time, not bundled into this file.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const module = require(path.join(__dirname, 'client.js')) as typeof import('./client');
      runtime = module.createRuntime(context, log, statusItem, relatedView);
      statusItem.show();
      proxy.attach(runtime.related);
    }
    return runtime;
  };
  for (const id of COMMANDS) context.subscriptions.push(vscode.commands.registerCommand(id, (...args: unknown[]) => load().commands[id]!(...args)));

  // The first prompt document loads the runtime (which starts the server), after activation returns.
  const loadIfPrompt = (document: vscode.TextDocument): void => {
    if (!runtime && isPrompt(document)) setImmediate(() => load());
  };
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(loadIfPrompt),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (config.needsRestart(event)) vscode.workspace.textDocuments.forEach(loadIfPrompt);
    }),
  );
  vscode.workspace.textDocuments.forEach(loadIfPrompt);

  // The converter (src/extension/convert.ts, owned by the converter engineer) registers its own command.
  registerConvertCommand(context, log);
}

export async function deactivate(): Promise<void> {
  await Promise.all([runtime?.dispose(), stopConversions()]);
  runtime = undefined;
}
