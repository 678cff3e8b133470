// The documents Rename, Find All References, Tag Counts and the every-prompt edits look through
// (danbooruGpt.tagScope): `file`, the document itself (references: and the other open prompt
// documents); `folder`, every file of the document's extension in its folder and the folders under
// it, as a LoRA training set keeps its captions, one file per image. Open files are read as the editor
// holds them, the others from disk.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listFolderFiles, type FolderFile } from './folderFiles';
import { LineDocument } from './lineDocument';
import type { ServerContext } from './serverContext';
import type { ServerSettings } from './settings';
import { readUtf8File } from '../util/text';

/** A file of the folder larger than this is left out (and named in the log): no caption is. */
const MAX_FOLDER_FILE_BYTES = 64 << 20;
/**
 * Files of a folder taken at most: a LoRA training set of a caption a picture is rarely above 100,000
 * (the wildcard and LoRA listings stop at 20,000). Past it the user is told, in a warning: a rename
 * that leaves files out must not look complete.
 */
const MAX_SCOPE_FILES = 200_000;
/** Files being read ahead of the one looked through. */
const READ_AHEAD = 32;
/**
 * Bytes of files read ahead at most (one file larger than this is read alone): 32 datasets of 60 MB
 * saved as `.txt` beside a caption would have been read at once, several GB.
 */
const READ_AHEAD_BYTES = 64 << 20;

/**
 * The document, then the other documents of the scope, one at a time (a folder's files are read as they
 * are reached). `withOpen`: with `file` scope, the other open prompt documents too. `leftOut` gets the files of the
 * folder left unread (not UTF-8, or too large).
 */
export async function* documentsInScope(ctx: ServerContext, document: LineDocument, settings: ServerSettings, withOpen = false, leftOut?: string[]): AsyncGenerator<LineDocument> {
  yield document;
  if (settings.tagScope !== 'folder' || !document.uri.startsWith('file:')) {
    if (withOpen) yield* ctx.documents.all().filter((other) => other !== document);
    return;
  }
  const file = fileURLToPath(document.uri);
  const extension = path.extname(file).toLowerCase();
  if (extension === '') return;
  // By path: VS Code spells a URI its own way (`%28` for `(`, `c%3A` for a drive), which is not
  // pathToFileURL's, and an open file missed would be read from disk, its unsaved edits lost.
  // And by real path: a file open under another path (a linked caption's target, the folder reached
  // through a link) is still the editor's.
  const openDocuments = ctx.documents.all().filter((each) => each.uri.startsWith('file:'));
  const open = new Map(openDocuments.map((each) => [pathKey(fileURLToPath(each.uri)), each]));
  // (The document's own real path found among them: one lookup, not two, when it is open.)
  let documentReal: string | undefined;
  for (const each of openDocuments) {
    const real = await fs.realpath(fileURLToPath(each.uri)).catch(() => undefined);
    if (real !== undefined && !open.has(pathKey(real))) open.set(pathKey(real), each);
    if (each === document) documentReal = real ?? file;
  }
  documentReal ??= await fs.realpath(file).catch(() => file);
  // The bytes of the files read ahead are reserved in the files' order, and given back once a file
  // has been looked through: the next file to look through never waits for one after it.
  let held = 0;
  let waiting: (() => void)[] = [];
  const room = (bytes: number): Promise<void> => new Promise((resolve) => {
    const tryIt = (): void => {
      if (held > 0 && held + bytes > READ_AHEAD_BYTES) return void waiting.push(tryIt);
      held += bytes;
      resolve();
    };
    tryIt();
  });
  const giveBack = (bytes: number): void => {
    held -= bytes;
    const retry = waiting;
    waiting = [];
    for (const each of retry) each();
  };
  let turn: Promise<unknown> = Promise.resolve();
  const load = async (each: FolderFile): Promise<{ document: LineDocument; bytes: number } | undefined> => {
    const opened = open.get(pathKey(each.path)) ?? (each.realPath === undefined ? undefined : open.get(pathKey(each.realPath)));
    if (opened) return { document: opened, bytes: 0 };
    const uri = pathToFileURL(each.path).href;
    const stat = fs.stat(each.path);
    const reserved = turn.then(async () => {
      const { size } = await stat;
      if (size <= MAX_FOLDER_FILE_BYTES) await room(size);
      return size;
    });
    turn = reserved.catch(() => undefined);
    try {
      const size = await reserved;
      if (size > MAX_FOLDER_FILE_BYTES) {
        ctx.folders.warn(`${each.path} is left out of tag-scope "folder" (${(size / 1048576).toFixed(0)} MB; files of at most ${MAX_FOLDER_FILE_BYTES >> 20} MB are read).`);
        leftOut?.push(each.path);
        return undefined;
      }
      try {
        // Without a byte order mark, as the editor opens the file (else every column of its first line is one off).
        return { document: LineDocument.create(uri, document.languageId, 0, await readUtf8File(each.path)), bytes: size };
      } catch (error) {
        giveBack(size);
        throw error;
      }
    } catch (error) {
      ctx.folders.warn(`${each.path} could not be read for tag-scope "folder": ${(error as Error).message}`);
      // (Named to the caller too: an edit of every file that leaves some out must say so each time.)
      leftOut?.push(each.path);
      return undefined;
    }
  };
  // Links (to files and folders) are followed in a trusted workspace only (a rename would write through them).
  const folder = path.dirname(file);
  const listed = await listFolderFiles(folder, [extension], 'Tag scope', (message) => ctx.settings.warnOnce(message), MAX_SCOPE_FILES, !ctx.folders.confined);
  // Each file once: the folder's own entries are distinct files (two names differing in case are two
  // on a case-sensitive volume); a file reached through a link is left out where its real path is one
  // of them or the document (two edits of one file, each made against its old text, would mix), and
  // is read once however many links lead to it.
  const ownReal = new Set(listed.filter((each) => !each.viaLink).map((each) => pathKey(each.realPath ?? each.path)));
  const seenViaLink = new Set([pathKey(file), pathKey(documentReal)]);
  const files = listed.filter((each) => {
    if (!each.viaLink) return each.path !== file && (each.realPath ?? each.path) !== documentReal;
    const key = pathKey(each.realPath ?? each.path);
    if (ownReal.has(key) || seenViaLink.has(key)) return false;
    seenViaLink.add(key);
    return true;
  });
  // A few files read ahead while the one before is looked through: one read at a time waited on the
  // disk for each of 10,000 captions.
  const reading: Promise<{ document: LineDocument; bytes: number } | undefined>[] = [];
  let next = 0;
  const readAhead = (): void => {
    while (reading.length < READ_AHEAD && next < files.length) reading.push(load(files[next++]!));
  };
  readAhead();
  while (reading.length > 0) {
    const loaded = await reading.shift()!;
    readAhead();
    if (!loaded) continue;
    yield loaded.document;
    giveBack(loaded.bytes);
  }
}

/** A path as a key: resolved, and in one case where the file system ignores case (Windows, macOS by default). */
function pathKey(file: string): string {
  const resolved = path.resolve(file);
  return process.platform === 'win32' || process.platform === 'darwin' ? resolved.toLowerCase() : resolved;
}
