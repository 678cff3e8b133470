// LoRA, hypernetwork and embedding names: `<lora:|` completes the LoRA files of danbooruGpt.loraFolders,
// inserted as `name:1>` with the weight selected, as a1111 names them (the file's name without folder
// or extension); a1111's `<hypernet:|` the files of danbooruGpt.hypernetworkFolders, the same way;
// ComfyUI's `embedding:|` the files of danbooruGpt.embeddingFolders. Hover on a LoRA shows its file
// and the trigger words a1111 (`NAME.json`) or Civitai Helper (`NAME.civitai.info`) keep beside it.
// A LoRA is named by its file or by the alias in its header (`ss_output_name`), as a1111 finds it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Position } from 'vscode-languageserver/node';
import { isIncomplete, markIncomplete, type FolderFile, type FolderFiles, type ListingOptions } from './folderFiles';
import { escapeMarkdown } from './serverContext';
import type { ServerSettings } from './settings';
import { readTextFile } from '../util/text';
import type { NetworkKind, NetworkNameAt } from '../prompt/networks';

/** a1111 reads embeddings stored in images too (`load_from_file`, old trainings' output); ComfyUI does not. */
const IMAGE_EMBEDDING_EXTENSIONS = ['.png', '.webp', '.jxl', '.avif'];
const EXTENSIONS: Record<NetworkKind, readonly string[]> = {
  lora: ['.safetensors', '.pt', '.ckpt'],
  embedding: ['.safetensors', '.pt', '.bin', ...IMAGE_EMBEDDING_EXTENSIONS],
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

/** A name a prompt may give a network, and the file it loads. */
export interface NetworkFile extends FolderFile {
  /** The name is the alias in the LoRA's header (`ss_output_name`); this is the file's own name. */
  aliasOf?: string;
}

/** Each listing's names, kept by the listing (FolderFiles gives the same array until it lists again). */
const namedFiles = new WeakMap<FolderFile[], Promise<NetworkFile[]>>();
/**
 * The last names made for each kind and folders, with the listing they were made from: a listing
 * again with the same files (every 5 s while a prompt naming LoRAs is open) takes them as they are,
 * without sorting 20,000 paths and stat-ing every header again (~0.5 s a listing); a file's header
 * replaced in place is read again after REREAD_HEADERS_MS.
 */
const lastNamed = new Map<string, { files: FolderFile[]; at: number; named: Promise<NetworkFile[]> }>();
const REREAD_HEADERS_MS = 60_000;

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

/**
 * The LoRA, hypernetwork or embedding files of the settings' folders, one per name (a1111 names a file
 * by its name alone), and the LoRAs' aliases a1111 accepts as well.
 */
export async function networkFiles(folders: FolderFiles, settings: ServerSettings, kind: NetworkKind): Promise<NetworkFile[]> {
  const files = await folders.files(settings[FOLDER_SETTING[kind]], EXTENSIONS[kind], KIND_NAMES[kind], settings.workspaceFolder, LISTING[kind]);
  let named = namedFiles.get(files);
  if (!named) {
    const key = `${kind}\u0000${settings.workspaceFolder ?? ''}\u0000${settings[FOLDER_SETTING[kind]].join('\u0000')}`;
    const last = lastNamed.get(key);
    const now = performance.now();
    if (last && now - last.at < REREAD_HEADERS_MS && isIncomplete(last.files) === isIncomplete(files) && samePaths(last.files, files)) {
      named = last.named;
    } else {
      named = (kind === 'lora' ? loraNames(a1111Order(files, kind)) : Promise.resolve(onePerName(files, kind)))
        .then((list) => (isIncomplete(files) ? markIncomplete(list) : list));
      lastNamed.set(key, { files, at: now, named });
    }
    namedFiles.set(files, named);
  }
  return named;
}

function samePaths(a: readonly FolderFile[], b: readonly FolderFile[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.path !== b[i]!.path || a[i]!.name !== b[i]!.name) return false;
  return true;
}

/**
 * The names a1111 finds a LoRA by (`process_network_files`, `load_networks`), the files in its order:
 * each file's name and the alias in its header (`ss_output_name`, which kohya's trainer writes and
 * a1111's cards insert by default), a later file's taking a name over. An alias that a name or alias
 * read before it had already ("forbidden", and `none`) is looked up among the files' names only.
 */
async function loraNames(files: FolderFile[]): Promise<NetworkFile[]> {
  const aliases = await headerAliases(files);
  const byName = new Map<string, FolderFile>();
  const byAlias = new Map<string, FolderFile>();
  // (a1111 forbids `Addams` too, but compares a name in lower case with it: it never matches.)
  const forbidden = new Set(['none']);
  for (const file of files) {
    const name = path.basename(file.name);
    const alias = aliases.get(file.path) ?? name;
    byName.set(name, file);
    if (byAlias.has(alias)) forbidden.add(alias.toLowerCase());
    byAlias.set(name, file);
    byAlias.set(alias, file);
  }
  const named = new Map<string, NetworkFile>();
  const add = (name: string, file: FolderFile): void => {
    const own = path.basename(file.name);
    named.set(name, own === name ? { name, path: file.path } : { name, path: file.path, aliasOf: own });
  };
  for (const [name, file] of byAlias) if (!forbidden.has(name.toLowerCase())) add(name, file);
  for (const [name, file] of byName) if (forbidden.has(name.toLowerCase())) add(name, file);
  return [...named.values()];
}

/** A header longer than this is not read for its alias (a LoRA's, its training tags included, is some KB to a few hundred). */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** Past this many files remembered, the cache starts again (files removed or renamed stay in it until then). */
const MAX_CACHED_HEADERS = 100_000;
/** Headers at most read at once: a folder of thousands of LoRAs is read once, without running out of file handles. */
const HEADER_READS_AT_ONCE = 16;

/** Each `.safetensors` file's alias by its path, size and time: folders are listed again every few seconds, a file is read once. */
const aliasCache = new Map<string, { size: number; mtimeMs: number; alias: string | undefined }>();

/** The aliases (`ss_output_name`) in the headers of the `.safetensors` files, by path. */
export async function headerAliases(files: FolderFile[]): Promise<Map<string, string>> {
  const aliases = new Map<string, string>();
  // a1111 reads the metadata of `.safetensors` files alone (`NetworkOnDisk.is_safetensors`).
  const safetensors = files.filter((file) => path.extname(file.path).toLowerCase() === '.safetensors');
  let next = 0;
  const readNext = async (): Promise<void> => {
    while (next < safetensors.length) {
      const file = safetensors[next++]!;
      const stat = await fs.stat(file.path).catch(() => undefined);
      if (!stat) continue;
      let known = aliasCache.get(file.path);
      if (!known || known.size !== stat.size || known.mtimeMs !== stat.mtimeMs) {
        if (aliasCache.size >= MAX_CACHED_HEADERS) aliasCache.clear();
        known = { size: stat.size, mtimeMs: stat.mtimeMs, alias: await headerAlias(file.path, stat.size) };
        aliasCache.set(file.path, known);
      }
      if (known.alias !== undefined) aliases.set(file.path, known.alias);
    }
  };
  await Promise.all(Array.from({ length: HEADER_READS_AT_ONCE }, readNext));
  return aliases;
}

/**
 * The alias in a safetensors header (8 bytes of little-endian length, then that much JSON whose
 * `__metadata__` holds strings), as a1111 reads it (`read_metadata_from_safetensors`): none for a
 * header that is not JSON starting `{"`, too long for the file (or MAX_HEADER_BYTES), not UTF-8, or an
 * alias that is no string or a JSON object (a1111 reads a value starting `{` as one).
 */
export async function headerAlias(file: string, size: number): Promise<string | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const prefix = Buffer.alloc(8);
    if ((await handle.read(prefix, 0, 8, 0)).bytesRead < 8) return undefined;
    const length = prefix.readBigUInt64LE(0);
    if (length < 2n || length > BigInt(MAX_HEADER_BYTES) || 8n + length > BigInt(size)) return undefined;
    const header = Buffer.alloc(Number(length));
    if ((await handle.read(header, 0, header.length, 8)).bytesRead < header.length || header[0] !== 0x7b || header[1] !== 0x22) return undefined;
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
    const metadata = typeof parsed === 'object' && parsed !== null ? (parsed as { __metadata__?: unknown }).__metadata__ : undefined;
    const alias = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).ss_output_name : undefined;
    if (typeof alias !== 'string' || alias === '') return undefined;
    if (alias.startsWith('{')) {
      try {
        JSON.parse(alias);
        return undefined;
      } catch {
        // not JSON: a1111 keeps the text
      }
    }
    return alias;
  } catch {
    // unreadable or not JSON: a1111 logs it and names the file by its name alone
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * One file per name, by the name as it is (a1111 lists `Foo` and `foo` as two networks): a LoRA's or a
 * hypernetwork's the one a1111 loads, the last in the order it lists them; an embedding's the first
 * (ComfyUI looks in its folders in order; a1111's order is the file system's), an image only where no
 * other file has its name (`x.png` beside `x.pt` is its card's preview, which a1111 finds no embedding
 * in), and never `x.preview.png` (a1111 skips those).
 */
function onePerName(files: FolderFile[], kind: NetworkKind): FolderFile[] {
  const ordered = kind !== 'embedding'
    ? a1111Order(files, kind)
    : [...files.filter((file) => !isImageEmbedding(file)), ...files.filter((file) => isImageEmbedding(file) && path.extname(file.name).toLowerCase() !== '.preview')];
  const named = new Map<string, FolderFile>();
  for (const file of ordered) {
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

/** An embedding stored in an image, which a1111 reads and ComfyUI's `embedding:` does not. */
export function isImageEmbedding(file: FolderFile): boolean {
  return IMAGE_EMBEDDING_EXTENSIONS.includes(path.extname(file.path).toLowerCase());
}

/** Runs of digits without their leading zeros: the longer is larger. */
function compareDigits(a: string, b: string): number {
  return a.length - b.length || compareText(a, b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Names starting with what was typed first, then names holding it; shorter first, then by name. */
function matchNames(files: NetworkFile[], typed: string, limit: number): NetworkFile[] {
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

/** The files a list offers for the name at `at`, best first. */
export function networkMatches(files: NetworkFile[], at: NetworkNameAt, limit: number): NetworkFile[] {
  // ComfyUI's `embedding:` loads no image.
  const offered = at.kind === 'embedding' ? files.filter((file) => !isImageEmbedding(file)) : files;
  return matchNames(offered, at.typed, limit);
}

/**
 * The completion items for the files at `at` (networkMatches). A new LoRA gets its weight and `>`
 * (`name:1>`, the weight selected to type over), and after it its trigger words selected to keep or
 * delete, as a1111's own LoRA cards insert them (the card's preferred weight, else 1, and its activation
 * text: `cards`); one whose weight is written keeps it.
 */
export function networkItems(matches: NetworkFile[], at: NetworkNameAt, line: string, position: Position, trailing: string, cards: ReadonlyMap<string, LoraCard> = new Map()): CompletionItem[] {
  const range = { start: { line: position.line, character: at.start }, end: { line: position.line, character: at.end } };
  // A weight written keeps it (the name only is replaced); a `>` alone gets the weight before it (`<lora:ad|>`).
  const weighted = line[at.end] === ':';
  const closed = line[at.end] === '>';
  // Trigger words go where a tag may follow (at the end, before a comma): `<lora:|> smile` would make `detailed smile`.
  const wordsFit = /^\s*(?:,|$)/.test(line.slice(at.end));
  return matches.map((file, rank): CompletionItem => {
    // A LoRA and a hypernetwork take a weight; an embedding does not.
    const snippet = at.kind !== 'embedding' && !weighted;
    const card = cards.get(file.path);
    const words = card?.words && wordsFit && !closed ? `\${2:, ${snippetText(card.words)}}` : '';
    const weight = `${snippetText(file.name)}:\${1:${card?.weight ?? 1}}`;
    const newText = snippet ? (closed ? `${weight}$0` : `${weight}>${words}$0`) : at.kind === 'embedding' ? file.name + trailing : file.name;
    return {
      label: file.name,
      kind: CompletionItemKind.File,
      detail: file.aliasOf === undefined ? KIND_NAMES[at.kind] : `${KIND_NAMES[at.kind]} alias (ss_output_name) of ${file.aliasOf}`,
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
  network: NetworkFile;
  kind: NetworkKind;
}

/** What a LoRA's card says beside it: its trigger words and the weight a1111 inserts it with. */
export interface LoraCard {
  words?: string;
  weight?: number;
}

/** Cards read lately, by path: a list asks again on each keystroke for the same few files. */
const cardCache = new Map<string, { at: number; card: LoraCard }>();
const CARD_FRESH_MS = 5_000;
/** A card is a few hundred bytes (Civitai Helper's, with its model's description, some KB). */
const MAX_CARD_BYTES = 1 << 20;
const MAX_CACHED_CARDS = 1_000;

/** The cards of the files a list shows (a1111's `NAME.json`, Civitai Helper's `NAME.civitai.info`), by path. */
export async function loraCards(files: readonly FolderFile[]): Promise<Map<string, LoraCard>> {
  const cards = new Map<string, LoraCard>();
  const now = Date.now();
  await Promise.all(files.map(async (file) => {
    let cached = cardCache.get(file.path);
    if (!cached || now - cached.at > CARD_FRESH_MS) {
      if (cardCache.size >= MAX_CACHED_CARDS) cardCache.clear();
      cached = { at: now, card: await loraCard(file) };
      cardCache.set(file.path, cached);
    }
    cards.set(file.path, cached.card);
  }));
  return cards;
}

/**
 * A LoRA's card: a1111's `NAME.json` ("activation text", "preferred weight": what its card inserts),
 * else the trigger words of Civitai Helper's `NAME.civitai.info` ("trainedWords").
 */
async function loraCard(file: FolderFile): Promise<LoraCard> {
  const base = file.path.slice(0, file.path.length - path.extname(file.path).length);
  const read = async (suffix: string): Promise<Record<string, unknown> | undefined> => {
    try {
      // A plain file of a card's size only: a FIFO beside a LoRA would hang every read of it, a huge one be read each list.
      const stat = await fs.stat(base + suffix);
      if (!stat.isFile() || stat.size > MAX_CARD_BYTES) return undefined;
      // (A byte order mark, which Windows tools write, would fail JSON.parse.)
      const value: unknown = JSON.parse(await readTextFile(base + suffix));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const a1111 = await read('.json');
  const preferred = a1111?.['preferred weight'];
  // a1111 writes 0 for "not set": its card then inserts the default multiplier, 1.
  const weight = typeof preferred === 'number' && Number.isFinite(preferred) && preferred !== 0 ? preferred : undefined;
  const activation = a1111?.['activation text'];
  const givenWords = typeof activation === 'string' && oneLine(activation) !== '' ? [activation] : (await read('.civitai.info'))?.trainedWords;
  const words = Array.isArray(givenWords) ? givenWords.filter((w): w is string => typeof w === 'string').map(oneLine).filter((w) => w !== '').join(', ') : '';
  return { ...(words ? { words } : {}), ...(weight !== undefined ? { weight } : {}) };
}

/** Trigger words as one line of a prompt: lines joined with commas, no comma at either end (`detailed,` gave `,,`). */
function oneLine(words: string): string {
  return words.split(/[\r\n]+/).map((part) => part.trim().replace(/^[,\s]+|[,\s]+$/g, '')).filter((part) => part !== '').join(', ');
}

/** Markdown for a LoRA or embedding file: its path (a link), size, and its card's trigger words and weight. */
export async function networkMarkdown(kind: NetworkKind, name: string, file: NetworkFile | undefined): Promise<string> {
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
  if (file.aliasOf !== undefined) sections.push(`The alias in its header (\`ss_output_name\`) of \`${file.aliasOf.replace(/`/g, "'")}\`: a1111 finds it by either name.`);
  // Through the cache completion reads: a hover after completing the LoRA reads no file again.
  const card = (await loraCards([file])).get(file.path);
  if (card?.words) sections.push(`Trigger words: \`${card.words.replace(/`/g, "'")}\``);
  if (card?.weight !== undefined && kind === 'lora') sections.push(`Preferred weight (its card): ${card.weight}`);
  return sections.join('\n\n');
}
