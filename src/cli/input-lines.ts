// Lines of a text stream for the JSON-lines commands. Not node:readline: it also ends a line at a lone
// "\r", which is legal whitespace inside a JSON line, so one request would get two answers.
import { isUtf8 } from 'node:buffer';

/** A line whose bytes are not UTF-8: answered with an error, not read with U+FFFD in place of its bytes. */
export class NotUtf8Line {
  constructor(readonly bytes: number) {}
}

const NEWLINE = 0x0a;

/**
 * The stream's lines without their "\n" or "\r\n"; a byte-order mark at a line's start is dropped (as
 * at the start of each file joined by `cat a b`). Each chunk is searched once: a line that spans many
 * chunks is kept as its pieces and joined once, so a 100 MB line costs what it weighs, not its length
 * times its chunks.
 */
export async function* inputLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string | NotUtf8Line> {
  /** The pieces of the line not ended yet. */
  const pieces: Buffer[] = [];
  const take = (bytes: Buffer): string | NotUtf8Line => {
    if (!isUtf8(bytes)) return new NotUtf8Line(bytes.length);
    let line = bytes.toString('utf8');
    if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  };
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      pieces.push(bytes.subarray(start, end));
      yield take(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
      pieces.length = 0;
      start = end + 1;
    }
    if (start < bytes.length) pieces.push(bytes.subarray(start));
  }
  if (pieces.length > 0) yield take(Buffer.concat(pieces));
}
