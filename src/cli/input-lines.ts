// Lines of a text stream for the JSON-lines commands. Not node:readline: it also ends a line at a lone
// "\r", which is legal whitespace inside a JSON line, so one request would get two answers.
import { StringDecoder } from 'node:string_decoder';

/** The stream's lines without their "\n" or "\r\n"; a byte-order mark at the start is dropped. */
export async function* inputLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let first = true;
  const take = (line: string): string => {
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
      yield take(pending.slice(start, end));
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending) yield take(pending);
}
