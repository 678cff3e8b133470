// Dynamic Prompts wildcards (`__hair_color__`): text files of options, one a line, in the folders of
// danbooruGpt.wildcardFolders. `wildcards/animals/cat.txt` is `__animals/cat__`. Completion offers
// their names after `__`, hover shows a wildcard's file and options. Folders are listed again when
// asked after FRESH_MS, so a file added while the editor runs is offered a few seconds later.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { escapeMarkdown } from './serverContext';
import { resolvePathSetting } from './settings';

export interface WildcardFile {
  /** `animals/cat`: the path under its folder, `/`-separated, without `.txt`. */
  name: string;
  path: string;
}

const FRESH_MS = 5_000;
/** A folder of this many files or more is listed this far only (and said so in the log). */
const MAX_FILES = 20_000;
const MAX_DEPTH = 8;
/** Options read from a file for a hover or a completion's details. */
const OPTIONS_READ_LIMIT = 1 << 20;

interface Listing {
  at: number;
  files: Promise<WildcardFile[]>;
}

export class WildcardFolders {
  private readonly listings = new Map<string, Listing>();
  /** Problems already logged: a folder is listed again every few seconds while wildcards are typed. */
  private readonly warned = new Set<string>();
  private readonly warn: (message: string) => void;

  constructor(private readonly workspaceRoot: () => string | undefined, log: (message: string) => void) {
    this.warn = (message) => {
      if (this.warned.has(message)) return;
      this.warned.add(message);
      log(message);
    };
  }

  /** The wildcard files of the setting's folders, the first folder's where names repeat. */
  async files(folders: string[]): Promise<WildcardFile[]> {
    const resolved = folders.map((folder) => resolvePathSetting(folder, this.workspaceRoot())).filter((f): f is string => f !== undefined);
    const lists = await Promise.all(resolved.map((folder) => this.listing(folder)));
    const seen = new Set<string>();
    const files: WildcardFile[] = [];
    for (const list of lists) {
      for (const file of list) {
        if (seen.has(file.name)) continue;
        seen.add(file.name);
        files.push(file);
      }
    }
    return files;
  }

  private listing(folder: string): Promise<WildcardFile[]> {
    const now = Date.now();
    const cached = this.listings.get(folder);
    if (cached && now - cached.at < FRESH_MS) return cached.files;
    const files = listWildcardFiles(folder, this.warn);
    this.listings.set(folder, { at: now, files });
    return files;
  }
}

/** The `.txt` files under `folder`; a folder that does not exist has none (the default names several). */
export async function listWildcardFiles(folder: string, warn: (message: string) => void = () => undefined): Promise<WildcardFile[]> {
  const files: WildcardFile[] = [];
  const visit = async (dir: string, prefix: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (depth > 0 || (code !== 'ENOENT' && code !== 'ENOTDIR')) warn(`Wildcard folder ${dir}: ${(error as Error).message}`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.length >= MAX_FILES) {
        warn(`Wildcard folder ${folder}: more than ${MAX_FILES} files; the first ${MAX_FILES} are offered.`);
        return;
      }
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < MAX_DEPTH && !entry.name.startsWith('.')) await visit(full, `${prefix}${entry.name}/`, depth + 1);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.txt')) files.push({ name: prefix + entry.name.slice(0, -4), path: full });
    }
  };
  await visit(folder, '', 0);
  return files;
}

/** Dynamic Prompts' globs: `*` any run of characters within a path segment, `**` across segments. */
function globPattern(name: string): RegExp {
  const escaped = name.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*\*|\*/g, (star) => (star === '**' ? '.*' : '[^/]*'));
  return new RegExp(`^${escaped}$`, 'i');
}

/** The files a wildcard name chooses from: itself, or each file a glob (`animals/*`) matches. */
export function filesOfWildcard(files: WildcardFile[], name: string): WildcardFile[] {
  if (!name.includes('*')) {
    const lower = name.toLowerCase();
    return files.filter((f) => f.name.toLowerCase() === lower);
  }
  const pattern = globPattern(name);
  return files.filter((f) => pattern.test(f.name));
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
    const lower = name.toLowerCase();
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

/** A wildcard file's options: its lines, trimmed, without blank lines and `#` comments. */
export async function wildcardOptions(file: WildcardFile): Promise<string[]> {
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
      options.push(...await wildcardOptions(file));
    } catch (error) {
      sections.push(`${escapeMarkdown(file.path)}: ${escapeMarkdown((error as Error).message)}`);
    }
  }
  const where = files.length === 1 ? `[${escapeMarkdown(files[0]!.path)}](${pathToFileURL(files[0]!.path).href})` : `${files.length} files (${files.slice(0, 3).map((f) => escapeMarkdown(f.name)).join(', ')}${files.length > 3 ? ', …' : ''})`;
  const counted = files.length > OPTIONS_SHOWN ? 'options in the first ' + OPTIONS_SHOWN + ' files' : `option${options.length === 1 ? '' : 's'}`;
  sections.push(`${options.length} ${counted} of ${where}`);
  if (options.length) sections.push(options.slice(0, OPTIONS_SHOWN).map((o) => `\`${o.replace(/`/g, "'")}\``).join(', ') + (options.length > OPTIONS_SHOWN ? ', …' : ''));
  return sections.join('\n\n');
}
