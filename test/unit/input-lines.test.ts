// inputLines: the JSON-lines commands' reader of standard input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputLines } from '../../src/cli/input-lines';

async function linesOf(chunks: (string | Buffer)[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of inputLines((async function* () {
    yield* chunks;
  })())) lines.push(line);
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
