// Each command is made from the context: plain functions that tests can call too.
import path from 'node:path';
import * as vscode from 'vscode';
import { EditEveryPromptRequest, ForgetPickedTagsRequest, PickedTagsRequest, SampleTagsRequest, TAG_PICKED_COMMAND, TagCountsRequest, type EditEveryPromptParams, type EditEveryPromptResult, type SampleTagsResult, type ServerStatusParams, type TagCount, type TagSample } from '../protocol';
import { continuationEdit, lineStyleOf } from '../prompt/insertStyle';
import { separatorStyleOf } from '../prompt/format';
import { isCommentLine, normalizeTag, parsePrompt } from '../prompt/parser';
import { PROMPT_LANGUAGE } from './config';
import { describe, type Ctx } from './ctx';
import { tagCountDescription, tagCountDetail, unseenNote } from './text';
import { counted } from '../util/words';
import { leftOutText } from '../util/leftOut';
import { times } from '../util/words';

export type Command = (...args: unknown[]) => unknown;

/** Sample Tags: continue the prompt at the cursor (QuickPick of samples), or a new document of samples. */
export function sampleTags(ctx: Ctx): Command {
  return async () => {
    const restarts = ctx.restarts;
    const editor = vscode.window.activeTextEditor;
    const inPrompt = editor !== undefined && ctx.isPrompt(editor.document);
    try {
      const client = await ctx.start();
      if (!inPrompt) {
        const result = await withRequestProgress('Sampling tags…', (token) => client.sendRequest(SampleTagsRequest, {}, token));
        if (!result) return undefined;
        const content = result.samples.map((s) => s.text).join('\n') + '\n';
        const document = await vscode.workspace.openTextDocument({ language: PROMPT_LANGUAGE, content });
        await vscode.window.showTextDocument(document);
        // The seed is what reproduces them: said where the user looks, not only in the log.
        const sampled = `Sampled ${counted(result.samples.length, 'prompt')} (seed ${result.seed}).`;
        ctx.log.info(sampled);
        vscode.window.setStatusBarMessage(`Danbooru GPT: ${sampled}`, 15_000);
        return result;
      }
      const position = editor.selection.active;
      if (!continuable(editor, position)) return undefined;
      const uri = editor.document.uri.toString();
      const version = editor.document.version;
      const params = { textDocument: { uri }, position: { line: position.line, character: position.character } };
      const first = await withRequestProgress('Sampling tags…', (token) => client.sendRequest(SampleTagsRequest, params, token));
      if (!first) return undefined;
      if (first.samples.length === 0) {
        void vscode.window.showInformationMessage('Danbooru GPT: the model sampled no new tags for this prompt.');
        return first;
      }
      const { result, picked } = await pickSample(ctx, first, (seed) => client.sendRequest(SampleTagsRequest, { ...params, seed }));
      if (!picked?.sample.edit) return result;
      if (editor.document.version !== version) {
        void vscode.window.showWarningMessage('Danbooru GPT: the prompt changed while sampling; sample again.');
        return result;
      }
      const range = client.protocol2CodeConverter.asRange(picked.sample.edit.range);
      if (!(await written(editor, (builder) => builder.replace(range, picked.sample.edit!.newText)))) {
        notEdited(ctx, editor, 'the sample');
        return result;
      }
      const end = editor.document.positionAt(editor.document.offsetAt(range.start) + picked.sample.edit.newText.length);
      editor.selection = new vscode.Selection(end, end);
      return result;
    } catch (error) {
      return failed(ctx, 'Sample Tags', error, restarts);
    }
  };
}

type SampleItem = vscode.QuickPickItem & { sample: TagSample };

/**
 * The picker of samples, with a button that samples again with a new seed (with `sample.seed` set,
 * running the command again gives the same list); resolves with the list shown last and the pick.
 */
async function pickSample(ctx: Ctx, first: SampleTagsResult, again: (seed: number) => Promise<SampleTagsResult>): Promise<{ result: SampleTagsResult; picked?: SampleItem }> {
  let result = first;
  const pick = vscode.window.createQuickPick<SampleItem>();
  const show = (shown: SampleTagsResult): void => {
    // The translations (danbooruGpt.translationFile) under each sample: what a reader of that language reads.
    pick.items = shown.samples.map((sample) => ({ label: sample.text, detail: `${counted(sample.tags.length, 'tag')}${sample.translated ? ` · ${sample.translated}` : ''}`, sample }));
    pick.title = `Sample Tags — continuing ${counted(shown.context.length, 'tag')}${unseenNote(shown.unseen)} (seed ${shown.seed})`;
  };
  show(first);
  pick.placeholder = 'Pick a continuation to insert at the cursor';
  pick.matchOnDetail = true;
  pick.buttons = [{ iconPath: new vscode.ThemeIcon('refresh'), tooltip: 'Sample Again (a new seed)' }];
  try {
    const picked = await new Promise<SampleItem | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0] ?? pick.activeItems[0]));
      pick.onDidHide(() => resolve(undefined));
      pick.onDidTriggerButton(async () => {
        pick.busy = true;
        try {
          const next = await again(Math.floor(Math.random() * 2 ** 32));
          if (next.samples.length > 0) show((result = next));
        } catch (error) {
          ctx.log.warn(`Sample Again failed: ${describe(error)}`);
        } finally {
          pick.busy = false;
        }
      });
      pick.show();
    });
    return { result, picked };
  } finally {
    pick.dispose();
  }
}

/**
 * Says a command failed, unless a restart asked for since it began (`restarts`: ctx.restarts then)
 * ended its request: "Pending response rejected since connection got disposed" was shown as an error.
 */
function failed(ctx: Ctx, what: string, error: unknown, restarts: number): undefined {
  if (ctx.restarts !== restarts) {
    ctx.log.info(`${what} stopped: the language server restarted.`);
    return undefined;
  }
  void vscode.window.showErrorMessage(`Danbooru GPT: ${what} failed: ${describe(error)}`);
  ctx.log.error(`${what} failed: ${describe(error)}`);
  return undefined;
}

/** Whether a prompt can be continued at this position (not on a comment line, where tags would go before the comment); says why not. */
function continuable(editor: vscode.TextEditor, position: vscode.Position): boolean {
  if (!isCommentLine(editor.document.lineAt(position.line).text)) return true;
  void vscode.window.showInformationMessage('Danbooru GPT: the cursor is on a comment line; put it in a prompt to continue it.');
  return false;
}

/**
 * Makes an edit that changes the text, and says whether the editor took it: in an editor made
 * read-only for the session `edit` resolves true and changes nothing, so the version tells.
 */
async function written(editor: vscode.TextEditor, edit: (builder: vscode.TextEditorEdit) => void): Promise<boolean> {
  const version = editor.document.version;
  return (await editor.edit(edit)) && editor.document.version !== version;
}

/** Says that the editor did not take an edit (a read-only editor or file system, say), naming what was to be written. */
function notEdited(ctx: Ctx, editor: vscode.TextEditor, what: string): void {
  const message = `Danbooru GPT: ${what} was not written: the editor did not take the edit (is ${editor.document.uri.scheme === 'file' ? 'the file' : 'the document'} read-only?).`;
  void vscode.window.showWarningMessage(message);
  ctx.log.warn(message);
}

/** The active editor when it shows a prompt file; otherwise says what the command needs, and undefined. */
function activePromptEditor(ctx: Ctx, needs = 'open a prompt file first.'): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor && ctx.isPrompt(editor.document)) return editor;
  ctx.log.info(`No prompt file in front: ${needs}`);
  void vscode.window.showInformationMessage(`Danbooru GPT: ${needs}`);
  return undefined;
}

/**
 * Tag Counts: the prompt file's tags (with danbooruGpt.tagScope `folder`, its folder's files' tags) by
 * how many prompts (lines) hold each; picking one shows its places (Peek References at the first).
 */
export function tagCounts(ctx: Ctx): Command {
  return async () => {
    const restarts = ctx.restarts;
    const editor = activePromptEditor(ctx, 'Tag Counts counts the tags of a prompt file; open one first.');
    if (!editor) return undefined;
    try {
      const client = await ctx.start();
      const document = editor.document;
      const result = await withRequestProgress('Counting tags…', (token) =>
        client.sendRequest(TagCountsRequest, { textDocument: { uri: document.uri.toString() } }, token));
      if (!result) return undefined;
      if (result.tags.length === 0) {
        void vscode.window.showInformationMessage(`Danbooru GPT: ${vscode.workspace.asRelativePath(document.uri)} holds no tags.`);
        return result;
      }
      type CountItem = vscode.QuickPickItem & { count: TagCount };
      const items: CountItem[] = result.tags.map((count) => ({ label: count.tag, description: tagCountDescription(count, result.prompts), detail: tagCountDetail(count), count }));
      const shown = result.tags.length < result.distinct ? ` (the ${result.tags.length.toLocaleString('en-US')} most frequent)` : '';
      const inFiles = result.files > 1 ? ` of ${counted(result.files, 'file')}` : '';
      const picked = await vscode.window.showQuickPick(items, {
        title: `Tag Counts — ${counted(result.distinct, 'tag')} in ${counted(result.prompts, 'prompt')}${inFiles}${shown}`,
        placeHolder: 'Pick a tag to see where it is written',
      });
      if (!picked) return result;
      const holder = picked.count.uri === document.uri.toString() ? document : await vscode.workspace.openTextDocument(vscode.Uri.parse(picked.count.uri));
      const shownEditor = await vscode.window.showTextDocument(holder, editor.viewColumn);
      const start = client.protocol2CodeConverter.asPosition(picked.count.first);
      shownEditor.selection = new vscode.Selection(start, start);
      shownEditor.revealRange(new vscode.Range(start, start), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      await vscode.commands.executeCommand('editor.action.referenceSearch.trigger');
      return result;
    } catch (error) {
      return failed(ctx, 'Tag Counts', error, restarts);
    }
  };
}

/**
 * A QuickPick that also takes what was typed: Enter picks the highlighted item, or, when no item
 * matches the text, the text itself (one tag; a comma is refused).
 */
function pickOrType(items: vscode.QuickPickItem[], options: { title: string; placeholder: string }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const quickPick = vscode.window.createQuickPick();
    quickPick.items = items;
    quickPick.title = options.title;
    quickPick.placeholder = options.placeholder;
    // What is typed is an item of its own (matching itself best, so first): Enter takes it, not the
    // listed tag that merely contains it (`bow` took `hair bow`); an arrow key picks that one.
    let typedItem: vscode.QuickPickItem | undefined;
    quickPick.onDidChangeValue((value) => {
      const typed = value.trim();
      const listed = typed !== '' && items.some((item) => normalizeTag(item.label) === normalizeTag(typed));
      typedItem = typed === '' || listed ? undefined : { label: typed, description: 'as typed (any spelling or alias)', alwaysShow: true };
      quickPick.items = typedItem ? [typedItem, ...items] : items;
    });
    let chosen: string | undefined;
    let ambiguous: { typed: string; listed: string } | undefined;
    quickPick.onDidAccept(() => {
      const typed = quickPick.value.trim();
      const active = quickPick.selectedItems[0] ?? quickPick.activeItems[0];
      const picked = active === undefined || active === typedItem ? undefined : active.label;
      const invalid = picked === undefined ? validateOneTag(typed) : undefined;
      if (invalid !== undefined) {
        quickPick.title = `${options.title}: ${invalid}`;
        return;
      }
      // Enter right after typing can reach us before the list shows the typed item (the highlighted
      // row is then the editor's first match, not a choice): which one is asked, never guessed.
      if (picked !== undefined && typedItem !== undefined && validateOneTag(typed) === undefined) ambiguous = { typed, listed: picked };
      else chosen = picked ?? typed;
      quickPick.hide();
    });
    quickPick.onDidHide(() => {
      quickPick.dispose();
      if (!ambiguous) return resolve(chosen);
      const { typed, listed } = ambiguous;
      void vscode.window
        .showQuickPick([{ label: typed, description: 'as typed', value: typed }, { label: listed, description: 'the highlighted row', value: listed }], { title: `${options.title}: which one?` })
        .then((answer) => resolve(answer?.value), () => resolve(undefined));
    });
    quickPick.show();
  });
}

/**
 * Runs a request with progress: the window's spinner at once and, when it runs past a second (a BPE
 * model sampling, Tag Counts over a folder of caption files), a notification with Cancel, which
 * cancels the request in the server. undefined when cancelled.
 */
async function withRequestProgress<R>(title: string, send: (token: vscode.CancellationToken) => Promise<R>): Promise<R | undefined> {
  const source = new vscode.CancellationTokenSource();
  const pending = send(source.token);
  let settled = false;
  const settledOrFailed = pending.then(() => void (settled = true), () => void (settled = true));
  const timer = setTimeout(() => {
    if (settled) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_progress, token) => {
      token.onCancellationRequested(() => source.cancel());
      return settledOrFailed;
    });
  }, LONG_REQUEST_MS);
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, () => pending);
  } catch (error) {
    if (source.token.isCancellationRequested) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    source.dispose();
  }
}

/** After this long a request's progress becomes a notification with Cancel. */
const LONG_REQUEST_MS = 1000;

/** A tag as typed into an input box: one tag, no comma. */
function validateOneTag(value: string): string | undefined {
  if (value.trim() === '') return 'Type a tag.';
  return /[,\n]/.test(value) ? 'One tag: no comma.' : undefined;
}

/**
 * Sends an editEveryPrompt request for the active prompt file and applies its edit, asking first when
 * it spans several files (tagScope `folder`: each becomes a file to save). `what` names it in messages.
 */
async function editEveryPromptIn(ctx: Ctx, edit: Omit<EditEveryPromptParams, 'textDocument'>, what: { done: (result: EditEveryPromptResult) => string; verb: string }, ask: boolean): Promise<EditEveryPromptResult | undefined> {
  const editor = activePromptEditor(ctx);
  if (!editor) return undefined;
  const restarts = ctx.restarts;
  try {
    const client = await ctx.start();
    const result = await withRequestProgress(`${what.verb}…`, (token) =>
      client.sendRequest(EditEveryPromptRequest, { textDocument: { uri: editor.document.uri.toString() }, ...edit }, token));
    if (!result) return undefined;
    // Files of the folder it could not read are left as they are: said each time (the log said why once).
    const folder = editor.document.uri.scheme === 'file' ? path.dirname(editor.document.uri.fsPath) : undefined;
    const leftOut = result.leftOut?.length ? ` It left out ${leftOutText(result.leftOut, folder)}.` : '';
    if (result.prompts === 0) {
      void (leftOut ? vscode.window.showWarningMessage : vscode.window.showInformationMessage)(`Danbooru GPT: no prompt to change.${leftOut}`);
      return result;
    }
    const inFiles = result.files > 1 ? ` in ${counted(result.files, 'file')}` : '';
    if (ask && result.files > 1) {
      const go = await vscode.window.showWarningMessage(`${what.verb} in ${counted(result.prompts, 'prompt')}${inFiles}?`, { modal: true, detail: `Each file changed is left open to save (File: Save All), or to undo.${leftOut}` }, what.verb);
      if (go !== what.verb) return undefined;
    }
    const applied = await vscode.workspace.applyEdit(await client.protocol2CodeConverter.asWorkspaceEdit(result.edit));
    if (!applied) throw new Error('the editor did not apply the edit (a file changed meanwhile?)');
    const done = `${what.done(result)} ${counted(result.prompts, 'prompt')}${inFiles}.${leftOut}`;
    ctx.log.info(done);
    void (leftOut ? vscode.window.showWarningMessage : vscode.window.showInformationMessage)(`Danbooru GPT: ${done}`);
    return result;
  } catch (error) {
    return failed(ctx, what.verb, error, restarts);
  }
}

/**
 * Add Tag to Every Prompt: a tag (a trigger word, say) put first or last in every prompt of the file,
 * or of its folder's files with tagScope `folder`, where it is not yet. Arguments (tag, 'start' |
 * 'end') skip the questions, for tests and keybindings.
 */
export function addTagToEveryPrompt(ctx: Ctx): Command {
  return async (tagArgument?: unknown, atArgument?: unknown) => {
    const ask = typeof tagArgument !== 'string';
    // Before the questions: with no prompt in front they would be asked for nothing.
    if (!activePromptEditor(ctx)) return undefined;
    const tag = ask ? await vscode.window.showInputBox({ title: 'Add Tag to Every Prompt', prompt: 'The tag to add where it is not yet (a LoRA\'s trigger word, say)', validateInput: validateOneTag }) : tagArgument;
    if (!tag) return undefined;
    let at: 'start' | 'end' = atArgument === 'end' ? 'end' : 'start';
    if (ask) {
      const picked = await vscode.window.showQuickPick([{ label: 'First', description: 'before the other tags (a trigger word)', at: 'start' as const }, { label: 'Last', description: 'after the other tags', at: 'end' as const }], { title: `Add "${tag.trim()}" to Every Prompt` });
      if (!picked) return undefined;
      at = picked.at;
    }
    return editEveryPromptIn(ctx, { add: { tag, at } }, { done: () => `Added "${tag.trim()}" to`, verb: 'Add the tag' }, ask);
  };
}

/**
 * Remove Tag from Every Prompt: the tag picked from the file's Tag Counts (or typed) taken out of every
 * prompt, in any spelling or as an alias. An argument (the tag) skips the question.
 */
export function removeTagFromEveryPrompt(ctx: Ctx): Command {
  return async (tagArgument?: unknown) => {
    const restarts = ctx.restarts;
    const ask = typeof tagArgument !== 'string';
    let tag = ask ? undefined : tagArgument;
    if (ask) {
      const editor = activePromptEditor(ctx);
      if (!editor) return undefined;
      try {
        const client = await ctx.start();
        const counts = await withRequestProgress('Counting tags…', (token) => client.sendRequest(TagCountsRequest, { textDocument: { uri: editor.document.uri.toString() } }, token));
        if (!counts) return undefined;
        // The list holds the most frequent tags (Tag Counts' limit): a rarer one, or any spelling, can be typed.
        tag = await pickOrType(counts.tags.map((count) => ({ label: count.tag, description: tagCountDescription(count, counts.prompts) })), {
          title: 'Remove Tag from Every Prompt',
          placeholder: 'The tag to take out of every prompt: pick it, or type it (any spelling or alias) and press Enter',
        });
      } catch (error) {
        return failed(ctx, 'Remove Tag from Every Prompt', error, restarts);
      }
    }
    if (!tag) return undefined;
    const typed = tag;
    // The tag it names, and what was typed when that was another spelling or an alias (`brunette`).
    const done = (result: EditEveryPromptResult): string => `Removed "${result.tag}"${normalizeTag(typed) === result.tag ? '' : ` (${typed.trim()})`} from`;
    return editEveryPromptIn(ctx, { remove: tag }, { done, verb: 'Remove the tag' }, ask);
  };
}

/**
 * Inserts a tag (from the Related Tags view) with the configured style and separators: after the tag,
 * weight, LoRA or keyword under the cursor, as Sample Tags does (continuationEdit decides where).
 */
export function insertTag(ctx: Ctx): Command {
  return async (tag: unknown) => {
    const editor = vscode.window.activeTextEditor;
    if (typeof tag !== 'string' || !editor || !ctx.isPrompt(editor.document)) return;
    const position = editor.selection.active;
    if (!continuable(editor, position)) return;
    const line = editor.document.lineAt(position.line).text;
    // Written as the line and the file write their tags, as Sample Tags writes its samples.
    const parsed = parsePrompt(line);
    const style = lineStyleOf(parsed, ctx.config.insertStyle(editor.document));
    const commaSpace = separatorStyleOf((index) => editor.document.lineAt(index).text, editor.document.lineCount) === 'commaSpace';
    const edit = continuationEdit(line, position.character, [tag], style, parsed, commaSpace);
    const range = new vscode.Range(position.line, edit.start, position.line, edit.end);
    // (Read-only: nothing written, the cursor left, the tag not counted as picked.)
    if (!(await written(editor, (builder) => builder.replace(range, edit.text)))) return notEdited(ctx, editor, `"${tag}"`);
    const end = new vscode.Position(position.line, edit.start + edit.text.length);
    editor.selection = new vscode.Selection(end, end);
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    // A tag taken from the view counts as picked (pickedTags.ts). The command exists once the server
    // runs, which it does: the view's tags came from it.
    await vscode.commands.executeCommand(TAG_PICKED_COMMAND, tag, false).then(undefined, (error: unknown) => ctx.log.warn(`Counting the pick of ${tag}: ${describe(error)}`));
  };
}

export function restartServer(ctx: Ctx): Command {
  return async () => {
    try {
      await ctx.restart();
    } catch (error) {
      void vscode.window.showErrorMessage(`Danbooru GPT: the language server did not restart: ${describe(error)}`);
    }
  };
}

export function openLog(ctx: Ctx): Command {
  return () => ctx.showLog();
}

export function openSettings(): Command {
  return () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:danbooru-gpt.danbooru-gpt');
}

/**
 * Forget Picked Tags…: completion ranks tags the user picked before higher (pickedTags.ts); this lists
 * them (the most picked first, all checked) and forgets the checked ones, in every window (the file they
 * share): Enter forgets them all, unchecking keeps some. `tags` (from tests, or a keybinding's args): those
 * tags, or `'all'`, without asking.
 */
export function forgetPickedTags(ctx: Ctx): Command {
  return async (tags?: unknown) => {
    const restarts = ctx.restarts;
    try {
      const client = await ctx.start();
      let chosen: string[] | undefined;
      if (Array.isArray(tags)) chosen = tags.filter((tag): tag is string => typeof tag === 'string');
      else if (tags !== 'all') {
        const picked = await client.sendRequest(PickedTagsRequest);
        if (picked.length === 0) {
          void vscode.window.showInformationMessage('Danbooru GPT: no picked tags are remembered; completion ranks by the model alone.');
          return 0;
        }
        type PickItem = vscode.QuickPickItem & { tag: string };
        const items: PickItem[] = picked.map((info) => ({ label: info.tag, description: `picked ${times(info.total)}`, detail: `last ${new Date(info.lastPicked).toLocaleDateString()}`, picked: true, tag: info.tag }));
        const checked = await vscode.window.showQuickPick(items, {
          title: `Forget Picked Tags (${counted(picked.length, 'tag')})`,
          placeHolder: 'The checked tags are forgotten: Enter forgets them all, uncheck those to keep',
          canPickMany: true,
        });
        if (!checked || checked.length === 0) return 0;
        // All of them: every pick, also those another window made since the list was read.
        chosen = checked.length === picked.length ? undefined : checked.map((item) => item.tag);
      }
      const { forgotten } = await client.sendRequest(ForgetPickedTagsRequest, chosen ? { tags: chosen } : {});
      const message = forgotten === 0 ? 'no picked tags were remembered.' : `forgot ${counted(forgotten, 'picked tag')}; completion ranks ${chosen ? 'them' : 'tags'} by the model alone until you pick again.`;
      ctx.log.info(`Forget Picked Tags: ${message}`);
      void vscode.window.showInformationMessage(`Danbooru GPT: ${message}`);
      return forgotten;
    } catch (error) {
      return failed(ctx, 'Forget Picked Tags', error, restarts);
    }
  };
}

/** The status bar item's menu: a short status as the placeholder, the full message as the first item's detail. */
export function showMenu(ctx: Ctx): Command {
  return async () => {
    const status = ctx.status;
    type MenuItem = vscode.QuickPickItem & { command: string };
    const summary = statusSummary(status);
    const actions: MenuItem[] = [
      // The whole message (a long model path) does not fit the placeholder; picking it opens the log.
      ...(status ? [{ label: summary.label, detail: status.message, command: 'danbooruGpt.openLog' }] : []),
      { label: '$(sparkle) Sample Tags', command: 'danbooruGpt.sampleTags' },
      { label: '$(list-ordered) Tag Counts', command: 'danbooruGpt.tagCounts' },
      { label: '$(add) Add Tag to Every Prompt…', command: 'danbooruGpt.addTagToEveryPrompt' },
      { label: '$(remove) Remove Tag from Every Prompt…', command: 'danbooruGpt.removeTagFromEveryPrompt' },
      { label: '$(history) Forget Picked Tags…', command: 'danbooruGpt.forgetPickedTags' },
      { label: '$(debug-restart) Restart Language Server', command: 'danbooruGpt.restartServer' },
      { label: '$(output) Open Log', command: 'danbooruGpt.openLog' },
      { label: '$(settings-gear) Settings', command: 'danbooruGpt.openSettings' },
    ];
    const picked = await vscode.window.showQuickPick(actions, { title: 'Danbooru GPT', placeHolder: summary.placeholder });
    if (picked) await vscode.commands.executeCommand(picked.command);
  };
}

/** Short texts for the status menu, from the server's status: nothing in them is cut off. */
export function statusSummary(status: ServerStatusParams | undefined): { placeholder: string; label: string } {
  const model = status?.model ? `model ${status.model}` : 'no model';
  if (!status) return { placeholder: 'Danbooru GPT: starts when a prompt is opened', label: '' };
  if (status.loading) return { placeholder: 'Danbooru GPT: loading…', label: '$(sync~spin) Loading' };
  if (status.stopped) return { placeholder: 'Danbooru GPT: the language server stopped · error (first item)', label: '$(error) Error: language server stopped' };
  // Running, no prompt seen yet: the model is not loaded, and not missing either.
  if (status.health === 'ok' && !status.model) return { placeholder: 'Danbooru GPT: running · the model loads with the first prompt', label: '$(check) Running' };
  if (status.health === 'ok') return { placeholder: `Danbooru GPT: ${model} · ready`, label: `$(check) Ready: ${model}` };
  if (status.health === 'warning') return { placeholder: `Danbooru GPT: ${model} · with a warning (first item)`, label: `$(warning) Warning: ${model}` };
  return { placeholder: `Danbooru GPT: ${model} · error (first item)`, label: `$(error) Error: ${model}` };
}

/**
 * The "add to known tags" quick fix: appends the tag to danbooruGpt.diagnostics.knownTags where the
 * list in effect comes from (the folder's or the workspace's settings when they set one, which would
 * hide a user setting; else the user settings, starting from the default quality tags), once. `uri`: the
 * document's (the server passes it), else the active editor's.
 */
export function addKnownTag(ctx: Ctx): Command {
  return async (name: unknown, uri?: unknown) => {
    if (typeof name !== 'string' || name.trim() === '') return;
    const documentUri = typeof uri === 'string' ? vscode.Uri.parse(uri) : vscode.window.activeTextEditor?.document.uri;
    // The document itself where it is open: its language's block of settings is read too.
    const scope = vscode.workspace.textDocuments.find((d) => d.uri.toString() === documentUri?.toString()) ?? documentUri;
    const settings = vscode.workspace.getConfiguration('danbooruGpt', scope);
    const inEffect = settings.get<unknown[]>('diagnostics.knownTags', []);
    if (Array.isArray(inEffect) && inEffect.some((tag) => typeof tag === 'string' && normalizeTag(tag) === normalizeTag(name))) return;
    const inspected = settings.inspect<unknown[]>('diagnostics.knownTags');
    // The innermost settings that set the list (a language's block first, then a folder's of a multi-root
    // workspace, the workspace's, the user's): a list written anywhere else would stay hidden by it.
    const places: [unknown, vscode.ConfigurationTarget, boolean, string][] = [
      [inspected?.workspaceFolderLanguageValue, vscode.ConfigurationTarget.WorkspaceFolder, true, 'folder settings, language block'],
      [inspected?.workspaceLanguageValue, vscode.ConfigurationTarget.Workspace, true, 'workspace settings, language block'],
      [inspected?.globalLanguageValue, vscode.ConfigurationTarget.Global, true, 'user settings, language block'],
      [inspected?.workspaceFolderValue, vscode.ConfigurationTarget.WorkspaceFolder, false, 'folder settings'],
      [inspected?.workspaceValue, vscode.ConfigurationTarget.Workspace, false, 'workspace settings'],
    ];
    const [list, target, inLanguage, where] = places.find(([value]) => value !== undefined)
      ?? [inspected?.globalValue ?? inspected?.defaultValue ?? [], vscode.ConfigurationTarget.Global, false, 'user settings'];
    const current = (Array.isArray(list) ? list : []).filter((tag): tag is string => typeof tag === 'string');
    try {
      await settings.update('diagnostics.knownTags', [...current, name], target, inLanguage);
      ctx.log.info(`Added "${name}" to danbooruGpt.diagnostics.knownTags (${where}).`);
    } catch (error) {
      // A settings file with unsaved changes or a syntax error: VS Code refuses to write it.
      void vscode.window.showErrorMessage(`Danbooru GPT: could not add "${name}" to danbooruGpt.diagnostics.knownTags in the ${where}: ${describe(error)}`);
      ctx.log.error(`Adding "${name}" to danbooruGpt.diagnostics.knownTags: ${describe(error)}`);
    }
  };
}
