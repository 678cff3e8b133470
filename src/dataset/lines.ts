// Records stage for JSONL: splits raw bytes into lines, decoding a whole chunk at once (much faster than
// readline's per-line work). Notes a BOM, CRLF endings and empty lines; reports invalid UTF-8 and lines
// over the size limit (skipped without buffering them, so memory stays bounded).
import { isUtf8 } from 'node:buffer';
import type { FastLineHandler, FastRecord, JsonLinesScanner } from './json-lines';
import type { ProblemReason } from './types';

export interface LineHandler {
  line(text: string, lineNumber: number): void;
  /** A line the fast path (json-lines.ts) read; only called when the splitter is given a scanner. */
  fastLine?(record: FastRecord, lineNumber: number): void;
  problem(lineNumber: number, reason: ProblemReason, detail: string): void;
}

export class LineSplitter {
  /** Lines seen so far, including empty and bad ones. */
  lineNumber = 0;
  /** Whether the last line had no newline after it (set by end()). */
  lastLineUnterminated = false;
  /** A line that runs on into the next chunk. */
  private readonly carry: BoundedBytes;
  private sawCrlf = false;

  private readonly fastHandler: FastLineHandler = {
    fast: (record) => (this.handler.fastLine as NonNullable<LineHandler['fastLine']>)(record, ++this.lineNumber),
    slow: (line) => this.takeLineBytes(line),
  };

  constructor(
    private readonly handler: LineHandler,
    private readonly maxLineBytes: number,
    /** Reads the lines it can without JSON.parse (see json-lines.ts); the handler then needs fastLine. */
    private readonly scanner?: JsonLinesScanner,
  ) {
    this.carry = new BoundedBytes(maxLineBytes);
  }

  push(chunk: Buffer): void {
    let start = 0;
    if (this.carry.bytes > 0) {
      const newline = chunk.indexOf(10);
      if (newline === -1) {
        this.carry.push(chunk);
        return;
      }
      this.carry.push(chunk.subarray(0, newline));
      this.finishCarriedLine();
      start = newline + 1;
    }
    const lastNewline = chunk.lastIndexOf(10);
    if (lastNewline < start) {
      if (start < chunk.length) this.carry.push(chunk.subarray(start));
      return;
    }
    this.splitBlock(chunk, start, lastNewline);
    if (lastNewline + 1 < chunk.length) this.carry.push(chunk.subarray(lastNewline + 1));
  }

  /** Flushes a last line that has no newline after it. */
  end(): void {
    if (this.carry.bytes > 0) {
      this.lastLineUnterminated = true;
      this.finishCarriedLine();
    }
  }

  /** Lines in chunk[start, end), each followed by a newline (end is the last newline). */
  private splitBlock(chunk: Buffer, start: number, end: number): void {
    if (this.scanner !== undefined) {
      // The first line of a file goes the ordinary way: it is where a byte-order mark is noted.
      if (this.lineNumber === 0) {
        const newline = chunk.indexOf(10, start);
        this.takeLineBytes(chunk.subarray(start, newline));
        if (newline === end) return;
        start = newline + 1;
      }
      this.scanner.scanBlock(chunk, start, end + 1, this.fastHandler);
      return;
    }
    const text = chunk.toString('utf8', start, end);
    if (text.includes('\uFFFD')) {
      this.splitBlockCheckingUtf8(chunk, start, end);
      return;
    }
    let from = 0;
    for (;;) {
      const newline = text.indexOf('\n', from);
      if (newline === -1) {
        this.takeLine(from === 0 ? text : text.slice(from));
        return;
      }
      this.takeLine(text.slice(from, newline));
      from = newline + 1;
    }
  }

  /** Slow path, only for blocks that decoded to U+FFFD: find which lines really are invalid UTF-8. */
  private splitBlockCheckingUtf8(chunk: Buffer, start: number, end: number): void {
    let from = start;
    while (from <= end) {
      let newline = chunk.indexOf(10, from);
      if (newline === -1 || newline > end) newline = end;
      this.takeLineBytes(chunk.subarray(from, newline));
      from = newline + 1;
    }
  }

  private takeLineBytes(bytes: Buffer): void {
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      this.lineNumber++;
      this.handler.problem(this.lineNumber, 'invalid-utf8', 'line is not valid UTF-8 (skipped)');
      return;
    }
    this.takeLine(text);
  }

  private takeLine(raw: string): void {
    const lineNumber = ++this.lineNumber;
    let text = raw;
    // Files joined with cat carry their BOM into a later line.
    if (text.charCodeAt(0) === 0xfeff) {
      text = text.slice(1);
      this.handler.problem(lineNumber, 'bom', lineNumber === 1 ? 'byte-order mark at the start of the file (removed)' : 'byte-order mark at the start of the line (removed; files joined?)');
    }
    if (text.charCodeAt(text.length - 1) === 13) {
      text = text.slice(0, -1);
      if (!this.sawCrlf) {
        this.sawCrlf = true;
        this.handler.problem(lineNumber, 'crlf', 'Windows line endings (CRLF) from here on (accepted; noted once per file)');
      }
    }
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) {
      this.handler.problem(lineNumber, 'empty-line', 'empty line');
      return;
    }
    if (text.length * 3 > this.maxLineBytes && Buffer.byteLength(text) > this.maxLineBytes) {
      this.handler.problem(lineNumber, 'line-too-long', tooLongDetail(Buffer.byteLength(text), this.maxLineBytes));
      return;
    }
    this.handler.line(text, lineNumber);
  }

  private finishCarriedLine(): void {
    const bytes = this.carry.bytes;
    const line = this.carry.take();
    if (line === undefined) {
      this.lineNumber++;
      this.handler.problem(this.lineNumber, 'line-too-long', tooLongDetail(bytes, this.maxLineBytes));
    } else {
      this.takeLineBytes(line);
    }
  }
}

/**
 * The bytes of one line (or one JSON array item) gathered across chunks, up to a limit: past it they
 * are only counted, so that memory stays bounded while the rest of it is skipped.
 */
export class BoundedBytes {
  /** Bytes pushed since the last take(), kept or not. */
  bytes = 0;
  private parts: Buffer[] = [];
  private tooLong = false;

  constructor(private readonly limit: number) {}

  push(bytes: Buffer): void {
    this.bytes += bytes.length;
    if (this.tooLong) return;
    if (this.bytes > this.limit) {
      this.tooLong = true;
      this.parts = [];
      return;
    }
    this.parts.push(bytes);
  }

  /** The bytes gathered, or undefined when they went over the limit; empties the buffer. */
  take(): Buffer | undefined {
    const taken = this.tooLong ? undefined : this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.tooLong = false;
    return taken;
  }
}

/** The bytes as text, or undefined when they are not valid UTF-8 (a real U+FFFD in them is kept). */
export function decodeUtf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return text.includes('\uFFFD') && !isUtf8(bytes) ? undefined : text;
}

function tooLongDetail(bytes: number, limit: number): string {
  return `line of ${formatBytes(bytes)} is over the ${formatBytes(limit)} limit (skipped)`;
}

export function formatBytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} bytes`;
}
