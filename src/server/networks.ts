// LoRA, hypernetwork and embedding names: `<lora:|` completes the LoRA files of danbooruGpt.loraFolders,
// inserted as `name:1>` with the weight selected, as a1111 names them (the file's name without folder
// or extension); a1111's `<hypernet:|` the files of danbooruGpt.hypernetworkFolders, the same way;
// ComfyUI's `embedding:|` the files of danbooruGpt.embeddingFolders. Hover on a LoRA shows its file
// and the trigger words a1111 (`NAME.json`) or Civitai Helper (`NAME.civitai.info`) keep beside it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Position } from 'vscode-languageserver/node';
import { isIncomplete, markIncomplete, type FolderFile, type FolderFiles } from './folderFiles';
import { escapeMarkdown } from './serverContext';
import type { ServerSettings } from './settings';
import { readTextFile } from '../util/text';
import type { NetworkKind, NetworkNameAt } from '../prompt/networks';

const EXTENSIONS: Record<NetworkKind, readonly string[]> = {
  lora: ['.safetensors', '.pt', '.ckpt'],
  embedding: ['.safetensors', '.pt', '.bin'],
  // a1111 lists `*.pt` under its hypernetworks folder.
  hypernet: ['.pt'],
};
const KIND_NAMES: Record<NetworkKind, string> = { lora: 'LoRA', embedding: 'Embedding', hypernet: 'Hypernetwork' };
/** The setting listing each kind's folders. */
export const FOLDER_SETTING: Record<NetworkKind, 'loraFolders' | 'embeddingFolders' | 'hypernetworkFolders'> = {
  lora: 'loraFolders',
  embedding: 'embeddingFolders',
  hypernet: 'hypernetworkFolders',
};

/** Each listing's files one per name, kept by the listing (FolderFiles gives the same array until it lists again). */
const namedFiles = new WeakMap<FolderFile[], FolderFile[]>();

/** The LoRA, hypernetwork or embedding files of the settings' folders, one per name (a1111 names a file by its name alone). */
export async function networkFiles(folders: FolderFiles, settings: ServerSettings, kind: NetworkKind): Promise<FolderFile[]> {
  const files = await folders.files(settings[FOLDER_SETTING[kind]], EXTENSIONS[kind], KIND_NAMES[kind], settings.workspaceFolder);
  let named = namedFiles.get(files);
  if (!named) namedFiles.set(files, (named = isIncomplete(files) ? markIncomplete(onePerName(files)) : onePerName(files)));
  return named;
}

function onePerName(files: FolderFile[]): FolderFile[] {
  const seen = new Set<string>();
  const named: FolderFile[] = [];
  for (const file of files) {
    const name = path.basename(file.name);
    // By the name as it is: a1111 lists `Foo` and `foo` as two networks.
    if (seen.has(name)) continue;
    seen.add(name);
    named.push({ name, path: file.path });
  }
  return named;
}


/** Names starting with what was typed first, then names holding it; shorter first, then by name. */
function matchNames(files: FolderFile[], typed: string, limit: number): FolderFile[] {
  const query = typed.trim().toLowerCase();
  return files
    .map((file) => ({ file, at: file.name.toLowerCase().indexOf(query) }))
    .filter((m) => m.at >= 0)
    .sort((a, b) => Number(a.at > 0) - Number(b.at > 0) || a.file.name.length - b.file.name.length || (a.file.name < b.file.name ? -1 : 1))
    .slice(0, limit)
    .map((m) => m.file);
}

/** A snippet's literal text: `$`, `}` and `\` escaped. */
function snippetText(text: string): string {
  return text.replace(/[$}\\]/g, '\\$&');
}

/**
 * The completion items for the name at `at`. A new LoRA gets its weight and `>` (`name:1>`, the `1`
 * selected to type over, as a1111's own LoRA cards insert it); one whose weight is written keeps it.
 */
export function networkItems(files: FolderFile[], at: NetworkNameAt, line: string, position: Position, limit: number, trailing: string): CompletionItem[] {
  const range = { start: { line: position.line, character: at.start }, end: { line: position.line, character: at.end } };
  const closed = line[at.end] === ':' || line[at.end] === '>';
  return matchNames(files, at.typed, limit).map((file, rank): CompletionItem => {
    // A LoRA and a hypernetwork take a weight; an embedding does not.
    const snippet = at.kind !== 'embedding' && !closed;
    const newText = snippet ? `${snippetText(file.name)}:\${1:1}>$0` : at.kind === 'embedding' ? file.name + trailing : file.name;
    return {
      label: file.name,
      kind: CompletionItemKind.File,
      detail: KIND_NAMES[at.kind],
      filterText: at.typed,
      sortText: String(rank).padStart(5, '0'),
      textEdit: { range, newText },
      ...(snippet ? { insertTextFormat: InsertTextFormat.Snippet } : {}),
      data: { network: file, kind: at.kind } satisfies NetworkData,
      ...(rank === 0 ? { preselect: true } : {}),
    };
  });
}

/** What a completion item carries for completionItem/resolve. */
export interface NetworkData {
  network: FolderFile;
  kind: NetworkKind;
}

/** Trigger words kept beside a LoRA: a1111's `NAME.json` ("activation text"), Civitai Helper's `NAME.civitai.info` ("trainedWords"). */
async function triggerWords(file: FolderFile): Promise<string | undefined> {
  const base = file.path.slice(0, file.path.length - path.extname(file.path).length);
  const read = async (suffix: string): Promise<Record<string, unknown> | undefined> => {
    try {
      // (A byte order mark, which Windows tools write, would fail JSON.parse.)
      const value: unknown = JSON.parse(await readTextFile(base + suffix));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const a1111 = await read('.json');
  const activation = a1111?.['activation text'];
  if (typeof activation === 'string' && activation.trim() !== '') return activation.trim();
  const words = (await read('.civitai.info'))?.trainedWords;
  if (Array.isArray(words)) {
    const joined = words.filter((w): w is string => typeof w === 'string' && w.trim() !== '').map((w) => w.trim()).join(', ');
    if (joined) return joined;
  }
  return undefined;
}

/** Markdown for a LoRA or embedding file: its path (a link), size and trigger words. */
export async function networkMarkdown(kind: NetworkKind, name: string, file: FolderFile | undefined): Promise<string> {
  const title = `**\`${name.replace(/`/g, "'")}\`** · ${KIND_NAMES[kind]}`;
  if (!file) return `${title}\n\nNo file of that name in the ${KIND_NAMES[kind]} folders (\`danbooruGpt.${FOLDER_SETTING[kind]}\`).`;
  const sections = [title];
  let size = '';
  try {
    size = ` · ${((await fs.stat(file.path)).size / 1024 / 1024).toFixed(1)} MB`;
  } catch {
    // removed since it was listed: the link says where it was
  }
  sections.push(`[${escapeMarkdown(file.path)}](${pathToFileURL(file.path).href})${size}`);
  const words = await triggerWords(file);
  if (words) sections.push(`Trigger words: \`${words.replace(/`/g, "'")}\``);
  return sections.join('\n\n');
}
