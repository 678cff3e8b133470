import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TagCounter } from '../../src/dataset/tag-table';
import { JSON_LINES_WASM_BASE64 } from '../../src/dataset/json-lines-wasm';
import { TAG_TABLE_WASM_BASE64 } from '../../src/dataset/tag-table-wasm';
import { createRandom } from '../../src/util/random';

/** The oracle: a plain Map counting strings. */
function countWithMap(posts: string[][]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const tags of posts) for (const tag of tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return counts;
}

function sorted(entries: Iterable<[string, number]>): [string, number][] {
  return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Random tags of every length around the 8-byte words the table hashes, some sharing long prefixes. */
function randomPosts(count: number, seed: number): string[][] {
  const next = createRandom(seed);
  const alphabet = 'abcdefghij_()0123456789';
  const vocabulary = Array.from({ length: 30_000 }, (_, i) => {
    const length = 1 + Math.floor(next() * 40);
    let tag = i % 3 === 0 ? 'long_shared_prefix_' : '';
    while (tag.length < length) tag += alphabet[Math.floor(next() * alphabet.length)];
    return tag;
  });
  return Array.from({ length: count }, () => Array.from({ length: Math.floor(next() * 30) }, () => vocabulary[Math.floor(next() ** 2 * vocabulary.length)]));
}

test('tag table: counts as a Map would, through growth, joined lines and single tags', () => {
  const posts = randomPosts(20_000, 7);
  const counter = new TagCounter();
  posts.forEach((tags, i) => {
    if (i % 3 === 0) counter.addTags([tags], tags.join(','));
    else if (i % 3 === 1) counter.addTags([tags.slice(0, 3), tags.slice(3)]);
    else for (const tag of tags) counter.add(tag);
  });
  const expected = countWithMap(posts);
  assert.ok(expected.size > 20_000, 'enough distinct tags to make the table grow several times');
  assert.deepEqual(sorted(counter.entries()), sorted(expected));
  assert.equal(counter.total, posts.reduce((sum, tags) => sum + tags.length, 0));
  assert.equal(counter.distinct, expected.size);
});

test('tag table: tags with ",", non-ASCII, lone surrogates, U+FFFD and long tags are counted as themselves', () => {
  const posts = [
    ['a,b', 'a', 'b'],
    ['a', 'b'],
    ['ナース', 'café', 'ok'],
    ['\ud800x', '\ufffdx', 'x'],
    ['\ufffdx'],
    ['x'.repeat(70_000), 'y'],
    ['', 'a'],
    [','],
  ];
  const counter = new TagCounter();
  for (const tags of posts) counter.addTags([tags], tags.join(','));
  assert.deepEqual(sorted(counter.entries()), sorted(countWithMap(posts)));
});

test('tag table: remove takes back one count, never below zero, and never adds a tag', () => {
  const counter = new TagCounter();
  counter.addTags([['a', 'b', 'a']], 'a,b,a');
  counter.add('c', 5);
  counter.remove('a');
  counter.remove('b');
  counter.remove('b');
  counter.remove('never');
  assert.deepEqual(sorted(counter.entries()), [['a', 1], ['c', 5]]);
  assert.equal(counter.total, 6);
});

test('the committed WebAssembly modules are assembled from their .wat files as they are', () => {
  const script = path.join(__dirname, '..', '..', 'scripts', 'assemble-wasm.mjs');
  assert.ok(fs.existsSync(script));
  for (const [name, committed] of [['tag-table', TAG_TABLE_WASM_BASE64], ['json-lines', JSON_LINES_WASM_BASE64]]) {
    const assembled = execFileSync(process.execPath, [script, '--print', name], { encoding: 'utf8' }).trim();
    assert.equal(assembled, committed, `run node scripts/assemble-wasm.mjs after editing ${name}.wat`);
  }
});
