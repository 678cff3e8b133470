// A second, independent check of the JSONL fast path: random posts built field by field (numbers,
// escapes, surrogates, duplicate and escaped keys, odd categories, whitespace), so that every line the
// WebAssembly scanner reads FAST must be valid JSON that PostAdapter reads the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLinesScanner, type FastRecord } from '../../src/dataset/json-lines';
import { PostAdapter, isRecordProblem } from '../../src/dataset/schema';
import { createRandom } from '../../src/util/random';

const r = createRandom(666);
const pick = <T,>(a: T[]): T => a[Math.floor(r() * a.length)];
const ws = () => r() < 0.9 ? '' : pick(['', '', '', ' ', '\t', '\n ', '\r', '  ']);
function str(): string {
  const parts = ['a', 'long_hair', 'x y', ' ', 'é', '\\u0041', '\\ud83c\\udf80', '\\ud800', '\\udc00', '\\"', '\\\\', '\\/', '\\n', '\\t', ',', 'ナ', '\\u0000', '\\u00e9', '\u2028', '😀'];
  let s = ''; const n = Math.floor(r() * 5); for (let i = 0; i < n; i++) s += pick(parts);
  return `"${s}"`;
}
function num(): string { if (r() < 0.7) return pick(['0', '1', '12', '-3', '1.0', '1e2', '"12"', '"7."', '-0', '1e400', '0.5']); return pick(['0', '-0', '1', '-1', '1.0', '1.5', '1e3', '1E400', '-1e400', '1e-400', '9007199254740993', '123456789012345678901234567890', '3.0e0', '0.0000', '12', '"12"', '"1.0"', '"-3"', '" 4"', '"4 "', '"1e2"', '"0x10"', '""', 'true', 'false', 'null', '[]', '{}', str()]); }
function value(depth: number): string {
  const k = Math.floor(r() * 6);
  if (depth > 2 || k < 2) return pick([num(), str()]);
  if (k < 4) { const n = Math.floor(r() * 3); return `[${ws()}${Array.from({ length: n }, () => value(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`; }
  return obj(depth + 1, ['a', 'name', 'category', 'id']);
}
function tagObj(): string {
  const fields = [];
  if (r() < 0.95) fields.push(`"name":${ws()}${r() < 0.8 ? `"${pick(['a', 'b', 'long_hair', 'c,d', 'é', 'x\\u0079'])}"` : value(3)}`);
  if (r() < 0.95) fields.push(`"category":${ws()}${r() < 0.8 ? pick(['"0"', '0', '"4"', '"1"']) : pick(['"0"', '0', '"4"', '4', '"1"', '"00"', '0.0', '"0.0"', '"-0"', '-0', '"10"', '256', '"a"', 'null', '""', '"٠"'])}`);
  if (r() < 0.3) fields.push(`"id":"${Math.floor(r() * 100)}"`);
  if (r() < 0.1) fields.push(pick(fields) ?? '"x":1');
  return `{${fields.sort(() => r() - 0.5).join(',')}}`;
}
function obj(depth: number, keys: string[]): string {
  const n = Math.floor(r() * 4);
  return `{${Array.from({ length: n }, () => `"${pick(keys)}":${ws()}${value(depth)}`).join(',')}}`;
}
function post(): string {
  const f: string[] = [];
  const add = (k: string, v: string) => f.push(`${ws()}"${k}"${ws()}:${ws()}${v}${ws()}`);
  if (r() < 0.9) add(pick(['id', 'id', 'id', 'i\\u0064']), r() < 0.8 ? String(Math.floor(r() * 1e6)) : num());
  if (r() < 0.5) add('rating', r() < 0.8 ? pick(['"g"', '"e"']) : pick(['"g"', '"s"', '"q"', '"e"', '""', 'null', '1', '"gs"', str()]));
  if (r() < 0.5) add('score', num());
  if (r() < 0.5) add('is_deleted', pick(['true', 'false', '0', '1', '"true"', '"false"', 'null', '2', '"yes"', '0.0', '1.0', '-0']));
  if (r() < 0.5) add('tags', r() < 0.95 ? `[${Array.from({ length: Math.floor(r() * 4) }, tagObj).join(',')}]` : value(1));
  if (r() < 0.6) add('tag_string_general', r() < 0.85 ? `"${Array.from({ length: Math.floor(r() * 4) }, () => pick(['a', 'b', 'long_hair', '', ' ', 'c,d', 'é', '\\u0020', '\\t', 'x\\ny'])).join(pick([' ', '  ', ' ']))}"` : value(1));
  if (r() < 0.3) add('tag_string_character', str());
  if (r() < 0.3) add('extra', value(0));
  if (r() < 0.05 && f.length) f.push(pick(f));
  f.sort(() => r() - 0.5);
  return `${ws()}{${f.join(',')}}${ws()}`.replace(/\n/g, ' ');
}

test('fast path fuzz: every line read fast is valid JSON and reads as JSON.parse + PostAdapter read it', () => {
  const lines: string[] = [];
  for (let i = 0; i < 30000; i++) lines.push(post());
  const scanner = new JsonLinesScanner('general', 1 << 20);
  const adapter = new PostAdapter(['general']);
  const block = Buffer.from(`${lines.join('\n')}\n`);
  let fast = 0; let index = 0; let mism = 0;
  scanner.scanBlock(block, 0, block.length, {
    fast: (record: FastRecord) => {
      const line = lines[index++]; fast++;
      let parsed: unknown;
      try { parsed = JSON.parse(line); } catch { assert.fail(`fast but invalid JSON: ${line}`); }
      const p = adapter.adapt(parsed);
      if (isRecordProblem(p)) assert.fail(`fast but problem ${p.detail}: ${line}`);
      const got = { id: record.id, rating: record.rating, score: record.score, deleted: record.deleted, tags: record.bytes.toString('utf8', record.start, record.end) };
      const want = { id: p.id, rating: p.rating, score: p.score, deleted: p.deleted, tags: `${p.tags[0].join(',')}\n` };
      if (JSON.stringify(got) !== JSON.stringify(want) || record.tagCount !== p.tags[0].length) { mism++; if (mism < 5) console.log('mismatch', line, got, want); }
    },
    slow: () => { index++; },
  });
  assert.equal(index, lines.length);
  assert.equal(mism, 0);
  assert.ok(fast > 1000, `only ${fast} lines were read fast`);
});

test('schema: a tag whose category is an empty string is a wrong type, not general (Number("") is 0)', () => {
  const adapter = new PostAdapter(['general']);
  const read = adapter.adapt({ id: 1, tags: [{ name: 'smile', category: '' }] });
  assert.ok(isRecordProblem(read));
  assert.equal(read.reason, 'wrong-type');
  const good = adapter.adapt({ id: 1, tags: [{ name: 'smile', category: '0' }] });
  assert.ok(!isRecordProblem(good));
  // Nor blanks, hexadecimal, binary, exponents or padding, which Number() reads; digits as an id's are categories.
  for (const category of ['  ', '\t\t', '0x1', '0b100', '4e0', ' 4', '4 ']) {
    const wrong = adapter.adapt({ id: 1, tags: [{ name: 'smile', category }] });
    assert.ok(isRecordProblem(wrong) && wrong.reason === 'wrong-type', JSON.stringify(category));
  }
  for (const category of ['00', '0.0', 0]) assert.deepEqual(adapter.adapt({ id: 1, tags: [{ name: 'smile', category }] }), { ...good });
});

test('schema: the messages show what the file holds: DEL and C1 controls escaped, an id past 2^53 said to be rounded', () => {
  const adapter = new PostAdapter(['general']);
  const del = adapter.adapt({ id: 1, tag_string_general: 'smile del\u007f' });
  assert.ok(isRecordProblem(del));
  assert.match(del.detail, /got the string "smile del\\u007f"/);
  const big = adapter.adapt(JSON.parse('{"id": 9007199254740993, "tag_string_general": "smile"}'));
  assert.ok(isRecordProblem(big));
  assert.equal(big.detail, '"id" should be a whole number below 2^53, got number 9007199254740992 (as read: digits past 2^53 are lost)');
});
