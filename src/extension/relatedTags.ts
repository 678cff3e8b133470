// The "Related Tags" view: the model's top next tags for the prompt under the cursor, with their
// probability; clicking one inserts it at the cursor. Refreshes (debounced) as the cursor moves.
import * as vscode from 'vscode';
import { categoryName } from '../model/describe';
import { RelatedTagsRequest, type RelatedTag } from '../protocol';
import type { Ctx } from './ctx';
import { NO_PROMPT_MESSAGE } from './config';
import { relatedTagsMessage } from './text';
import { counted } from '../util/words';

/** What the view says while the server is not running (a failed start, or stopped for good). */
const NOT_RUNNING_MESSAGE = 'The language server is not running: "Danbooru GPT: Restart Language Server" starts it again (the log says why it stopped).';

const REFRESH_DELAY_MS = 300;


export class RelatedTagsView implements vscode.TreeDataProvider<RelatedTag>, vscode.Disposable {
  private tags: RelatedTag[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<RelatedTag>;
  private timer: NodeJS.Timeout | undefined;
  private pending: vscode.CancellationTokenSource | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** `view` is created at activation (main.ts) and forwards to this provider once it is loaded. */
  constructor(private readonly ctx: Ctx, view: vscode.TreeView<RelatedTag>) {
    this.view = view;
    this.disposables.push(
      this.changed,
      this.view.onDidChangeVisibility(() => this.schedule()),
      vscode.window.onDidChangeTextEditorSelection(() => this.schedule()),
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule()),
      ctx.onDidChangeServerStatus(() => this.schedule()),
    );
    this.schedule();
  }

  getTreeItem(tag: RelatedTag): vscode.TreeItem {
    const item = new vscode.TreeItem(tag.tag);
    // The translation (danbooruGpt.translationFile) first: what a reader of that language looks for.
    item.description = `${tag.translation ? `${tag.translation} · ` : ''}${(tag.probability * 100).toFixed(1)}%`;
    item.tooltip = new vscode.MarkdownString(`**${tag.tag}** · ${categoryName(tag.category)} · ${counted(tag.count, 'post')}\n\nClick to insert at the cursor.`);
    item.command = { command: 'danbooruGpt.insertTag', title: 'Insert Tag', arguments: [tag.tag] };
    item.contextValue = 'relatedTag';
    return item;
  }

  getChildren(element?: RelatedTag): RelatedTag[] {
    return element ? [] : this.tags;
  }

  refresh(): void {
    this.schedule(0);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.pending?.cancel();
    for (const d of this.disposables) d.dispose();
  }

  private schedule(delay = REFRESH_DELAY_MS): void {
    clearTimeout(this.timer);
    if (!this.view.visible) return;
    this.timer = setTimeout(() => void this.update(), delay);
  }

  private async update(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.ctx.isPrompt(editor.document)) {
      // Another file (or none) in front: the last prompt's tags would insert nowhere.
      this.pending?.cancel();
      if (this.tags.length > 0 || this.view.message !== NO_PROMPT_MESSAGE) {
        this.tags = [];
        this.view.message = NO_PROMPT_MESSAGE;
        this.changed.fire();
      }
      return;
    }
    this.pending?.cancel();
    // A server that did not start or stopped for good is not started again by a cursor move.
    const starting = this.ctx.available();
    if (!starting) {
      this.tags = [];
      this.view.message = NOT_RUNNING_MESSAGE;
      this.changed.fire();
      return;
    }
    const source = new vscode.CancellationTokenSource();
    this.pending = source;
    try {
      const client = await starting;
      const position = editor.selection.active;
      const result = await client.sendRequest(RelatedTagsRequest, { textDocument: { uri: editor.document.uri.toString() }, position: { line: position.line, character: position.character }, k: 20 }, source.token);
      if (source.token.isCancellationRequested) return;
      this.tags = result.tags;
      this.view.message = relatedTagsMessage(result);
      this.changed.fire();
    } catch (error) {
      if (!source.token.isCancellationRequested) this.ctx.log.warn(`Related Tags: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
