// LoRA, hypernetwork and embedding names: `<lora:|` completes the LoRA files of danbooruGpt.loraFolders,
// inserted as `name:1>` with the weight selected, as a1111 names them (the file's name without folder
// or extension); a1111's `<hypernet:|` the files of danbooruGpt.hypernetworkFolders, the same way;
// ComfyUI's `embedding:|` the files of danbooruGpt.embeddingFolders. Hover on a LoRA shows its file
// and the trigger words a1111 (`NAME.json`) or Civitai Helper (`NAME.civitai.info`) keep beside it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Position } from 'vscode-languageserver/node';
import { isIncomplete, markIncomplete, type FolderFile, type FolderFiles, type ListingOptions } from './folderFiles';
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

/**
 * How a1111 lists each kind: LoRAs (`walk_files`) and embeddings (`os.walk`) in hidden folders too;
 * hypernetworks are globbed (`**` + `/*.pt`), which skips them. LoRAs and hypernetworks: every folder's
 * file of a name, since a1111 loads the last one (`available_networks[name] = entry`).
 */
const LISTING: Record<NetworkKind, ListingOptions> = {
  lora: { hiddenFolders: true, keepRepeats: true },
  embedding: { hiddenFolders: true },
  hypernet: { keepRepeats: true },
};

/** The LoRA, hypernetwork or embedding files of the settings' folders, one per name (a1111 names a file by its name alone). */
export async function networkFiles(folders: FolderFiles, settings: ServerSettings, kind: NetworkKind): Promise<FolderFile[]> {
  const files = await folders.files(settings[FOLDER_SETTING[kind]], EXTENSIONS[kind], KIND_NAMES[kind], settings.workspaceFolder, LISTING[kind]);
  let named = namedFiles.get(files);
  if (!named) namedFiles.set(files, (named = isIncomplete(files) ? markIncomplete(onePerName(files, kind)) : onePerName(files, kind)));
  return named;
}

/**
 * One file per name, by the name as it is (a1111 lists `Foo` and `foo` as two networks): a LoRA's or a
 * hypernetwork's the one a1111 loads, the last in the order it lists them; an embedding's the first
 * (ComfyUI looks in its folders in order; a1111's order is the file system's).
 */
function onePerName(files: FolderFile[], kind: NetworkKind): FolderFile[] {
  const named = new Map<string, FolderFile>();
  for (const file of kind === 'embedding' ? files : a1111Order(files, kind)) {
    const name = path.basename(file.name);
    if (kind === 'embedding' && named.has(name)) continue;
    named.set(name, { name, path: file.path });
  }
  return [...named.values()];
}

/**
 * The files in the order a1111 reads them, folder by folder in the settings' order (a1111 reads
 * `models/Lora` before `models/LyCORIS`). LoRAs as `walk_files` walks them: folders by their path,
 * then each folder's files by name, both in natural order (`natural_sort_key`: runs of digits by their
 * value, the rest in lower case, so `v2` before `v10`); hypernetworks by their path in lower case
 * (`sorted(glob(…), key=str.lower)`).
 */
function a1111Order(files: FolderFile[], kind: 'lora' | 'hypernet'): FolderFile[] {
  const folderIndex = new Map<string, number>();
  const folderOf = (file: FolderFile): number => {
    const folder = file.path.slice(0, file.path.length - file.name.length - path.extname(file.path).length);
    let index = folderIndex.get(folder);
    if (index === undefined) folderIndex.set(folder, (index = folderIndex.size));
    return index;
  };
  // Keys made once: a folder of thousands of LoRAs is sorted each time it is listed again.
  const keyed = files.map((file) => ({
    file,
    folder: folderOf(file),
    keys: kind === 'lora' ? [naturalKey(path.dirname(file.path)), naturalKey(path.basename(file.path))] : [[file.path.toLowerCase()]],
  }));
  // (A stable sort: names a1111 ranks the same keep the listing's order.)
  keyed.sort((a, b) => a.folder - b.folder || compareKeys(a.keys[0]!, b.keys[0]!) || compareKeys(a.keys[1] ?? [], b.keys[1] ?? []));
  return keyed.map((k) => k.file);
}

/**
 * Python's `natural_sort_key`: the text split at runs of digits (odd parts), the rest in lower case.
 * Digits are compared by value (compareKeys), without the precision a number would lose.
 */
function naturalKey(text: string): string[] {
  return text.split(/(\d+)/).map((part, i) => (i % 2 === 1 ? part.replace(/^0+/, '') : part.toLowerCase()));
}

/** Two naturalKey lists compared as Python compares them: part by part, a list that is a prefix first. */
function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = i % 2 === 1 ? compareDigits(a[i]!, b[i]!) : compareText(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** Runs of digits without their leading zeros: the longer is larger. */
function compareDigits(a: string, b: string): number {
  return a.length - b.length || compareText(a, b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
