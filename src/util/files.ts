// Files a user names in settings or on the command line, read whole: what would never finish reading
// (a FIFO, /dev/zero) or fill the process's memory is refused with a reason, before a byte is read.
// The language server reads them on its one thread: a FIFO set as the dictionary froze it for good.
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';

const MB = 1 << 20;

/** Sizes read at most, by what the file is. The largest real ones are a tenth of these or less. */
export const MAX_BYTES = {
  /** The shipped dictionary is 4.9 MB (.bin), its CSV 3.5 MB; a full tag list of a million tags ~40 MB. */
  dictionary: 256 * MB,
  /** Community translation files are 1–6 MB. */
  translations: 64 * MB,
  /** config.json, tokenizer.json (a 250k-token BPE ~17 MB), ranking.json, related.json. */
  modelJson: 256 * MB,
} as const;

/** Why a path cannot be read whole (not a regular file, too large), or undefined when it can; throws what stat throws (ENOENT). */
export function unreadableReason(stat: fs.Stats, maxBytes: number): string | undefined {
  if (stat.isDirectory()) return 'a folder, not a file';
  if (!stat.isFile()) return 'not a regular file (a FIFO, device or socket, which may never end)';
  if (stat.size > maxBytes) return `${(stat.size / MB).toFixed(0)} MB, larger than the ${maxBytes / MB} MB read`;
  return undefined;
}

/** An error for a file refused by unreadableReason; `code` says so to callers that word errors by code. */
export class UnreadableFileError extends Error {
  readonly code = 'EUNREADABLE';
  constructor(readonly file: string, readonly reason: string) {
    super(reason);
    this.name = 'UnreadableFileError';
  }
}

/** The file's bytes, after checking that it is a regular file of at most `maxBytes` (links followed). */
export function readBoundedFileSync(file: string, maxBytes: number): Buffer;
export function readBoundedFileSync(file: string, maxBytes: number, encoding: 'utf8'): string;
export function readBoundedFileSync(file: string, maxBytes: number, encoding?: 'utf8'): Buffer | string {
  const reason = unreadableReason(fs.statSync(file), maxBytes);
  if (reason !== undefined) throw new UnreadableFileError(file, reason);
  return encoding ? fs.readFileSync(file, encoding) : fs.readFileSync(file);
}

/**
 * A text file's bytes as UTF-8, refusing what would load as garbled tags: UTF-16 (Windows Notepad's
 * "Unicode"), bytes that are not UTF-8 (a Latin-1 or GBK file: `café` became `caf\ufffd`) and NUL
 * bytes, with the first line that has them.
 */
export function decodeUtf8Text(data: Buffer, file: string): string {
  if (data.length >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))) {
    throw new Error(`${file}: UTF-16 text; save it as UTF-8`);
  }
  const nul = data.indexOf(0);
  if (!isUtf8(data) || nul >= 0) {
    let line = 1;
    let start = 0;
    for (let end = data.indexOf(10); ; end = data.indexOf(10, start)) {
      const piece = data.subarray(start, end < 0 ? data.length : end);
      if (piece.includes(0)) throw new Error(`${file}:${line}: holds a NUL byte (a binary file, or UTF-16 without its byte-order mark?)`);
      if (!isUtf8(piece)) throw new Error(`${file}:${line}: not UTF-8 text (a Latin-1 or GBK file?); save it as UTF-8`);
      if (end < 0) break;
      start = end + 1;
      line++;
    }
  }
  return data.toString('utf8');
}
