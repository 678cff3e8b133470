// inputLines: the JSON-lines commands' reader of standard input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputLines, NotUtf8Line } from '../../src/cli/input-lines';

/** The lines read, a line that is not UTF-8 as `<not UTF-8: N bytes>`. */
async function linesOf(chunks: (string | Buffer)[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of inputLines((async function* () {
    yield* chunks;
  })())) lines.push(line instanceof NotUtf8Line ? `<not UTF-8: ${line.bytes} bytes>` : line);
  return lines;
}

test('inputLines: lines across chunks, CRLF, a lone CR kept, empty lines, a last line without its newline, a BOM', async () => {
  assert.deepEqual(await linesOf(['\ufeff{"a":', '1}\r\n\n{"b":"x\ry"}\n', 'la', 's', 't']), ['{"a":1}', '', '{"b":"x\ry"}', 'last']);
  assert.deepEqual(await linesOf(['one\n']), ['one']);
  assert.deepEqual(await linesOf([]), []);
});

test('inputLines: a character split between chunks, and a line of many chunks, come out whole', async () => {
  const bytes = Buffer.from('长发, 微笑\n');
  assert.deepEqual(await linesOf([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)]), ['长发, 微笑']);
  const long = 'x'.repeat(1 << 20);
  const chunks = Array.from({ length: 64 }, (_, i) => long.slice(i << 14, (i + 1) << 14));
  assert.deepEqual(await linesOf([...chunks, '\nafter\n']), [long, 'after']);
});

test('inputLines: a line that is not UTF-8 is told apart (not read with U+FFFD), the lines around it read; a BOM at any line\'s start is dropped (files joined by cat)', async () => {
  const bad = Buffer.from('{"prefix":"\xff\xfe"}', 'latin1');
  assert.deepEqual(await linesOf([Buffer.from('{"a":1}\n'), bad, Buffer.from('\n{"b":"\ufffd"}\n')]), ['{"a":1}', `<not UTF-8: ${bad.length} bytes>`, '{"b":"\ufffd"}']);
  // A character cut between two chunks is no invalid byte.
  const cut = Buffer.from('{"p":"长"}\n');
  assert.deepEqual(await linesOf([cut.subarray(0, 7), cut.subarray(7)]), ['{"p":"长"}']);
  assert.deepEqual(await linesOf(['\ufeff{"a":1}\n\ufeff{"b":2}\r\n']), ['{"a":1}', '{"b":2}']);
});
