// An open document kept as an array of lines, as VS Code keeps its own. The library's TextDocument
// keeps one string and rebuilds it on every edit: in a converted dataset opened as `.tags` (76 MB
// for 200k posts), the first read after each keystroke then copied the whole text (~40 ms), whoever
// read it (the completion or the check). Here an edit replaces the lines it touches, by line and
// column; the line offsets after them are made again only when an offset is asked for (an edit
// that moved them all made applying Fix All's 59,000 changes to a 200,000-line file take 24 s);
// reading a line never copies the document.
import type { Position, Range, TextDocument, TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';

export class LineDocument implements TextDocument {
  /** Each line's text, without its line break. */
  private lines: string[] = [];
  /** Each line's break (`''` for the last line). */
  private breaks: string[] = [];
  /** Where each line starts in the text: starts[0 .. validStarts - 1] are up to date (ensureStarts). */
  private starts: number[] = [];
  private validStarts = 0;
  private textLength = 0;

  constructor(
    readonly uri: string,
    readonly languageId: string,
    private documentVersion: number,
    text: string,
  ) {
    this.replaceLines(0, 0, text, '');
  }

  static create(uri: string, languageId: string, version: number, text: string): LineDocument {
    return new LineDocument(uri, languageId, version, text);
  }

  /** Applies changes in order (each change's range is in the text the changes before it left), as TextDocument.update does. */
  static update(document: LineDocument, changes: TextDocumentContentChangeEvent[], version: number): LineDocument {
    for (const change of changes) document.apply(change);
    document.documentVersion = version;
    return document;
  }

  get version(): number {
    return this.documentVersion;
  }

  get lineCount(): number {
    return this.lines.length;
  }

  get length(): number {
    return this.textLength;
  }

  /**
   * Whether a position a client sent is in the text: on one of its lines, at a column from 0 (past a
   * line's end is its end, as LSP says). No editor sends others; an edit made at one would be out of the document.
   */
  holds(position: Position): boolean {
    return Number.isInteger(position.line) && Number.isInteger(position.character) && position.line >= 0 && position.line < this.lines.length && position.character >= 0;
  }

  /** The text of one line, without its line break. */
  line(line: number): string {
    return this.lines[line] ?? '';
  }

  getText(range?: Range): string {
    if (!range) {
      const pieces: string[] = [];
      for (let line = 0; line < this.lines.length; line++) pieces.push(this.lines[line]!, this.breaks[line]!);
      return pieces.join('');
    }
    // A range given end first is read start first, as String.substring (and so TextDocument) does.
    const [[first, from], [last, to]] = this.ordered(range.start, range.end);
    if (first === last) return this.lines[first]!.slice(from, to);
    const pieces = [this.lines[first]!.slice(from), this.breaks[first]!];
    for (let line = first + 1; line < last; line++) pieces.push(this.lines[line]!, this.breaks[line]!);
    pieces.push(this.lines[last]!.slice(0, to));
    return pieces.join('');
  }

  positionAt(offset: number): Position {
    offset = Math.max(0, Math.min(offset, this.textLength));
    const line = this.lineAt(offset);
    return { line, character: Math.min(offset - this.starts[line]!, this.lines[line]!.length) };
  }

  offsetAt(position: Position): number {
    const [line, character] = this.clamped(position);
    this.ensureStarts(line);
    return this.starts[line]! + character;
  }

  /** The line that holds a text offset (a line break belongs to its line). */
  lineAt(offset: number): number {
    this.ensureStarts(this.lines.length - 1);
    const starts = this.starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /**
   * A position as (line, character) in the text, clamped as offsetAt clamps it: past the end of its
   * line (or inside its line break) is its end, before the text its start, past it its end.
   */
  private clamped(position: Position): [line: number, character: number] {
    const last = this.lines.length - 1;
    if (position.line > last) return [last, this.lines[last]!.length];
    if (position.line < 0) return [0, 0];
    return [position.line, Math.max(0, Math.min(position.character, this.lines[position.line]!.length))];
  }

  /** Two positions clamped, the earlier first. */
  private ordered(a: Position, b: Position): [[number, number], [number, number]] {
    const start = this.clamped(a);
    const end = this.clamped(b);
    return end[0] < start[0] || (end[0] === start[0] && end[1] < start[1]) ? [end, start] : [start, end];
  }

  /** Makes starts[0 .. line] up to date. */
  private ensureStarts(line: number): void {
    if (line < this.validStarts) return;
    const starts = this.starts;
    let at = this.validStarts;
    let offset = at === 0 ? 0 : starts[at - 1]! + this.lines[at - 1]!.length + this.breaks[at - 1]!.length;
    for (; at <= line; at++) {
      starts[at] = offset;
      offset += this.lines[at]!.length + this.breaks[at]!.length;
    }
    this.validStarts = at;
  }

  private apply(change: TextDocumentContentChangeEvent): void {
    if (!('range' in change)) {
      this.replaceLines(0, this.lines.length, change.text, '');
      return;
    }
    // By line and column: no offsets, which every earlier change of the notification moved.
    const [[start, startCharacter], [last, endCharacter]] = this.ordered(change.range.start, change.range.end);
    let first = start;
    let before = this.lines[first]!.slice(0, startCharacter);
    const after = this.lines[last]!.slice(endCharacter);
    // A `\n` that comes right after a line ending in `\r` makes one `\r\n` with it: that line is rewritten too.
    if (before === '' && first > 0 && this.breaks[first - 1] === '\r' && (change.text || after || this.breaks[last]!).startsWith('\n')) {
      first--;
      before = this.lines[first]! + '\r';
    }
    this.replaceLines(first, last + 1, before + change.text + after, this.breaks[last]!);
  }

  /**
   * Replaces lines [from, to) with the lines of `text` followed by `lastBreak` (the break of the last
   * line replaced; '' at the end of the document); the offsets from `from` on are made again when asked.
   */
  private replaceLines(from: number, to: number, text: string, lastBreak: string): void {
    const lines: string[] = [];
    const breaks: string[] = [];
    const whole = text + lastBreak;
    const reader = new LineReader(whole);
    for (let line = reader.next(); line !== undefined; line = reader.next()) {
      lines.push(line);
      breaks.push(reader.lineBreak);
    }
    // The empty text after the last break is a line of its own only at the end of the document.
    if (lastBreak !== '') {
      lines.pop();
      breaks.pop();
    }
    let removed = 0;
    for (let line = from; line < to; line++) removed += this.lines[line]!.length + this.breaks[line]!.length;
    let added = 0;
    for (let line = 0; line < lines.length; line++) added += lines[line]!.length + breaks[line]!.length;
    if (from === 0 && to === this.lines.length) {
      this.lines = lines;
      this.breaks = breaks;
    } else if (lines.length === to - from) {
      // As many lines as before (an edit within lines, as most are): nothing moves.
      for (let line = 0; line < lines.length; line++) {
        this.lines[from + line] = lines[line]!;
        this.breaks[from + line] = breaks[line]!;
      }
    } else if (lines.length < 10000) {
      this.lines.splice(from, to - from, ...lines);
      this.breaks.splice(from, to - from, ...breaks);
    } else {
      // A large paste: spreading it into splice's arguments would overflow the stack.
      this.lines = this.lines.slice(0, from).concat(lines, this.lines.slice(to));
      this.breaks = this.breaks.slice(0, from).concat(breaks, this.breaks.slice(to));
    }
    this.starts.length = this.lines.length;
    this.validStarts = Math.min(this.validStarts, from);
    this.textLength += added - removed;
  }
}

/**
 * Splits a text into lines as TextDocument numbers them (`\r\n`, `\n` or a lone `\r`), with native
 * searches: an empty text, or a text ending in a line break, ends with an empty line.
 */
class LineReader {
  private start = 0;
  /** The break after the line next() returned last ('' for the last line). */
  lineBreak = '';
  /** The next `\r` at or after `start`, or -1: searched again only once passed. */
  private carriageReturn = -1;

  constructor(private readonly text: string) {
    this.carriageReturn = text.indexOf('\r');
  }

  /** The next line, or undefined after the last one. */
  next(): string | undefined {
    const text = this.text;
    if (this.start > text.length) return undefined;
    if (this.carriageReturn >= 0 && this.carriageReturn < this.start) this.carriageReturn = text.indexOf('\r', this.start);
    const newline = text.indexOf('\n', this.start);
    let end = newline < 0 ? text.length : newline;
    if (this.carriageReturn >= 0 && this.carriageReturn < end) end = this.carriageReturn;
    const line = text.slice(this.start, end);
    this.lineBreak = end === text.length ? '' : text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? '\r\n' : text[end]!;
    this.start = end + Math.max(1, this.lineBreak.length);
    return line;
  }
}
