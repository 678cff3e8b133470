// The tag-count table: how often each tag was written. Counting is on the converter's hot path (every
// tag of every written post); a prototype-less object, a Map and hand-written JavaScript hash tables
// each spent ~80 ns a tag hashing and looking up freshly made strings (a third of the converter's CPU
// time). The table lives in a small WebAssembly module (tag-table.wat) instead, and a dataset line is
// counted in one call: its UTF-8 bytes are split at "," and hashed 8 bytes at a time (~15 ns a tag).
import { instantiateEmbedded } from '../util/wasm';
import { TAG_TABLE_WASM_BASE64 } from './tag-table-wasm';

declare global {
  interface String {
    /** ES2024, in Node 20: false when the string holds a lone surrogate (not in this project's ES2022 lib). */
    isWellFormed(): boolean;
  }
}

interface TagTableExports {
  memory: { buffer: ArrayBuffer };
  input(bytes: number): number;
  size(): number;
  entries(): number;
  addTag(bytes: number, count: number): void;
  removeTag(bytes: number): number;
  countLine(bytes: number, expectedTags: number): number;
}

/** Entry layout in the module's memory (see tag-table.wat). */
const ENTRY_BYTES = 24;
const KEY_POINTER = 4;
const KEY_LENGTH = 8;
const COUNT = 16;

export class TagCounter {
  /** Tags counted, repeats included. */
  total = 0;
  private readonly table: TagTableExports;
  /** A view of the module's memory; when the memory grows the view is detached (length 0) and remade. */
  private memory: Buffer;
  private input: number;
  private inputBytes = 0;
  /**
   * Tags with a lone surrogate (possible through JSON "\ud800" escapes): as UTF-8 they would merge with
   * U+FFFD, so they are counted by string here.
   */
  private readonly illFormed = new Map<string, number>();

  constructor() {
    this.table = instantiateEmbedded<TagTableExports>(TAG_TABLE_WASM_BASE64);
    this.input = this.table.input(0);
    this.memory = Buffer.from(this.table.memory.buffer);
  }

  /**
   * Counts each tag of the lists once. `joined`, when given, must be exactly the same tags joined by ","
   * (the dataset line): then it is counted as it is, without joining them again.
   */
  addTags(lists: readonly (readonly string[])[], joined?: string): void {
    let tagCount = 0;
    for (const list of lists) tagCount += list.length;
    if (tagCount === 0) return;
    const line = joined ?? (lists.length === 1 ? lists[0].join(',') : lists.flat().join(','));
    // countLine refuses (and counts nothing) when the line does not split into tagCount tags: a tag holds ",".
    if (line.isWellFormed() && this.table.countLine(this.writeInput(line), tagCount) === 1) {
      this.total += tagCount;
      return;
    }
    for (const list of lists) for (const tag of list) this.add(tag);
  }

  /**
   * Counts the tags of a dataset line already encoded as UTF-8 (bytes[start, end), no "\n"): tagCount
   * tags joined by ",", none of which holds "," (the fast path's lines).
   */
  addJoinedBytes(bytes: Buffer, start: number, end: number, tagCount: number): void {
    if (tagCount === 0) return;
    const length = end - start;
    this.reserveInput(length);
    bytes.copy(this.memory, this.input, start, end);
    if (this.table.countLine(length, tagCount) === 1) {
      this.total += tagCount;
      return;
    }
    for (const tag of bytes.toString('utf8', start, end).split(',')) this.add(tag);
  }

  add(tag: string, count = 1): void {
    this.total += count;
    if (!tag.isWellFormed()) this.illFormed.set(tag, (this.illFormed.get(tag) ?? 0) + count);
    else this.table.addTag(this.writeInput(tag), count);
  }

  /** Takes back one count of a tag counted before. */
  remove(tag: string): void {
    if (!tag.isWellFormed()) {
      const count = this.illFormed.get(tag);
      if (count === undefined || count === 0) return;
      this.illFormed.set(tag, count - 1);
      this.total--;
    } else if (this.table.removeTag(this.writeInput(tag)) === 1) {
      this.total--;
    }
  }

  /** [tag, count] of every tag counted at least once. */
  entries(): [string, number][] {
    const entries: [string, number][] = [];
    const size = this.table.size();
    const first = this.table.entries();
    const view = new DataView(this.table.memory.buffer);
    const bytes = Buffer.from(this.table.memory.buffer);
    for (let entry = first; entry < first + size * ENTRY_BYTES; entry += ENTRY_BYTES) {
      const count = view.getFloat64(entry + COUNT, true);
      if (count <= 0) continue;
      const key = view.getInt32(entry + KEY_POINTER, true);
      entries.push([bytes.toString('utf8', key, key + view.getInt32(entry + KEY_LENGTH, true)), count]);
    }
    for (const [tag, count] of this.illFormed) if (count > 0) entries.push([tag, count]);
    return entries;
  }

  get distinct(): number {
    return this.entries().length;
  }

  /** Writes the text as UTF-8 into the module's input area; returns its length in bytes. */
  private writeInput(text: string): number {
    this.reserveInput(text.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
    return this.memory.write(text, this.input);
  }

  /** Makes the input area hold at least `bytes`, and the memory view current (growing detaches it). */
  private reserveInput(bytes: number): void {
    if (bytes > this.inputBytes) {
      this.inputBytes = Math.max(bytes, 1 << 16);
      this.input = this.table.input(this.inputBytes);
    }
    if (this.memory.length === 0) this.memory = Buffer.from(this.table.memory.buffer);
  }
}
