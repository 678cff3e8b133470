// Files that prompts name, listed from the folders the settings point to: wildcard files
// (`__animals/cat__`), LoRAs (`<lora:name:1>`) and embeddings. Folders are listed again when asked
// after FRESH_MS, so a file added while the editor runs is offered a few seconds later. Until then
// the same folders give the same array, so what is derived from it can be kept by it (WeakMap).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isWorkspaceRelative } from '../util/paths';
import { resolvePathSetting } from './settings';

export interface FolderFile {
  /** `animals/cat`: the path under its folder, `/`-separated, without its extension. */
  name: string;
  path: string;
  /** Its real path (links resolved), where the listing followed links. */
  realPath?: string;
  /** Reached through a link (to it, or to a folder above it). */
  viaLink?: boolean;
}

const FRESH_MS = 5_000;

/**
 * Lists that may lack files the folders hold (past MAX_FILES or MAX_DEPTH, a collection left out):
 * a name missing from one is not said to name no file (it may be among those not read).
 */
const incompleteLists = new WeakSet<object>();
export function markIncomplete<T extends object>(list: T): T {
  incompleteLists.add(list);
  return list;
}
export function isIncomplete(list: object): boolean {
  return incompleteLists.has(list);
}
/** A folder of this many files or more is listed this far only (and said so in the log). */
const MAX_FILES = 20_000;
/** Folders deeper than this are not read (and said so in the log). */
const MAX_DEPTH = 16;
/** Folders read for one listing at most (and said so in the log). */
const MAX_FOLDERS = 5_000;

interface Listing {
  at: number;
  files: Promise<FolderFile[]>;
}

/** How a1111 lists its networks, where that differs from Dynamic Prompts' wildcards (the defaults). */
export interface ListingOptions {
  /** Lists folders whose name starts with `.`: a1111's LoRA listing does (`list_hidden_files` is on by default); Dynamic Prompts never. */
  hiddenFolders?: boolean;
  /** Keeps a path under its folder that an earlier folder has too: a1111 loads the last file of a name, which the caller picks. */
  keepRepeats?: boolean;
}

export class FolderFiles {
  private readonly listings = new Map<string, Listing>();
  /** The last answer for each choice of folders and extensions, with the listings it was made of. */
  private readonly answers = new Map<string, { lists: FolderFile[][]; files: FolderFile[] }>();
  /** Problems already logged: a folder is listed again every few seconds while names are typed. */
  private readonly warned = new Set<string>();
  /** Logs a problem with a folder or one of its files, once. */
  readonly warn: (message: string) => void;
  /**
   * An untrusted workspace: a relative folder setting resolves into the workspace, and one whose real
   * path (through a link) leaves it is not read (its files would be shown in hovers).
   */
  confined = false;

  constructor(private readonly workspaceRoot: () => string | undefined, log: (message: string) => void) {
    this.warn = (message) => {
      if (this.warned.has(message)) return;
      this.warned.add(message);
      log(message);
    };
  }

  /**
   * The files of the setting's folders with one of the extensions (lower-case, with the dot), the first
   * folder's where a path under its folder repeats (each folder's with `keepRepeats`); `kind` names the
   * folders in the log (`Wildcard`, `LoRA`).
   * The same array while no folder has been listed again: completion and every check ask on each keystroke.
   */
  async files(folders: string[], extensions: readonly string[], kind: string, workspaceFolder?: string, options: ListingOptions = {}): Promise<FolderFile[]> {
    // Relative folders are under the document's workspace folder (ServerSettings.workspaceFolder), else the first.
    const root = workspaceFolder ?? this.workspaceRoot();
    let resolved = folders.map((folder) => resolvePathSetting(folder, root)).filter((f): f is string => f !== undefined);
    if (this.confined) resolved = await this.insideWorkspace(folders, resolved, kind, root);
    const lists = await Promise.all(resolved.map((folder) => this.listing(folder, extensions, kind, options.hiddenFolders ?? false)));
    const key = `${resolved.join('\0')}\0\0${extensions.join(' ')}\0${options.hiddenFolders ?? false}\0${options.keepRepeats ?? false}`;
    const answered = this.answers.get(key);
    if (answered && answered.lists.length === lists.length && answered.lists.every((list, i) => list === lists[i])) return answered.files;
    const seen = new Set<string>();
    const files: FolderFile[] = [];
    if (lists.some(isIncomplete)) markIncomplete(files);
    for (const list of lists) {
      for (const file of list) {
        // `colors.txt` and `colors.yaml` are two files; `colors.txt` in a second folder is the first one's.
        const underFolder = file.name + path.extname(file.path).toLowerCase();
        if (seen.has(underFolder) && !options.keepRepeats) continue;
        seen.add(underFolder);
        files.push(file);
      }
    }
    this.answers.set(key, { lists, files });
    return files;
  }

  /** The resolved folders but those of a relative setting whose real path leaves the workspace. */
  private async insideWorkspace(settings: string[], resolved: string[], kind: string, root: string | undefined): Promise<string[]> {
    if (root === undefined) return resolved;
    const realRoot = await fs.realpath(root).catch(() => path.resolve(root));
    const relative = new Set(settings.map((folder) => folder.trim()).filter(isWorkspaceRelative).map((folder) => path.resolve(root, folder)));
    const kept: string[] = [];
    for (const folder of resolved) {
      if (!relative.has(folder)) {
        kept.push(folder);
        continue;
      }
      const real = await fs.realpath(folder).catch(() => undefined);
      if (real === undefined) continue; // missing: nothing to list
      const inside = path.relative(realRoot, real);
      if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside))) kept.push(folder);
      else this.warn(`${kind} folder ${folder} leads out of this untrusted workspace (to ${real}): not read until you trust the workspace.`);
    }
    return kept;
  }

  private listing(folder: string, extensions: readonly string[], kind: string, hiddenFolders: boolean): Promise<FolderFile[]> {
    const now = Date.now();
    // Links are followed in a trusted workspace only (one could lead a wildcard's hover out of it).
    const followLinks = !this.confined;
    const key = `${folder}\0${extensions.join(' ')}\0${followLinks}\0${hiddenFolders}`;
    const cached = this.listings.get(key);
    if (cached && now - cached.at < FRESH_MS) return cached.files;
    const files = listFolderFiles(folder, extensions, kind, this.warn, MAX_FILES, followLinks, hiddenFolders);
    this.listings.set(key, { at: now, files });
    return files;
  }
}

/**
 * The files under `folder` with one of the extensions; a folder that does not exist has none (the
 * defaults name several). Links to files and folders are followed, as Dynamic Prompts (`os.walk(…,
 * followlinks=True)`) and a1111's LoRA listing walk them (a shared LoRA folder linked into an install),
 * but not into a folder that holds the link (a loop); `followLinks` false (an untrusted workspace):
 * none, and the listing says it is incomplete. Each file has its real path (`realPath`) where links are
 * followed, and `viaLink` when a link led to it. Folders whose name starts with `.` are skipped, as
 * Dynamic Prompts skips them, unless `hiddenFolders` (a1111's LoRA listing).
 */
export async function listFolderFiles(
  folder: string, extensions: readonly string[], kind: string, warn: (message: string) => void = () => undefined, maxFiles = MAX_FILES, followLinks = true, hiddenFolders = false,
): Promise<FolderFile[]> {
  const files: FolderFile[] = [];
  // Folders read in all: links to the same folders at each level multiply the walk (two a level, 15
  // levels: 10 s), which no real folder of wildcards or LoRAs comes near.
  let foldersLeft = MAX_FOLDERS;
  /** `ancestors`: the real paths of the folders above (a link to one of them is a loop). */
  const visit = async (dir: string, prefix: string, depth: number, realDir: string, ancestors: Set<string>, viaLink: boolean): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (depth > 0 || (code !== 'ENOENT' && code !== 'ENOTDIR')) {
        // Its files may be named in prompts: they are not said to be missing.
        markIncomplete(files);
        warn(`${kind} folder ${dir}: ${(error as Error).message}`);
      }
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.length >= maxFiles) {
        markIncomplete(files);
        warn(`${kind} folder ${folder}: more than ${maxFiles.toLocaleString('en-US')} files; the first ${maxFiles.toLocaleString('en-US')} are taken.`);
        return;
      }
      const full = path.join(dir, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      let real = path.join(realDir, entry.name);
      const link = entry.isSymbolicLink();
      if (link) {
        if (!followLinks) {
          markIncomplete(files);
          continue;
        }
        const target = await fs.realpath(full).catch(() => undefined);
        const stat = target === undefined ? undefined : await fs.stat(target).catch(() => undefined);
        if (target === undefined || stat === undefined) continue; // broken: names no file
        real = target;
        isDirectory = stat.isDirectory();
        isFile = stat.isFile();
      }
      if (isDirectory) {
        if ((entry.name.startsWith('.') && !hiddenFolders) || ancestors.has(real)) continue;
        if (depth >= MAX_DEPTH) {
          markIncomplete(files);
          warn(`${kind} folder ${folder}: folders more than ${MAX_DEPTH} deep are not read (${full}).`);
          continue;
        }
        if (--foldersLeft < 0) {
          markIncomplete(files);
          warn(`${kind} folder ${folder}: more than ${MAX_FOLDERS.toLocaleString('en-US')} folders (links to the same folders counted each time); the rest are not read.`);
          return;
        }
        await visit(full, `${prefix}${entry.name}/`, depth + 1, real, new Set(ancestors).add(real), viaLink || link);
        continue;
      }
      if (!isFile) continue;
      const extension = path.extname(entry.name).toLowerCase();
      if (!extensions.includes(extension)) continue;
      const file: FolderFile = { name: prefix + entry.name.slice(0, -extension.length), path: full };
      if (followLinks) file.realPath = real;
      if (viaLink || link) file.viaLink = true;
      files.push(file);
    }
  };
  const realFolder = followLinks ? await fs.realpath(folder).catch(() => path.resolve(folder)) : path.resolve(folder);
  await visit(folder, '', 0, realFolder, new Set([realFolder]), false);
  return files;
}

