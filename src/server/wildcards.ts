// Dynamic Prompts wildcards (`__hair_color__`) in the folders of danbooruGpt.wildcardFolders, named as
// Dynamic Prompts names them: a text file of options, one a line (`animals/cat.txt` is
// `__animals/cat__`), or each list in a YAML or JSON collection by its keys under the file's folder
// (`animals/pets.yaml` holding `cats: {black: [...]}` is `__animals/cats/black__`; a file that is one
// list, by its own name). In a ComfyUI Impact Pack folder (`custom_nodes/ComfyUI-Impact-Pack/…`),
// as the Impact Pack names them (read from ltdrdata/ComfyUI-Impact-Pack's `modules/impact/wildcards.py`):
// a YAML collection's lists by their keys alone, whatever folder the file is in, and no JSON.
// Completion offers the names after `__`, hover shows a wildcard's options, Go to Definition opens its
// file (at its key).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { YAMLMap, YAMLSeq } from 'yaml';
import { wildcardOf } from '../prompt/parser';
import { globMatcher } from '../util/glob';
import { withoutByteOrderMark } from '../util/text';
import { isIncomplete, markIncomplete, type FolderFile, type FolderFiles } from './folderFiles';
import { escapeMarkdown } from './serverContext';
import type { ServerSettings } from './settings';

export interface WildcardFile extends FolderFile {
  /** A list of a YAML or JSON collection: its options, and the line (0-based) of its key. */
  entries?: string[];
  line?: number;
}

/** What Dynamic Prompts reads as wildcards (not `.yml`). */
export const WILDCARD_EXTENSIONS = ['.txt', '.yaml', '.json'];
/** Options read from a file for a hover or a completion's details. */
const OPTIONS_READ_LIMIT = 1 << 20;

/**
 * Each listing's wildcards, kept by the listing (FolderFiles gives the same array until it lists again):
 * the collections are looked at (stat, parse when changed) once a listing, not on every keystroke.
 */
const wildcardsOfListing = new WeakMap<FolderFile[], Promise<WildcardFile[]>>();

/** The wildcards of danbooruGpt.wildcardFolders, the first of a name where two files give it. */
export async function wildcardFiles(folders: FolderFiles, settings: ServerSettings): Promise<WildcardFile[]> {
  const files = await folders.files(settings.wildcardFolders, WILDCARD_EXTENSIONS, 'Wildcard', settings.workspaceFolder);
  let wildcards = wildcardsOfListing.get(files);
  if (!wildcards) wildcardsOfListing.set(files, (wildcards = namedWildcards(files, folders.warn)));
  return wildcards;
}

/** Whether the file is in a ComfyUI Impact Pack install, which names collections its own way. */
function isImpactPackFile(file: string): boolean {
  return /[\\/]comfyui-impact-pack[\\/]/i.test(file);
}

async function namedWildcards(files: FolderFile[], warn: (message: string) => void): Promise<WildcardFile[]> {
  const named: WildcardFile[] = [];
  if (isIncomplete(files)) markIncomplete(named);
  const seen = new Set<string>();
  for (const file of files) {
    // Listed in any case, but Dynamic Prompts (and the Impact Pack) read `.txt`, not `.TXT`.
    const extension = path.extname(file.path);
    if (!WILDCARD_EXTENSIONS.includes(extension)) continue;
    // The Impact Pack reads `.txt` and `.yaml` files only.
    if (isImpactPackFile(file.path) && extension === '.json') continue;
    const ofFile = extension === '.txt' ? [file] : await collectionWildcards(file, warn);
    if (isIncomplete(ofFile)) markIncomplete(named);
    for (const wildcard of ofFile) {
      if (seen.has(wildcard.name)) continue;
      seen.add(wildcard.name);
      named.push(wildcard);
    }
  }
  return named;
}

/** The YAML parser, loaded with the first collection: most wildcard folders hold text files only. */
let yamlModule: Promise<typeof import('yaml')> | undefined;
function loadYaml(): Promise<typeof import('yaml')> {
  yamlModule ??= import('yaml');
  return yamlModule;
}

/** Collections parsed, by path, while their size and modification time stay the same. */
const parsedCollections = new Map<string, { stamp: string; wildcards: WildcardFile[] }>();
const PARSED_COLLECTIONS_KEPT = 2000;
/**
 * A collection larger than this is not read, with a warning naming it: the YAML parser keeps ~90
 * bytes a byte (a 10 MB file took 900 MB and 5 s; 38 MB ran the server out of memory), and the
 * collections of a wildcard folder, which a workspace chooses, are read for every prompt checked.
 */
const MAX_COLLECTION_BYTES = 4 << 20;

async function collectionWildcards(file: FolderFile, warn: (message: string) => void): Promise<WildcardFile[]> {
  let stamp: string;
  let text: string;
  try {
    const stat = await fs.stat(file.path);
    stamp = `${stat.size}:${stat.mtimeMs}`;
    if (stat.size > MAX_COLLECTION_BYTES) {
      warn(`Wildcard collection ${file.path} is left out: ${(stat.size / 1048576).toFixed(1)} MB, and collections of at most ${MAX_COLLECTION_BYTES >> 20} MB are read (split it, or use text files: those are read as needed).`);
      return markIncomplete([]);
    }
    const parsed = parsedCollections.get(file.path);
    if (parsed?.stamp === stamp) return parsed.wildcards;
    text = await fs.readFile(file.path, 'utf8');
  } catch (error) {
    warn(`Wildcard collection ${file.path}: ${(error as Error).message}`);
    return markIncomplete([]);
  }
  const wildcards = await parseCollection(file, text, warn);
  if (parsedCollections.size >= PARSED_COLLECTIONS_KEPT) parsedCollections.clear();
  parsedCollections.set(file.path, { stamp, wildcards });
  return wildcards;
}

/** A collection's wildcard with its options, from the collection as last parsed (a text file's are read when shown). */
export function withEntries(wildcard: WildcardFile): WildcardFile {
  if (wildcard.entries || wildcard.path.toLowerCase().endsWith('.txt')) return wildcard;
  const parsed = parsedCollections.get(wildcard.path)?.wildcards.find((w) => w.name === wildcard.name);
  return { ...wildcard, entries: parsed?.entries ?? [] };
}

/**
 * The wildcards of a YAML or JSON collection (JSON is YAML too): each list (or string, an option of
 * its own) by the keys leading to it, under the file's folder; a file that is a list, by the file's name. In an Impact Pack folder, by
 * the keys alone, and a file that is a list gives none (the Impact Pack reads a mapping only). A file
 * that does not parse gives none, with the problem logged naming its file and line.
 */
export async function parseCollection(file: FolderFile, text: string, warn: (message: string) => void = () => undefined): Promise<WildcardFile[]> {
  // Dynamic Prompts reads a JSON file with json.loads, which refuses a byte order mark (Windows
  // editors write one); PyYAML skips it.
  if (text.startsWith('\uFEFF') && file.path.endsWith('.json')) {
    warn(`Wildcard collection ${file.path} starts with a byte order mark, and Dynamic Prompts reads no wildcard of it ("Unexpected UTF-8 BOM"): save it as UTF-8 without one.`);
    return [];
  }
  const { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit: visitNodes } = await loadYaml();
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *base`) as PyYAML's safe_load reads them, which Dynamic Prompts uses.
  const document = parseDocument(withoutByteOrderMark(text), { lineCounter, uniqueKeys: false, merge: true });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    warn(`Wildcard collection ${file.path}:${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`);
    return markIncomplete([]);
  }
  const impactPack = isImpactPackFile(file.path);
  const slash = file.name.lastIndexOf('/');
  const folder = slash < 0 || impactPack ? '' : file.name.slice(0, slash + 1);
  // The anchors, found in one walk: yaml's own resolve() walks the whole document for each alias
  // (8,000 aliases in 159 KB took 53 s). An alias names the last anchor of its name before it.
  const anchors = new Map<string, { at: number; node: unknown }[]>();
  visitNodes(document, {
    Node(_key, node) {
      const anchor = (node as { anchor?: string }).anchor;
      if (anchor === undefined || !node.range) return;
      let list = anchors.get(anchor);
      if (!list) anchors.set(anchor, (list = []));
      list.push({ at: node.range[0], node });
    },
  });
  // Each alias once (an anchor name defined many times is looked through for each).
  const aliasTargets = new Map<unknown, unknown>();
  /** An alias (`more: *colors`) as the node it names; undefined for one naming no anchor. */
  const resolved = (node: unknown): unknown => {
    if (!isAlias(node)) return node;
    if (aliasTargets.has(node)) return aliasTargets.get(node);
    const at = node.range?.[0] ?? Infinity;
    let target: unknown;
    for (const anchor of anchors.get(node.source) ?? []) if (anchor.at < at) target = anchor.node;
    aliasTargets.set(node, target);
    return target;
  };
  /** Each list's options, read once however many keys alias it. */
  const optionsOfList = new Map<YAMLSeq, string[]>();
  /**
   * A list's options as Dynamic Prompts reads them (`_parse_structured_file_list`): its strings and
   * `{text|content, weight}` maps; a list in it (`[*colors, green]`) is no option ("Unsupported list item").
   */
  const optionsOf = (list: YAMLSeq): string[] => {
    let options = optionsOfList.get(list);
    if (!options) {
      const items = list.items.map((item) => {
        const value = resolved(item);
        if (isScalar(value)) return value.value;
        if (!isMap(value)) return undefined;
        const [text, content] = ['text', 'content'].map((key) => resolved(value.get(key, true)));
        return { text: isScalar(text) ? text.value : undefined, content: isScalar(content) ? content.value : undefined };
      });
      optionsOfList.set(list, (options = entriesOf(items)));
    }
    return options;
  };
  const contents = document.contents;
  if (isSeq(contents)) {
    // A file that is one list: its strings as they are (`parse_structured_file`); none, no wildcard.
    const strings = contents.items.map(resolved).flatMap((item) => (isScalar(item) && typeof item.value === 'string' ? [item.value] : []));
    return impactPack || strings.length === 0 ? [] : [{ name: file.name, path: file.path, entries: strings, line: 0 }];
  }
  const wildcards: WildcardFile[] = [];
  // Keys looked at in all: maps aliased twice at each of 30 levels would be 2^30 visits.
  let pairsLeft = MAX_PAIRS;
  // A plain `<<` only (yaml gives it as a symbol with `merge`): a quoted "<<" is a key like any, as PyYAML reads it.
  const isMergeKey = (key: unknown): boolean => typeof key === 'symbol' && key.description === '<<';
  /**
   * A map's keys as PyYAML's safe_load (Dynamic Prompts) reads them: the merged maps' pairs (`<<: *a`
   * in order, each later one winning; `<<: [*a, *b]`, the earlier winning), then its own, the last of
   * a key winning and replacing a merged value whole (a list, a map or null). By key, with its value
   * node and line. `within`: the maps being flattened (an anchor merging itself).
   */
  const flatten = (map: YAMLMap, within: Set<unknown>): Map<string, { value: unknown; line: number }> => {
    const merged: [string, { value: unknown; line: number }][] = [];
    const own: [string, { value: unknown; line: number }][] = [];
    if (within.has(map)) return new Map();
    within.add(map);
    for (const pair of map.items) {
      if (--pairsLeft < 0) {
        if (pairsLeft === -1) warn(`Wildcard collection ${file.path}: more than ${MAX_PAIRS.toLocaleString('en-US')} keys with its aliases expanded; the rest are left out.`);
        markIncomplete(wildcards);
        break;
      }
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const value = resolved(pair.value);
      if (isMergeKey(key)) {
        const bases = isSeq(value) ? value.items.map(resolved).reverse() : [value];
        for (const base of bases) if (isMap(base)) merged.push(...flatten(base, within));
        continue;
      }
      if (typeof key !== 'string') continue;
      const line = pair.key && isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line - 1 : 0;
      own.push([key, { value, line }]);
    }
    within.delete(map);
    return new Map([...merged, ...own]);
  };
  // Maps being visited: an anchor holding an alias of itself (`&m {y: *m}`) would be visited forever.
  const visiting = new Set<unknown>();
  const visit = (map: YAMLMap, keys: string[]): void => {
    if (visiting.has(map)) return;
    if (keys.length > MAX_KEY_DEPTH) {
      markIncomplete(wildcards);
      return;
    }
    visiting.add(map);
    for (const [key, { value, line }] of flatten(map, new Set())) {
      const name = folder + [...keys, key].join('/');
      // As Dynamic Prompts: an empty list is no wildcard, a string one of one option.
      if (isSeq(value) && value.items.length > 0) wildcards.push({ name, path: file.path, entries: optionsOf(value), line });
      else if (isScalar(value) && typeof value.value === 'string' && value.value !== '') wildcards.push({ name, path: file.path, entries: entriesOf([value.value]), line });
      else if (isMap(value)) visit(value, [...keys, key]);
    }
    visiting.delete(map);
  };
  if (isMap(contents)) visit(contents, []);
  return wildcards;
}

/** Keys deep a wildcard's name goes at most: a map aliased into itself nests without end. */
const MAX_KEY_DEPTH = 32;
/** Keys of a collection looked at, its aliases expanded (a 3.3 MB collection has a few thousand). */
const MAX_PAIRS = 50_000;

/** A collection list's options: strings (a `2::red` weight taken off), or `{text|content, weight}` objects. */
function entriesOf(list: unknown[]): string[] {
  const entries: string[] = [];
  for (const item of list) {
    if (typeof item === 'string' && item !== '') {
      const at = /^\d/.test(item) ? item.lastIndexOf('::') : -1;
      entries.push(at > 0 && !Number.isNaN(Number(item.slice(0, at))) ? item.slice(at + 2) : item);
    } else if (typeof item === 'object' && item !== null) {
      const content = (item as Record<string, unknown>).text || (item as Record<string, unknown>).content;
      if (typeof content === 'string' && content !== '') entries.push(content);
    }
  }
  return entries;
}

/** The wildcard a `wildcard` token's text names, its length as written, and the wildcards of the folders it chooses from. */
export async function wildcardOfToken(folders: FolderFiles, settings: ServerSettings, text: string): Promise<{ name: string; length: number; files: WildcardFile[] } | undefined> {
  const wildcard = wildcardOf(text);
  return wildcard && { name: wildcard.name, length: wildcard.end, files: filesOfWildcard(await wildcardFiles(folders, settings), wildcard.name) };
}

/** Dynamic Prompts' globs, as Python's fnmatch reads them: `*` any run of characters (`/` too), `?` one. */
function globPattern(name: string, caseSensitive = false): (text: string) => boolean {
  return globMatcher(name, { questionMark: true, caseSensitive });
}

/**
 * The wildcards a name chooses from: itself, or each a glob (`animals/*`) matches; when none does,
 * as Dynamic Prompts, each whose name ends with it (`cat` finds `animals/cat`).
 */
export function filesOfWildcard(files: WildcardFile[], name: string, caseSensitive = false): WildcardFile[] {
  const matches = globPattern(name, caseSensitive);
  const matched = files.filter((f) => matches(f.name));
  if (matched.length > 0 || name.startsWith('**')) return matched;
  const anywhere = globPattern(`**/${name}`, caseSensitive);
  return files.filter((f) => anywhere(f.name));
}

/**
 * For a plain name (no glob) that finds Dynamic Prompts files only when case is ignored: the name as
 * those files write it (`__Hair_Color__` → `hair_color`; found by its end, that end). Dynamic Prompts
 * matches names with Python's fnmatch, which compares case on Linux and macOS (not on Windows); the
 * Impact Pack lower-cases every name, so its files are left out. Empty when nothing is wrong.
 */
export function namesInAnotherCase(files: WildcardFile[], name: string): string[] {
  if (/[*?]/.test(name)) return [];
  const found = filesOfWildcard(files, name).filter((f) => !isImpactPackFile(f.path));
  if (found.length === 0 || filesOfWildcard(files, name, true).length > 0) return [];
  return [...new Set(found.map((f) => f.name.slice(f.name.length - name.length)))];
}

/**
 * Wildcard names for what was typed after `__`, best first: names starting with it, then names with a
 * path segment or word starting with it (`cat` → `animals/cat`, `color` → `hair_color`), then any
 * name holding it; shorter names first within each. Nothing typed: all of them, by name.
 */
export function matchWildcards(files: WildcardFile[], typed: string, limit: number): WildcardFile[] {
  const query = typed.toLowerCase().replace(/ /g, '_');
  // Nothing typed yet: the folder's files in their order, as a file tree lists them.
  if (query === '') return files.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, limit);
  const rank = (name: string): number => {
    // (A name may hold spaces too: `my colors.txt`.)
    const lower = name.toLowerCase().replace(/ /g, '_');
    if (lower.startsWith(query)) return 0;
    for (let at = lower.indexOf(query); at >= 0; at = lower.indexOf(query, at + 1)) if (at > 0 && '/_-'.includes(lower[at - 1]!)) return 1;
    if (!lower.includes(query)) return -1;
    return 2;
  };
  return files
    .map((file) => ({ file, rank: rank(file.name) }))
    .filter((m) => m.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.file.name.length - b.file.name.length || (a.file.name < b.file.name ? -1 : 1))
    .slice(0, limit)
    .map((m) => m.file);
}

/** A wildcard's options: its text file's lines, trimmed, without blank lines and `#` comments; or its collection list's. */
export async function wildcardOptions(file: WildcardFile): Promise<string[]> {
  if (file.entries) return file.entries;
  const handle = await fs.open(file.path, 'r');
  try {
    const buffer = Buffer.alloc(OPTIONS_READ_LIMIT);
    const { bytesRead } = await handle.read(buffer, 0, OPTIONS_READ_LIMIT, 0);
    const lines = buffer.toString('utf8', 0, bytesRead).split(/\r?\n/);
    // A file larger than what was read: its last line is cut.
    if (bytesRead === OPTIONS_READ_LIMIT) lines.pop();
    return lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  } finally {
    await handle.close();
  }
}

/** Options shown in a hover or a completion's details. */
const OPTIONS_SHOWN = 12;

/** Markdown for a wildcard: the files it chooses from, how many options, the first of them. */
export async function wildcardMarkdown(name: string, files: WildcardFile[]): Promise<string> {
  const title = `**\`__${name.replace(/`/g, "'")}__\`** · wildcard`;
  if (files.length === 0) return `${title}\n\nNo file for it in the wildcard folders (\`danbooruGpt.wildcardFolders\`).`;
  const sections = [title];
  const options: string[] = [];
  for (const file of files.slice(0, OPTIONS_SHOWN)) {
    try {
      // One by one: spread into push's arguments, a list past ~125k options overflowed the stack.
      for (const option of await wildcardOptions(file)) options.push(option);
    } catch (error) {
      sections.push(`${escapeMarkdown(file.path)}: ${escapeMarkdown((error as Error).message)}`);
    }
  }
  const where = files.length === 1 ? `[${escapeMarkdown(files[0]!.path)}](${fileLink(files[0]!)})` : `${files.length} files (${files.slice(0, 3).map((f) => escapeMarkdown(f.name)).join(', ')}${files.length > 3 ? ', …' : ''})`;
  const counted = files.length > OPTIONS_SHOWN ? 'options in the first ' + OPTIONS_SHOWN + ' files' : `option${options.length === 1 ? '' : 's'}`;
  sections.push(`${options.length} ${counted} of ${where}`);
  if (options.length) sections.push(options.slice(0, OPTIONS_SHOWN).map((o) => `\`${o.replace(/`/g, "'")}\``).join(', ') + (options.length > OPTIONS_SHOWN ? ', …' : ''));
  return sections.join('\n\n');
}

/** A link to a wildcard's file, at its key for a collection's list. */
export function fileLink(file: WildcardFile): string {
  const url = pathToFileURL(file.path).href;
  return file.line ? `${url}#L${file.line + 1}` : url;
}
