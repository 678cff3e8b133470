// Source stage: finds the input files, opens one (gunzipping when it starts with the gzip magic bytes),
// and keeps the byte count that progress reports (compressed bytes for .gz).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ConvertUsageError, FOLDER_FILE_NAME } from './types';

const READ_CHUNK_BYTES = 512 * 1024;

export interface InputFile {
  path: string;
  bytes: number;
}

/** Files named directly, plus the metadata files found (recursively, sorted) in folders named. */
export async function findInputFiles(inputs: readonly string[]): Promise<InputFile[]> {
  if (inputs.length === 0) throw new ConvertUsageError('no input given');
  const found: InputFile[] = [];
  const seen = new Set<string>();
  const add = async (file: string): Promise<void> => {
    const real = await fs.promises.realpath(file);
    if (seen.has(real)) return;
    seen.add(real);
    found.push({ path: file, bytes: (await fs.promises.stat(file)).size });
  };
  for (const input of inputs) {
    const stat = await fs.promises.stat(input).catch(() => undefined);
    if (stat === undefined) throw new ConvertUsageError(`input not found: ${input}`);
    if (stat.isDirectory()) {
      const files = await listMetadataFiles(input);
      if (files.length === 0) throw new ConvertUsageError(`no .jsonl/.json(.gz) files in folder: ${input}`);
      for (const file of files) await add(file);
    } else if (stat.isFile()) {
      await add(input);
    } else {
      throw new ConvertUsageError(`input is not a file or folder: ${input}`);
    }
  }
  return found;
}

/**
 * A folder's metadata files in name order (a subfolder's where its name sorts). Links are followed (a dump
 * folder of links to files elsewhere is common), each folder once (a link back up is no loop).
 * Files compressed in a way not read (`.jsonl.xz`) are listed too, to be reported, not left out silently.
 */
async function listMetadataFiles(folder: string, visited = new Set<string>()): Promise<string[]> {
  const real = await fs.promises.realpath(folder);
  if (visited.has(real)) return [];
  visited.add(real);
  const files: string[] = [];
  const entries = await fs.promises.readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    // A link's target decides; a broken link is left out.
    const target = entry.isSymbolicLink() ? await fs.promises.stat(full).catch(() => undefined) : entry;
    if (target?.isDirectory()) files.push(...(await listMetadataFiles(full, visited)));
    else if (target?.isFile() && FOLDER_FILE_NAME.test(entry.name) && !entry.name.endsWith('.tmp')) files.push(full);
  }
  return files;
}

/** Refuses an output (or counts table) that is one of the inputs or a folder, or whose folder is missing. */
export async function checkOutputPath(output: string, inputs: readonly InputFile[], what: string): Promise<void> {
  // The output is renamed into place when complete, which needs a regular file: renaming over
  // /dev/stdout or a FIFO would replace the device node or link itself.
  if (output === '-') throw new ConvertUsageError(`${what} cannot be "-": standard output is not supported, give a file path`);
  const folder = path.dirname(path.resolve(output));
  const folderStat = await fs.promises.stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new ConvertUsageError(`${what} folder does not exist: ${folder}`);
  const resolved = await realTargetPath(output);
  const existing = await fs.promises.stat(resolved).catch(() => undefined);
  if (existing?.isDirectory()) throw new ConvertUsageError(`${what} is a folder: ${output}`);
  if ((existing !== undefined && !existing.isFile()) || isSystemPath(path.resolve(output)) || isSystemPath(resolved)) {
    throw new ConvertUsageError(`${what} must be a regular file, not a device, FIFO, socket or /dev, /proc path: ${output}`);
  }
  for (const input of inputs) {
    const inputStat = await fs.promises.stat(input.path);
    const sameFile = existing !== undefined && existing.ino === inputStat.ino && existing.dev === inputStat.dev;
    if (sameFile || (await fs.promises.realpath(input.path)) === resolved) {
      throw new ConvertUsageError(`${what} would overwrite an input: ${output}`);
    }
  }
}

/**
 * The regular file a path names when it is a symbolic link to one (followed to the end; a broken
 * link's target as the link names it); the path itself otherwise (a link to a device or a folder is
 * refused by checkOutputPath under the name given).
 */
export async function throughLink(file: string): Promise<string> {
  const stat = await fs.promises.lstat(file).catch(() => undefined);
  if (!stat?.isSymbolicLink()) return file;
  const real = await fs.promises.realpath(file).catch(() => undefined);
  if (real !== undefined) return (await fs.promises.stat(real)).isFile() ? real : file;
  // Broken: followed link by link to the file not made yet (a chain of links too); one leading on
  // through something not a link (`/dev/stdout` to a pipe) is left to checkOutputPath; a loop refused.
  let target = file;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    target = await resolveLinkText(target, await fs.promises.readlink(target));
    // /dev/stdout's chain ends in /proc's names of pipes and sockets (`socket:[1826051]`), no file to make.
    if (isSystemPath(target)) return file;
    const next = await fs.promises.lstat(target).catch(() => undefined);
    if (next === undefined) return target;
    if (!next.isSymbolicLink()) return file;
  }
  // Renamed over, the loop's first link would become a file.
  throw new ConvertUsageError(`output is a link that leads round in a loop: ${file}`);
}

/**
 * Where a link's text leads, read part by part as the system reads it: from the link's real folder,
 * each part that exists resolved before the next (`linked/../x` is `..` of where `linked` leads, not
 * of the text), the parts after the first missing one joined as written.
 */
async function resolveLinkText(link: string, text: string): Promise<string> {
  let at = path.isAbsolute(text) ? path.parse(path.resolve(text)).root : await fs.promises.realpath(path.dirname(link)).catch(() => path.dirname(link));
  let missing = false;
  for (const part of text.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      at = path.dirname(at);
      continue;
    }
    at = path.join(at, part);
    if (!missing) {
      const real = await fs.promises.realpath(at).catch(() => undefined);
      if (real !== undefined) at = real;
      // A link that leads nowhere yet (the chain's next) or a part not made: kept as written.
      else missing = (await fs.promises.lstat(at).catch(() => undefined)) === undefined;
    }
  }
  return at;
}

/** Links followed at most (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

/** Where an output path puts its file: its folder's real path (links resolved) and its name. */
async function realTargetPath(output: string): Promise<string> {
  const folder = path.dirname(path.resolve(output));
  return path.join(await fs.promises.realpath(folder).catch(() => folder), path.basename(output));
}

/** Whether two output paths name one file (`o.txt`, `./o.txt`, its absolute path, a link to its folder). */
export async function isSamePath(a: string, b: string): Promise<boolean> {
  return (await realTargetPath(a)) === (await realTargetPath(b));
}

function isSystemPath(file: string): boolean {
  return /^\/(dev|proc|sys)(\/|$)/.test(file);
}

export interface OpenedInput {
  /** Decompressed bytes. */
  chunks: AsyncIterable<Buffer>;
  compressed: boolean;
  /** Set when the file starts with the magic bytes of a compression this reader does not undo. */
  unsupportedCompression: string | undefined;
  /** Bytes read from disk so far. */
  bytesRead(): number;
  close(): void;
}

/** Compressed input goes to zlib in slices of this size (see gunzipChunks). */
const GZIP_SLICE_BYTES = 64 * 1024;
/** After corrupt data, the slice it is in is decompressed again in pieces this small, then the failing piece byte by byte (see salvage). */
const SALVAGE_SLICE_BYTES = 256;

export async function openInput(file: string): Promise<OpenedInput> {
  const magic = await readMagic(file);
  const compressed = magic === 'gzip';
  const unsupportedCompression = magic === 'gzip' ? undefined : magic;
  // An input is only ever opened for reading.
  const raw = fs.createReadStream(file, { flags: 'r', highWaterMark: READ_CHUNK_BYTES });
  if (!compressed) {
    return { chunks: raw, compressed, unsupportedCompression, bytesRead: () => raw.bytesRead, close: () => raw.destroy() };
  }
  const inflater = new Inflater();
  return {
    chunks: gunzipChunks(file, raw, inflater),
    compressed,
    unsupportedCompression,
    bytesRead: () => raw.bytesRead,
    close: () => {
      inflater.destroy();
      raw.destroy();
    },
  };
}

/** A gunzip stream written one slice at a time, each write's output collected before the next. */
class Inflater {
  failure: Error | undefined;
  /**
   * The data ended before the file: zlib stops at zero bytes after the last member (padding, which
   * gzip(1) reads past too) and ends its output during the write; later bytes are not read.
   */
  ended = false;
  private readonly gunzip = zlib.createGunzip({ chunkSize: READ_CHUNK_BYTES });
  private output: Buffer[] = [];
  private wake: (() => void) | undefined;

  constructor() {
    this.gunzip.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.gunzip.on('error', (error: Error) => {
      this.failure ??= error;
      this.wake?.();
    });
    this.gunzip.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** The output of these bytes; on an error, `failure` is set (zlib drops the output of the failing write). */
  write(bytes: Buffer): Promise<Buffer[]> {
    // Once ended, zlib calls a write back never: nothing would settle, and the run would stop silently.
    if (this.ended || this.failure !== undefined) return Promise.resolve(this.take());
    return this.settle((done) => this.gunzip.write(bytes, () => done()));
  }

  /** The output still held; a stream cut short sets `failure`. */
  end(): Promise<Buffer[]> {
    return this.failure === undefined && !this.ended ? this.settle(() => this.gunzip.end()) : Promise.resolve(this.take());
  }

  destroy(): void {
    this.gunzip.destroy();
  }

  private async settle(start: (done: () => void) => void): Promise<Buffer[]> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      start(resolve);
    });
    return this.take();
  }

  private take(): Buffer[] {
    const output = this.output;
    this.output = [];
    return output;
  }
}

/**
 * The decompressed bytes of `raw`, then zlib's error if there is one. zlib drops the output of the write
 * it fails in, so the input goes in slice by slice, and the slice with corrupt data is decompressed again
 * in small pieces: everything that decompressed before the error comes out.
 */
async function* gunzipChunks(file: string, raw: AsyncIterable<Buffer>, inflater: Inflater): AsyncGenerator<Buffer> {
  let offset = 0;
  try {
    for await (const chunk of raw) {
      for (let start = 0; start < chunk.length; start += GZIP_SLICE_BYTES) {
        const slice = chunk.subarray(start, start + GZIP_SLICE_BYTES);
        const output = await inflater.write(slice);
        if (inflater.failure !== undefined) {
          if (!isTruncatedGzipError(inflater.failure)) yield* await salvage(file, offset, offset + slice.length);
          throw inflater.failure;
        }
        yield* output;
        offset += slice.length;
        if (inflater.ended) break;
      }
      if (inflater.ended) break;
    }
    yield* await inflater.end();
    if (inflater.failure !== undefined) throw inflater.failure;
  } finally {
    inflater.destroy();
  }
}

/**
 * The output of [from, to) up to the error (the output before `from` was passed on already): the file
 * is decompressed again, that span in small pieces, then again up to the failing piece and that piece
 * byte by byte, since zlib drops the output of the write it fails in (a last member's end with
 * trailing garbage after it, in the same piece, would be lost). Only a corrupt file pays for this.
 */
async function salvage(file: string, from: number, to: number): Promise<Buffer[]> {
  const coarse = await decompressUpToError(file, from, to, SALVAGE_SLICE_BYTES);
  if (coarse.failedAt === undefined) return coarse.kept;
  const fine = await decompressUpToError(file, coarse.failedAt, Math.min(to, coarse.failedAt + SALVAGE_SLICE_BYTES), 1);
  return [...coarse.kept, ...fine.kept];
}

/** Decompresses [0, to): the output of the bytes before `keepFrom` dropped, then pieces of `pieceBytes` kept up to the one that fails (`failedAt`). */
async function decompressUpToError(file: string, keepFrom: number, to: number, pieceBytes: number): Promise<{ kept: Buffer[]; failedAt: number | undefined }> {
  const inflater = new Inflater();
  const raw = fs.createReadStream(file, { flags: 'r', start: 0, end: to - 1, highWaterMark: GZIP_SLICE_BYTES });
  const kept: Buffer[] = [];
  let offset = 0;
  try {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      const split = Math.max(0, Math.min(chunk.length, keepFrom - offset));
      if (split > 0) await inflater.write(chunk.subarray(0, split));
      for (let start = split; start < chunk.length && inflater.failure === undefined; start += pieceBytes) {
        const output = await inflater.write(chunk.subarray(start, Math.min(chunk.length, start + pieceBytes)));
        if (inflater.failure === undefined) kept.push(...output);
        else return { kept, failedAt: offset + start };
      }
      if (inflater.failure !== undefined) break;
      offset += chunk.length;
    }
  } finally {
    inflater.destroy();
    raw.destroy();
  }
  return { kept, failedAt: undefined };
}

/** The compression a file's first bytes announce: 'gzip' (read), 'xz', 'zstd', 'bzip2' (not read), or undefined. */
async function readMagic(file: string): Promise<string | undefined> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    const starts = (...bytes: number[]): boolean => bytesRead >= bytes.length && bytes.every((byte, i) => head[i] === byte);
    if (starts(0x1f, 0x8b)) return 'gzip';
    if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
    if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
    if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
    return undefined;
  } finally {
    await handle.close();
  }
}

/** zlib's errors for an input cut short, as opposed to one that is not gzip data at all. */
export function isTruncatedGzipError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'Z_BUF_ERROR' || (error instanceof Error && /unexpected end of file/i.test(error.message));
}

export function isGzipError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}
