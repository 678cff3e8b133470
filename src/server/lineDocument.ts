// An open document kept as an array of lines, as VS Code keeps its own. The library's TextDocument
// keeps one string and rebuilds it on every edit: in a converted dataset opened as `.tags` (76 MB
// for 200k posts), the first read after each keystroke then copied the whole text (~40 ms), whoever
// read it (the completion or the check). Here an edit replaces the lines it touches and moves the
// line offsets after them; reading a line never copies the document.
import type { Position, Range, TextDocument, TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';

export class LineDocument implements TextDocument {
  /** Each line's text, without its line break. */
  private lines: string[] = [];
  /** Each line's break (`''` for the last line). */
  private breaks: string[] = [];
  /** Where each line starts in the text. */
  private starts: number[] = [];
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

  /** The text of one line, without its line break. */
  line(line: number): string {
    return this.lines[line] ?? '';
  }

  getText(range?: Range): string {
    if (!range) return this.slice(0, this.textLength);
    const start = this.offsetAt(range.start);
    const end = this.offsetAt(range.end);
    // A range given end first is read start first, as String.substring (and so TextDocument) does.
    return start <= end ? this.slice(start, end) : this.slice(end, start);
  }

  positionAt(offset: number): Position {
    offset = Math.max(0, Math.min(offset, this.textLength));
    const line = this.lineAt(offset);
    return { line, character: Math.min(offset - this.starts[line]!, this.lines[line]!.length) };
  }

  offsetAt(position: Position): number {
    if (position.line >= this.lines.length) return this.textLength;
    if (position.line < 0) return 0;
    // A position past the end of its line (or inside its line break) is its end, as in TextDocument.
    return this.starts[position.line]! + Math.max(0, Math.min(position.character, this.lines[position.line]!.length));
  }

  /** The line that holds a text offset (a line break belongs to its line). */
  lineAt(offset: number): number {
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

  private apply(change: TextDocumentContentChangeEvent): void {
    if (!('range' in change)) {
      this.replaceLines(0, this.lines.length, change.text, '');
      return;
    }
    let start = this.offsetAt(change.range.start);
    let end = this.offsetAt(change.range.end);
    if (end < start) [start, end] = [end, start];
    let first = this.lineAt(start);
    const last = this.lineAt(end);
    let before = this.lines[first]!.slice(0, start - this.starts[first]!);
    const after = this.lines[last]!.slice(end - this.starts[last]!);
    // A `\n` that comes right after a line ending in `\r` makes one `\r\n` with it: that line is rewritten too.
    if (before === '' && first > 0 && this.breaks[first - 1] === '\r' && (change.text || after || this.breaks[last]!).startsWith('\n')) {
      first--;
      before = this.lines[first]! + '\r';
    }
    this.replaceLines(first, last + 1, before + change.text + after, this.breaks[last]!);
  }

  /**
   * Replaces lines [from, to) with the lines of `text` followed by `lastBreak` (the break of the last
   * line replaced; '' at the end of the document), then moves the offsets of the lines after them.
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
    if (from === 0 && to === this.lines.length) {
      this.lines = lines;
      this.breaks = breaks;
    } else if (lines.length < 10000) {
      this.lines.splice(from, to - from, ...lines);
      this.breaks.splice(from, to - from, ...breaks);
    } else {
      // A large paste: spreading it into splice's arguments would overflow the stack.
      this.lines = this.lines.slice(0, from).concat(lines, this.lines.slice(to));
      this.breaks = this.breaks.slice(0, from).concat(breaks, this.breaks.slice(to));
    }
    const starts = this.starts;
    starts.length = this.lines.length;
    let offset = from === 0 ? 0 : starts[from - 1]! + this.lines[from - 1]!.length + this.breaks[from - 1]!.length;
    for (let line = from; line < this.lines.length; line++) {
      starts[line] = offset;
      offset += this.lines[line]!.length + this.breaks[line]!.length;
    }
    this.textLength = offset;
  }

  /** The text from one offset to another, built from the lines between them. */
  private slice(start: number, end: number): string {
    if (end <= start) return '';
    const first = this.lineAt(start);
    const pieces: string[] = [];
    for (let line = first; line < this.lines.length && this.starts[line]! < end; line++) pieces.push(this.lines[line]!, this.breaks[line]!);
    return pieces.join('').slice(start - this.starts[first]!, end - this.starts[first]!);
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
