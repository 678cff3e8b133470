import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixture = path.join(root, 'test', 'fixtures', 'models', 'tiny-tag');

function run(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', cwd: root });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface CompletionLine {
  completions?: { tag: string; score: number; category: number; count: number }[];
  error?: string;
}

test('cli complete: one output line per input line, in order; a bad line gets an error and the rest go on', () => {
  const input = [
    JSON.stringify({ context: ['multiple_girls', '2girls'], prefix: 'lo', top: 5 }),
    'this is not json',
    JSON.stringify({ context: 'multiple_girls', prefix: 'lo' }),
    JSON.stringify({ context: ['long_hair'], prefix: 'sh', top: 3 }),
    JSON.stringify({ context: [], prefix: 'lo', top: 0 }),
    '',
  ].join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(lines.length, 5);
  assert.equal(lines[0].completions?.length, 5);
  for (const completion of lines[0].completions ?? []) {
    assert.deepEqual(Object.keys(completion).sort(), ['category', 'count', 'score', 'tag']);
    assert.ok(completion.tag.startsWith('lo'));
    assert.equal(completion.category, 0);
    assert.ok(completion.count > 0);
  }
  assert.match(lines[1].error ?? '', /not valid JSON/);
  assert.match(lines[2].error ?? '', /"context" must be an array of strings/);
  assert.equal(lines[3].completions?.length, 3);
  assert.ok(lines[3].completions?.every((completion) => completion.tag.startsWith('sh') && completion.tag !== 'long_hair'));
  assert.match(lines[4].error ?? '', /"top"/);
});

test('cli complete: a bad model folder is a clear error naming the file, exit 1', () => {
  const result = run(['complete', '--model', path.join(root, 'no-such-model')], '{}\n');
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no-such-model: model folder not found/);
});

test('cli sample: prompt lines start with the prompt, are deterministic for a seed, honour bans', () => {
  const args = ['sample', '--model', fixture, '--prompt', 'multiple_girls, long hair', '--n', '3', '--seed', '5'];
  const first = run([...args, '--max-tags', '12', '--ban', '*_background']);
  assert.equal(first.status, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) {
    const tags = line.split(', ');
    assert.deepEqual(tags.slice(0, 2), ['multiple_girls', 'long_hair']);
    assert.ok(tags.length <= 14);
    assert.equal(new Set(tags).size, tags.length);
    assert.ok(tags.every((tag) => !tag.endsWith('_background')));
  }
  assert.equal(run([...args, '--max-tags', '12', '--ban', '*_background']).stdout, first.stdout);
  const json = run([...args, '--max-tags', '12', '--ban', '*_background', '--json']);
  const parsed = JSON.parse(json.stdout) as { prompt: string[]; seed: number; samples: string[][] };
  assert.deepEqual(parsed.prompt, ['multiple_girls', 'long_hair']);
  assert.equal(parsed.seed, 5);
  assert.deepEqual(
    parsed.samples.map((tags) => tags.join(', ')),
    lines,
  );
});

test('cli sample: a bad flag value is an error', () => {
  const result = run(['sample', '--model', fixture, '--top-p', 'x']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /--top-p must be a number/);
});

test('cli info: vocabulary, layers and files of the model', () => {
  const result = run(['info', '--model', fixture]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /vocabulary:\s+3830 tokens, one token per tag/);
  assert.match(result.stdout, /layers:\s+2 /);
  assert.match(result.stdout, /onnx\/model\.onnx/);
  const json = JSON.parse(run(['info', '--model', fixture, '--json']).stdout) as { vocabSize: number; kind: string };
  assert.equal(json.vocabSize, 3830);
  assert.equal(json.kind, 'tag');
});

test('cli: without --model the shipped models/default is used, resolved from the package, not the working directory', () => {
  const result = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', cwd: os.tmpdir() });
  const expected = path.join(root, 'models', 'default');
  if (result.status === 0) {
    assert.equal((JSON.parse(result.stdout) as { dir: string }).dir, expected);
  } else {
    assert.ok(result.stderr.includes(expected), result.stderr);
  }
});

test('shipped model: a popular tag its training posts never hold still comes first for its prefix', () => {
  // The shipped posts were filtered for several characters: 1girl (6 M posts on Danbooru) is
  // outside the vocabulary and scored by its post count (ranking.json's oov_prior_weight).
  const input = [
    JSON.stringify({ context: ['long_hair', 'smile'], prefix: '1', top: 3 }),
    JSON.stringify({ context: ['long_hair', 'smile'], prefix: 'black_th', top: 3 }),
    JSON.stringify({ context: ['multiple_girls', '2girls', 'yuri'], prefix: 'he', top: 3 }),
  ].join('\n');
  const result = run(['complete', '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const [one, blackThigh, multiple] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(one.completions?.[0].tag, '1girl');
  assert.equal(blackThigh.completions?.[0].tag, 'black_thighhighs');
  // The tags the context makes likely still come first: heart (581k posts) before hetero, a tag
  // outside the vocabulary with 543k.
  assert.equal(multiple.completions?.[0].tag, 'heart');
  assert.ok(!multiple.completions?.some((completion) => completion.tag === 'hetero'));
});
