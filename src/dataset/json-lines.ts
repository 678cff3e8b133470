// The JSONL fast path (json-lines.wat): a block of lines goes into the module's memory in one copy, and
// for each line comes back either a FAST record (the line is valid JSON; its id, rating, score, deletion
// flag and its dataset line, the kept tags joined by ",", already written in the module's memory) or
// SLOW: the line is left to the ordinary path (JSON.parse + PostAdapter), which reports whatever is wrong
// with it. Used for txt output of one tag category in metadata order, the default and the common case.
import { instantiateEmbedded } from '../util/wasm';
import { JSON_LINES_WASM_BASE64 } from './json-lines-wasm';
import { TAG_CATEGORIES, type TagCategory } from './types';

interface JsonLinesExports {
  memory: { buffer: ArrayBuffer };
  configure(fieldLength: number, category: number): void;
  input(bytes: number): number;
  results(): number;
  scanned(): number;
  scan(from: number, end: number): number;
}

/** A post read by the fast path; the object is reused from line to line. */
export interface FastRecord {
  id: number | undefined;
  rating: string | undefined;
  score: number | undefined;
  deleted: boolean;
  tagCount: number;
  /** The dataset line with its "\n" is bytes[start, end); valid until the next block. */
  bytes: Buffer;
  start: number;
  end: number;
}

export interface FastLineHandler {
  /** A line the fast path read. */
  fast(record: FastRecord): void;
  /** A line (without its "\n") for the ordinary path. */
  slow(line: Buffer): void;
}

/** Result record layout (see json-lines.wat), in 4-byte units. */
const RECORD_INTS = 12;

export class JsonLinesScanner {
  private readonly module: JsonLinesExports;
  private input = 0;
  private capacity = -1;
  private bytes = Buffer.alloc(0);
  private ints = new Int32Array(0);
  private floats = new Float64Array(0);
  private readonly record: FastRecord = { id: undefined, rating: undefined, score: undefined, deleted: false, tagCount: 0, bytes: Buffer.alloc(0), start: 0, end: 0 };
  private readonly ratings: (string | undefined)[] = [];

  /** Keeps the tags of `category`; lines over maxLineBytes are left to the ordinary path, which reports them. */
  constructor(
    category: TagCategory,
    private readonly maxLineBytes: number,
  ) {
    this.module = instantiateEmbedded<JsonLinesExports>(JSON_LINES_WASM_BASE64);
    const field = `tag_string_${category}`;
    Buffer.from(this.module.memory.buffer).write(field, 64, 'latin1');
    this.module.configure(field.length, TAG_CATEGORIES[category]);
  }

  /** The lines of chunk[start, end): each ends in "\n", the last one at end - 1. Calls back line by line, in order. */
  scanBlock(chunk: Buffer, start: number, end: number, handler: FastLineHandler): void {
    const length = end - start;
    if (length > this.capacity) {
      // Growing the memory detaches the old views.
      this.capacity = Math.max(length, 1 << 20);
      this.input = this.module.input(this.capacity);
      this.bytes = Buffer.from(this.module.memory.buffer);
      this.ints = new Int32Array(this.module.memory.buffer);
      this.floats = new Float64Array(this.module.memory.buffer);
      this.record.bytes = this.bytes;
    }
    chunk.copy(this.bytes, this.input, start, end);
    const { ints, floats, record, module } = this;
    const offset = start - this.input;
    const stop = this.input + length;
    for (let from = this.input; from < stop; from = module.scanned()) {
      const lines = module.scan(from, stop);
      let at = module.results() >> 2;
      for (let line = 0; line < lines; line++, at += RECORD_INTS) {
        const lineStart = ints[at + 1];
        const lineEnd = ints[at + 2];
        if (ints[at] === 0 || lineEnd - lineStart > this.maxLineBytes) {
          handler.slow(chunk.subarray(lineStart + offset, lineEnd + offset));
          continue;
        }
        const id = floats[(at >> 1) + 4];
        const score = floats[(at >> 1) + 5];
        record.id = Number.isNaN(id) ? undefined : id;
        record.score = Number.isNaN(score) ? undefined : score;
        record.rating = this.rating(ints[at + 3]);
        record.deleted = ints[at + 4] === 1;
        record.tagCount = ints[at + 5];
        record.start = ints[at + 6];
        record.end = record.start + ints[at + 7] + 1;
        handler.fast(record);
      }
    }
  }

  private rating(code: number): string | undefined {
    if (code === 0) return undefined;
    return (this.ratings[code] ??= String.fromCharCode(code));
  }
}
