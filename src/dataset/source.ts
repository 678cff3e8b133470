// Source stage: finds the input files, opens one (gunzipping when it starts with the gzip magic bytes),
// and keeps the byte count that progress reports (compressed bytes for .gz).
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { ConvertUsageError } from './types';

const METADATA_FILE = /\.(jsonl|ndjson|json)(\.gz)?$/i;
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

async function listMetadataFiles(folder: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await fs.promises.readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await listMetadataFiles(full)));
    else if (entry.isFile() && METADATA_FILE.test(entry.name) && !entry.name.endsWith('.tmp')) files.push(full);
  }
  return files;
}

/** Refuses an output (or counts table) that is one of the inputs or a folder, or whose folder is missing. */
export async function checkOutputPath(output: string, inputs: readonly InputFile[], what: string): Promise<void> {
  const folder = path.dirname(path.resolve(output));
  const folderStat = await fs.promises.stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new ConvertUsageError(`${what} folder does not exist: ${folder}`);
  const resolved = path.join(await fs.promises.realpath(folder), path.basename(output));
  const existing = await fs.promises.stat(resolved).catch(() => undefined);
  if (existing?.isDirectory()) throw new ConvertUsageError(`${what} is a folder: ${output}`);
  for (const input of inputs) {
    const inputStat = await fs.promises.stat(input.path);
    const sameFile = existing !== undefined && existing.ino === inputStat.ino && existing.dev === inputStat.dev;
    if (sameFile || (await fs.promises.realpath(input.path)) === resolved) {
      throw new ConvertUsageError(`${what} would overwrite an input: ${output}`);
    }
  }
}

export interface OpenedInput {
  /** Decompressed bytes. */
  chunks: AsyncIterable<Buffer>;
  compressed: boolean;
  /** Bytes read from disk so far. */
  bytesRead(): number;
  close(): void;
}

export async function openInput(file: string): Promise<OpenedInput> {
  const compressed = await startsWithGzipMagic(file);
  // An input is only ever opened for reading.
  const raw = fs.createReadStream(file, { flags: 'r', highWaterMark: READ_CHUNK_BYTES });
  if (!compressed) {
    return { chunks: raw, compressed, bytesRead: () => raw.bytesRead, close: () => raw.destroy() };
  }
  const gunzip = zlib.createGunzip({ chunkSize: READ_CHUNK_BYTES });
  pipeline(raw, gunzip, () => {
    // Errors surface to the reader of `gunzip`; nothing to do here.
  });
  return {
    chunks: gunzip,
    compressed,
    bytesRead: () => raw.bytesRead,
    close: () => {
      gunzip.destroy();
      raw.destroy();
    },
  };
}

async function startsWithGzipMagic(file: string): Promise<boolean> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
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
