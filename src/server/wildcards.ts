// Dynamic Prompts wildcards (`__hair_color__`): text files of options, one a line, in the folders of
// danbooruGpt.wildcardFolders. `wildcards/animals/cat.txt` is `__animals/cat__`. Completion offers
// their names after `__`, hover shows a wildcard's file and options.
import { promises as fs } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { FolderFile, FolderFiles } from './folderFiles';
import { escapeMarkdown } from './serverContext';
import type { ServerSettings } from './settings';

export type WildcardFile = FolderFile;

/** What a wildcard file is: Dynamic Prompts reads `.txt` files, one option a line. */
export const WILDCARD_EXTENSIONS = ['.txt'];
/** Its YAML and JSON collections, whose keys name wildcards too: not read, so their names are unknown. */
const COLLECTION_EXTENSIONS = ['.yaml', '.yml', '.json'];
/** Options read from a file for a hover or a completion's details. */
const OPTIONS_READ_LIMIT = 1 << 20;

/** The wildcard files of danbooruGpt.wildcardFolders. */
export function wildcardFiles(folders: FolderFiles, settings: ServerSettings): Promise<WildcardFile[]> {
  return folders.files(settings.wildcardFolders, WILDCARD_EXTENSIONS, 'Wildcard');
}

/** Whether the wildcard folders hold YAML or JSON collections (then a name with no `.txt` file may still be one of theirs). */
export async function hasWildcardCollections(folders: FolderFiles, settings: ServerSettings): Promise<boolean> {
  return (await folders.files(settings.wildcardFolders, COLLECTION_EXTENSIONS, 'Wildcard')).length > 0;
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
