import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { convertMetadata } from '../../src/dataset/convert';
import { JsonLinesScanner, type FastRecord } from '../../src/dataset/json-lines';
import { PostAdapter, isRecordProblem } from '../../src/dataset/schema';
import type { ConvertOptions, ConvertSummary } from '../../src/dataset/types';
import { createRandom } from '../../src/util/random';
import { apiLines, expectedLine, gwernLine, readLines, tempDir } from './convert-helpers';

// The JSONL fast path (json-lines.wat) must give exactly what the ordinary path (JSON.parse +
// PostAdapter) gives: same dataset, count table and summary, problems included. Each test converts the
// same input both ways and compares.

/** Lines that are valid but unusual where the fast path reads, or not JSON at all. */
const HANDMADE = [
  '{"id": 1 , "tags" : [ {"name":"a","category":"0"} , {"name":"b","category":0} ] , "rating":"g"}',
  '\t{"id":2,"tag_string_general":"  x  y   z ","rating":null,"score":null,"is_deleted":null}  ',
  '{"id":3.0,"tag_string_general":"a","score":"-0","is_deleted":"true"}',
  '{"id":"4.","tag_string_general":"a","score":-7,"is_deleted":1}',
  '{"id":"0005","tag_string_general":"a","score":"12","is_deleted":0}',
  '{"id":6,"tag_string_general":"a,b c"}',
  '{"id":7,"tags":[{"name":"a,b","category":"0"}]}',
  '{"id":8,"tag_string_general":"caf\\u00e9 b"}',
  '{"id":9,"tags":[{"name":"x","category":"0","name":"y"}]}',
  '{"id":10,"id":11,"tag_string_general":"a"}',
  '{"i\\u0064":12,"tag_string_general":"a"}',
  '{"id":13,"tag_string_general":"a","tags":null}',
  '{"id":14,"tag_string_general":"a","tags":[]}',
  '{"id":15,"tag_string_general":""}',
  '{"id":16}',
  '{}',
  '[]',
  '"text"',
  '{"id":17,"tag_string_general":"a","score":1e3,"extra":[1,-2.5e-3,true,false,null,{"k":[[]]},"s\\"\\\\\\/\\b\\f\\n\\r\\t\\u12aF"]}',
  '{"id":51,"tag_string_general":"a","extra":[1,-2.5e-3,0.0,1E+2,true,false,null,{"k":[[]],"":{}},"s\\"\\\\\\/\\b\\f\\n\\r\\t\\u12aF"]}',
  '{"id":18,"tag_string_general":"a","extra":01}',
  '{"id":19,"tag_string_general":"a","extra":[1,]}',
  '{"id":20,"tag_string_general":"a",}',
  '{"id":21,"tag_string_general":"a","extra":"\\x"}',
  '{"id":22,"tag_string_general":"a","extra":"\\u12g4"}',
  '{"id":23,"tag_string_general":"a","extra":tru}',
  '{"id":24,"tag_string_general":"a","extra":-}',
  '{"id":25,"tag_string_general":"a","extra":1.}',
  '{"id":26,"tag_string_general":"a","extra":.5}',
  '{"id":27,"tag_string_general":"a","extra":"tab\there"}',
  '{"id":28,"tag_string_general":"a"} x',
  '{"id":29,"tag_string_general":"a"}\r',
  '{"id":-30,"tag_string_general":"a"}',
  '{"id":31.5,"tag_string_general":"a"}',
  '{"id":"32a","tag_string_general":"a"}',
  '{"id":33,"tag_string_general":"a","rating":"gs"}',
  '{"id":34,"tag_string_general":"a","rating":""}',
  '{"id":35,"tag_string_general":"a","is_deleted":2}',
  '{"id":36,"tag_string_general":"a","is_deleted":"yes"}',
  '{"id":37,"tag_string_general":"a","score":"1.5"}',
  '{"id":38,"tag_string_general":"a","score":true}',
  '{"id":39,"tags":[{"name":"","category":"0"}]}',
  '{"id":40,"tags":[{"name":"a","category":"10"}]}',
  '{"id":41,"tags":[{"name":"a"}]}',
  '{"id":42,"tags":[{"name":"a","category":"4"},{"name":"b","category":4}]}',
  '{"id":43,"tags":["a"]}',
  '{"id":44,"tags":{"name":"a"}}',
  '{"id":45,"tag_string_general":5}',
  '{"id":46,"tag_string_general":"a","extra":' + '['.repeat(1200) + ']'.repeat(1200) + '}',
  '{"id":47,"tag_string_general":"a","extra":' + '{"k":'.repeat(50) + '1' + '}'.repeat(50) + '}',
  '{"id":48,"tag_string_general":"ナース a"}',
  '{"id":99999999999999999,"tag_string_general":"a"}',
  '{"id":"9007199254740993","tag_string_general":"a"}',
  '{"id":49,"tag_string_general":"a","is_deleted":18446744073709551616}',
  '{"id":50,"tag_string_character":"c1 c2","tag_string_general":"g"}',
  '',
  '   ',
];

/** Real lines, each changed at random: a byte replaced, removed or added, or the line cut short. */
function mutatedLines(count: number, seed: number): string[] {
  const next = createRandom(seed);
  const sources = [...apiLines(), gwernLine()];
  const alphabet = '"{}[],:\\ \t0123456789-+.eEtrufalsn_xé\r';
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = sources[Math.floor(next() * sources.length)];
    const at = Math.floor(next() * line.length);
    const char = alphabet[Math.floor(next() * alphabet.length)];
    const kind = Math.floor(next() * 4);
    if (kind === 0) lines.push(line.slice(0, at) + char + line.slice(at + 1));
    else if (kind === 1) lines.push(line.slice(0, at) + line.slice(at + 1));
    else if (kind === 2) lines.push(line.slice(0, at) + char + line.slice(at));
    else lines.push(line.slice(0, at));
  }
  return lines;
}

async function convertBothWays(dir: string, inputs: string[], options: Partial<ConvertOptions>, label: string): Promise<ConvertSummary> {
  const run = (fastJsonLines: boolean, name: string): Promise<ConvertSummary> =>
    convertMetadata({ inputs, output: path.join(dir, name), fastJsonLines, ...options });
  const fast = await run(true, 'fast.txt');
  const slow = await run(false, 'slow.txt');
  assert.deepEqual(readLines(path.join(dir, 'fast.txt')), readLines(path.join(dir, 'slow.txt')), `${label}: dataset`);
  assert.deepEqual(readLines(path.join(dir, 'fast.txt.counts.csv')), readLines(path.join(dir, 'slow.txt.counts.csv')), `${label}: count table`);
  const { seconds: _fastSeconds, output: _fastOutput, countsOutput: _fastCounts, ...fastRest } = fast;
  const { seconds: _slowSeconds, output: _slowOutput, countsOutput: _slowCounts, ...slowRest } = slow;
  assert.deepEqual(fastRest, slowRest, `${label}: summary`);
  return fast;
}

test('fast path: the real fixtures convert exactly as through JSON.parse, with every filter', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'posts.jsonl');
  // the gwern line first and last: the first line of a file always goes the ordinary way
  fs.writeFileSync(file, `${[gwernLine(), ...apiLines(), gwernLine()].join('\n')}\n`);
  const variants: Partial<ConvertOptions>[] = [
    {},
    { dedupe: false },
    { ratings: ['g', 's'] },
    { excludeDeleted: true, minScore: 5 },
    { minTags: 25 },
    { categories: ['character'] },
    { categories: ['copyright'], dedupe: false },
    { limit: 7 },
  ];
  for (const variant of variants) {
    const summary = await convertBothWays(dir, [file], variant, JSON.stringify(variant));
    assert.ok(summary.postsRead > 0);
  }
  const plain = await convertMetadata({ inputs: [file], output: path.join(dir, 'plain.txt'), dedupe: false });
  assert.equal(plain.postsWritten, 32);
  assert.deepEqual(readLines(path.join(dir, 'plain.txt'))[1], expectedLine(JSON.parse(apiLines()[0]) as Record<string, unknown>));
});

test('fast path: unusual, invalid and mutated lines give the same dataset, counts and problems', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'mixed.jsonl');
  const lines = [gwernLine(), ...HANDMADE, ...mutatedLines(3000, 11), ...apiLines()];
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  for (const variant of [{ dedupe: false }, {}, { ratings: ['e'], minTags: 2 }, { categories: ['character' as const], dedupe: false }]) {
    const summary = await convertBothWays(dir, [file], variant, `mixed ${JSON.stringify(variant)}`);
    assert.ok(summary.badRecords > 500, 'the mutations make many bad lines');
  }
});

/** Lines with UTF-8 well-formed or not (overlong, surrogate, beyond U+10FFFF, cut short, stray bytes), and control bytes (DEL too), as bytes. */
function utf8Lines(seed: number): Buffer[] {
  const sequences = ['c3a9', 'e3838a', 'f09f8e80', 'efbfbd', 'efbbbf', 'c0af', 'c1bf', 'e080af', 'eda080', 'edbfbf', 'f48f8080', 'f4908080', 'f5808080', '80', 'bf', 'c3', 'e383', 'f09f8e', 'c328', 'e38328', 'ff', '7f', '01', '1f'];
  const lines: Buffer[] = [];
  for (const hex of sequences) {
    const bytes = Buffer.from(hex, 'hex');
    const around = (before: string, after: string): Buffer => Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
    lines.push(around('{"id":1,"tag_string_general":"a', ' b"}'));
    lines.push(around('{"id":2,"tags":[{"name":"x', '","category":"0"}]}'));
    lines.push(around('{"id":3,"tag_string_general":"a","source":"', '"}'));
    lines.push(around('{"id":4,"tag_string_general":"a",', '"k":1}'));
    lines.push(around('{"id":5,"tag_string_general":"a","rating":"', '"}'));
  }
  // and real lines with random high bytes put in
  const next = createRandom(seed);
  const sources = [...apiLines(), gwernLine()].map((line) => Buffer.from(line));
  for (let i = 0; i < 1500; i++) {
    const line = sources[Math.floor(next() * sources.length)];
    const at = Math.floor(next() * line.length);
    const insert = Buffer.from(sequences[Math.floor(next() * sequences.length)], 'hex');
    lines.push(Buffer.concat([line.subarray(0, at), insert, line.subarray(next() < 0.5 ? at : at + 1)]));
  }
  return lines;
}

test('fast path: well-formed and broken UTF-8 give the same dataset, counts and problems', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'utf8.jsonl');
  const lines = [Buffer.from(gwernLine()), ...utf8Lines(3), ...apiLines().map((line) => Buffer.from(line))];
  fs.writeFileSync(file, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
  for (const variant of [{ dedupe: false }, { ratings: ['g', 's'] }, { categories: ['character' as const], dedupe: false }]) {
    const summary = await convertBothWays(dir, [file], variant, `utf8 ${JSON.stringify(variant)}`);
    assert.ok((summary.problems['invalid-utf8'] ?? 0) > 100, 'many lines are not UTF-8');
  }
});

test('fast path: a line the scanner reads FAST is valid JSON and reads as PostAdapter reads it', () => {
  const lines = [...HANDMADE, ...mutatedLines(4000, 5), ...apiLines(), gwernLine()];
  const scanner = new JsonLinesScanner('general', 1 << 20);
  const adapter = new PostAdapter(['general']);
  const block = Buffer.from(`${lines.join('\n')}\n`);
  let fast = 0;
  let index = 0;
  scanner.scanBlock(block, 0, block.length, {
    fast: (record: FastRecord) => {
      const line = lines[index++];
      fast++;
      const post = adapter.adapt(JSON.parse(line));
      assert.ok(!isRecordProblem(post), line);
      assert.deepEqual(
        { id: record.id, rating: record.rating, score: record.score, deleted: record.deleted, tags: record.bytes.toString('utf8', record.start, record.end) },
        { id: post.id, rating: post.rating, score: post.score, deleted: post.deleted, tags: `${post.tags[0].join(',')}\n` },
        line,
      );
      assert.equal(record.tagCount, post.tags[0].length, line);
    },
    slow: (bytes) => {
      assert.equal(bytes.toString('utf8'), lines[index++]);
    },
  });
  assert.equal(index, lines.length);
  // The real records all take the fast path; the valid mutations mostly do.
  assert.ok(fast > lines.length / 4, `only ${fast} of ${lines.length} lines were read fast`);
});
