// Records stage for a JSON array of posts: splits raw bytes into the array's items, counting lines as it
// goes, and parses each item with JSON.parse, exactly as a JSONL line is read. A syntax error ends the
// file, but every item completed before it has been handed on, and the error is reported with its item
// number and file line. (stream-json's parser throws away the tokens of the
// chunk it fails in, and knows no line, which lost the items before an error in the same chunk.)
import { BoundedBytes, decodeUtf8, formatBytes } from './lines';
import type { ProblemReason } from './types';

export interface ArrayItemHandler {
  /** An item, parsed; `line` is the file line it starts on. */
  item(value: unknown, itemNumber: number, line: number): void;
  problem(itemNumber: number | undefined, line: number, reason: ProblemReason, detail: string): void;
}

const enum State {
  /** Before the opening "[". */
  Start,
  /** After "[": an item or "]". */
  FirstItem,
  /** After ",": an item. */
  NextItem,
  InItem,
  /** After an item: "," or "]". */
  AfterItem,
  /** After the closing "]": whitespace only. */
  End,
  /** A syntax error was reported; the rest of the file is skipped. */
  Stopped,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;

/** JSON's four whitespace bytes (space, \n, \r, tab). */
export function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === NEWLINE || byte === 0x0d || byte === 0x09;
}

export class JsonArraySplitter {
  /** Items started so far (complete, bad or in progress). */
  itemNumber = 0;
  /** 1-based line of the byte being read. */
  line = 1;
  private state = State.Start;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** An item that is not an object, array or string ends at whitespace, "," or "]". */
  private scalar = false;
  private itemLine = 1;
  /** The item being read, across chunks. */
  private readonly item: BoundedBytes;

  /**
   * `values`: the file is JSON values one after another, not an array: a post saved pretty-printed
   * (`/posts/ID.json`), or several; each is an item, and no "[", "," or "]" is expected.
   */
  constructor(
    private readonly handler: ArrayItemHandler,
    private readonly maxItemBytes: number,
    private readonly values = false,
  ) {
    this.item = new BoundedBytes(maxItemBytes);
    if (values) this.state = State.NextItem;
  }

  /** Items read to their end (the one in progress, if any, not included). */
  get itemsDone(): number {
    return this.state === State.InItem ? this.itemNumber - 1 : this.itemNumber;
  }

  /** Whether a syntax error ended the array (the caller can stop reading the file). */
  get stopped(): boolean {
    return this.state === State.Stopped;
  }

  push(chunk: Buffer): void {
    let itemStart = this.state === State.InItem ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      switch (this.state) {
        case State.InItem:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (byte === BACKSLASH) this.escaped = true;
            else if (byte === QUOTE) {
              this.inString = false;
              if (this.depth === 0) {
                this.finishItem(chunk, itemStart, i + 1);
                itemStart = -1;
              }
            }
          } else if (this.scalar) {
            if (isJsonSpace(byte) || byte === COMMA || byte === CLOSE_BRACKET || (this.values && (byte === OPEN_BRACE || byte === OPEN_BRACKET || byte === QUOTE))) {
              this.finishItem(chunk, itemStart, i);
              itemStart = -1;
              i--; // the delimiter is read again, after the item
              continue;
            }
          } else if (byte === QUOTE) this.inString = true;
          else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
          else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            if (--this.depth === 0) {
              this.finishItem(chunk, itemStart, i + 1);
              itemStart = -1;
            }
          }
          break;
        case State.Start:
          if (byte === OPEN_BRACKET) this.state = State.FirstItem;
          else if (!isJsonSpace(byte)) this.syntaxError(undefined, `expected "[" to open the array, got ${describeByte(byte)}`);
          break;
        case State.FirstItem:
        case State.NextItem:
          if (byte === CLOSE_BRACKET && this.state === State.FirstItem) this.state = State.End;
          else if (byte === CLOSE_BRACKET || byte === COMMA) {
            const expected = this.values
              ? `a JSON value${this.itemNumber > 0 ? ` after value ${this.itemNumber}` : ''}`
              : `an item after ${this.state === State.FirstItem ? '"["' : '","'}`;
            this.syntaxError(this.itemNumber + 1, `expected ${expected}, got ${describeByte(byte)}`);
          } else if (!isJsonSpace(byte)) {
            this.startItem(byte);
            itemStart = i;
            i--; // the item's first byte is read again, inside the item
          }
          break;
        case State.AfterItem:
          if (this.values) {
            // The next value starts (whitespace between values, none needed after an object).
            if (!isJsonSpace(byte)) {
              this.state = State.NextItem;
              i--;
              continue;
            }
          } else if (byte === COMMA) this.state = State.NextItem;
          else if (byte === CLOSE_BRACKET) this.state = State.End;
          else if (!isJsonSpace(byte)) this.syntaxError(this.itemNumber + 1, `expected "," or "]" after item ${this.itemNumber}, got ${describeByte(byte)}`);
          break;
        case State.End:
          if (!isJsonSpace(byte)) {
            this.state = State.Stopped;
            this.handler.problem(undefined, this.line, 'invalid-json', `unexpected ${describeByte(byte)} after the array's closing "]" (the rest of the file is skipped; all ${this.itemNumber} items were read)`);
          }
          break;
        case State.Stopped:
          return;
      }
      if (byte === NEWLINE) this.line++;
    }
    // Inside an item itemStart is where it started in this chunk (0 when it began in an earlier one).
    if (this.state === State.InItem) this.item.push(chunk.subarray(itemStart));
  }

  /** The input ended: reports an array left open. */
  end(): void {
    if (this.state === State.InItem && this.scalar && !this.inString) {
      this.finishItem(Buffer.alloc(0), 0, 0);
    }
    switch (this.state) {
      case State.Start:
        break;
      case State.InItem:
        this.state = State.Stopped;
        this.handler.problem(this.itemNumber, this.line, 'truncated-json', `the file ends inside item ${this.itemNumber} (skipped); the items before are kept`);
        break;
      case State.FirstItem:
      case State.NextItem:
      case State.AfterItem:
        // Values one after another end with the file.
        if (this.values) break;
        this.state = State.Stopped;
        this.handler.problem(undefined, this.line, 'truncated-json', `the file ends before the array's closing "]"; all ${this.itemNumber} items before are kept`);
        break;
      default:
        break;
    }
  }

  private startItem(byte: number): void {
    this.state = State.InItem;
    this.itemNumber++;
    this.itemLine = this.line;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = byte !== OPEN_BRACE && byte !== OPEN_BRACKET && byte !== QUOTE;
    this.item.take();
  }

  private finishItem(chunk: Buffer, start: number, end: number): void {
    this.state = State.AfterItem;
    this.item.push(chunk.subarray(start, end));
    const { itemNumber, itemLine } = this;
    const size = this.item.bytes;
    const bytes = this.item.take();
    if (bytes === undefined) {
      this.handler.problem(itemNumber, itemLine, 'line-too-long', `item of ${formatBytes(size)} is over the ${formatBytes(this.maxItemBytes)} limit (skipped)`);
      return;
    }
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      this.handler.problem(itemNumber, itemLine, 'invalid-utf8', 'item is not valid UTF-8 (skipped)');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /at position (\d+)/.exec(message);
      const errorLine = itemLine + (position === null ? 0 : countNewlines(text, Number(position[1])));
      this.state = State.Stopped;
      this.handler.problem(itemNumber, errorLine, 'invalid-json', `${message}; the items before are kept, the rest of the file is skipped`);
      return;
    }
    this.handler.item(value, itemNumber, itemLine);
  }

  private syntaxError(itemNumber: number | undefined, detail: string): void {
    this.state = State.Stopped;
    this.handler.problem(itemNumber, this.line, 'invalid-json', `${detail}; the items before are kept, the rest of the file is skipped`);
  }
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function describeByte(byte: number): string {
  return byte >= 0x21 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}

