// Shared by the suite's files: the sample workspace, the project's own dictionary and model
// vocabulary (the expected values), and small waits. Runs inside the extension host.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { loadDictionary, normalizeTag, type TagDictionary } from '../../../src/model/index';

export const EXTENSION_ID = 'danbooru-gpt.danbooru-gpt';
export const SAMPLE_SEED = 20211;

export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the suite needs the sample workspace open (test/e2e/workspace)');
  return folder.uri.fsPath;
}

export function extensionDir(): string {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not loaded`);
  return extension.extensionPath;
}

let dictionary: TagDictionary | undefined;
export function tagDictionary(): TagDictionary {
  dictionary ??= loadDictionary(path.join(extensionDir(), 'models', 'dictionary', 'danbooru-tags.bin'));
  return dictionary;
}

/** Tags the model was trained on (its tokenizer's vocabulary), e.g. the 2020 name `bangs`. */
export function modelVocabulary(): Set<string> {
  const configured = vscode.workspace.getConfiguration('danbooruGpt').get<string>('modelFolder');
  const folder = configured ? path.resolve(workspaceDir(), configured) : path.join(extensionDir(), 'models', 'default');
  const file = path.join(folder, 'tokenizer.json');
  if (!existsSync(file)) return new Set();
  const tokenizer = JSON.parse(readFileSync(file, 'utf8')) as { model: { vocab: Record<string, number> } };
  return new Set(Object.keys(tokenizer.model.vocab));
}

export function isRealTag(tag: string): boolean {
  return tagDictionary().resolve(tag) !== undefined || modelVocabulary().has(tag);
}

/** Tags of a prompt line as written (`long hair` or `long_hair`, escaped parentheses), canonical. */
export function tagsOf(line: string): string[] {
  return line.split(',').map((t) => t.trim()).filter(Boolean).map((t) => normalizeTag(t.replace(/\\([()])/g, '$1')));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

export async function openPrompt(relativePath: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(path.join(workspaceDir(), relativePath));
  return vscode.window.showTextDocument(document);
}

/** Appends a line to the editor's document and puts the cursor at its end. */
export async function appendLine(editor: vscode.TextEditor, text: string): Promise<vscode.Position> {
  const document = editor.document;
  const last = document.lineAt(document.lineCount - 1);
  const prefix = last.text.trim() === '' ? '' : '\n';
  await editor.edit((builder) => builder.insert(last.range.end, prefix + text));
  const end = document.lineAt(document.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
  return end;
}

export async function completions(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[]> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, position);
  // VS Code's own order for items with sortText is the server's (engine) order
  return [...list.items].sort((a, b) => (a.sortText ?? '').localeCompare(b.sortText ?? ''));
}

export function itemLabel(item: vscode.CompletionItem): string {
  return typeof item.label === 'string' ? item.label : item.label.label;
}

/** Completion items from the language server (real tags), once it is up. */
export async function waitForTagCompletions(document: vscode.TextDocument, position: vscode.Position, prefix: string): Promise<vscode.CompletionItem[]> {
  return waitFor(`tag completions for "${prefix}"`, async () => {
    const items = await completions(document, position);
    const tags = items.filter((item) => tagDictionary().get(normalizeTag(itemLabel(item).split(' → ').pop()!)));
    return tags.length >= 3 && normalizeTag(itemLabel(tags[0]!)).startsWith(prefix) ? tags : undefined;
  }, 90_000);
}

/** What the runner (../run.ts) tells the suite: written beside the bundle as suite-config.json. */
export function suiteConfig(): { logsDir: string; resultsFile: string } {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'suite-config.json'), 'utf8')) as { logsDir: string; resultsFile: string };
}

/** The extension's log file (LogOutputChannel "Danbooru GPT") under VS Code's logs folder. */
export function extensionLogText(): string {
  const root = suiteConfig().logsDir;
  if (!root || !existsSync(root)) return '';
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'Danbooru GPT.log') found.push(full);
    }
  };
  walk(root);
  return found.map((file) => readFileSync(file, 'utf8')).join('\n');
}
