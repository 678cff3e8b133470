// Lines of a text stream for the JSON-lines commands. Not node:readline: it also ends a line at a lone
// "\r", which is legal whitespace inside a JSON line, so one request would get two answers.
import { StringDecoder } from 'node:string_decoder';

/**
 * The stream's lines without their "\n" or "\r\n"; a byte-order mark at the start is dropped. Each
 * chunk is searched once: a line that spans many chunks is kept as its pieces and joined once, so a
 * 100 MB line costs what it weighs, not its length times its chunks.
 */
export async function* inputLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  /** The pieces of the line not ended yet. */
  const pieces: string[] = [];
  let first = true;
  const take = (line: string): string => {
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  };
  const ended = (last: string): string => {
    pieces.push(last);
    const line = pieces.join('');
    pieces.length = 0;
    return take(line);
  };
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield ended(text.slice(start, end));
      start = end + 1;
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
  pieces.push(decoder.end());
  const rest = pieces.join('');
  if (rest) yield take(rest);
}
