import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { apiFixture, apiLines, apiRecords, expectedLine, gwernFixture, readLines, strayFiles, tempDir } from './convert-helpers';

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function convert(args: string[]) {
  return spawnSync(process.execPath, [cli, 'convert', ...args], { encoding: 'utf8' });
}

test('cli convert: converts, prints a summary, exit 0', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  const result = convert([apiFixture, gwernFixture, '-o', out]);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(readLines(out), [...apiRecords().map(expectedLine), ...readLines(gwernFixture).map((line) => expectedLine(JSON.parse(line)))]);
  assert.match(result.stdout, /converted 2 files, [\d.]+ MB in [\d.]+ s \([\d.]+ MB\/s\)/);
  assert.match(result.stdout, /posts: 31 read, 31 written, 0 skipped/);
  assert.match(result.stdout, /bad lines: 0/);
  assert.ok(fs.existsSync(`${out}.counts.csv`));
  assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('cli convert: bad lines are printed as file:line (first 20) and counted; still exit 0', (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.jsonl');
  fs.writeFileSync(input, `${apiLines()[0]}\n${'{"id": 5,\n'.repeat(24)}not json\n${apiLines()[1]}\n`);
  const out = path.join(dir, 'out.txt');
  const result = convert([input, '-o', out, '--rating', 'g,s', '--min-tags', '15']);
  assert.equal(result.status, 0, result.stderr);
  const printed = result.stderr.split('\n').filter((line) => line.startsWith(`${input}:`));
  assert.equal(printed.length, 20);
  assert.match(printed[0], new RegExp(`^${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: truncated-json: `));
  assert.match(result.stderr, /and 5 more problems/);
  assert.match(result.stdout, /bad lines: 25 \(truncated-json: 24, invalid-json: 1\)/);
  // The first post has 14 general tags, under --min-tags 15.
  assert.match(result.stdout, /posts: 2 read, 1 written, 1 skipped \(too few tags: 1\)/);
  assert.deepEqual(readLines(out), [expectedLine(apiRecords()[1])]);
});

test('cli convert: --strict stops at the first bad line with exit 1 and writes nothing', (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.jsonl');
  fs.writeFileSync(input, `${apiLines()[0]}\n[]\n${apiLines()[1]}\n`);
  const out = path.join(dir, 'out.txt');
  const result = convert([input, '-o', out, '--strict']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, new RegExp(`strict mode: .*bad\\.jsonl:2: not-an-object`));
  assert.deepEqual(strayFiles(dir, ['bad.jsonl']), []);
});

test('cli convert: usage errors exit 2 with a clear message', (t) => {
  const dir = tempDir(t);
  const cases: [string[], RegExp][] = [
    [[apiFixture], /-o OUT is required/],
    [['-o', path.join(dir, 'o.txt')], /no INPUT given/],
    [[path.join(dir, 'missing.jsonl'), '-o', path.join(dir, 'o.txt')], /input not found: .*missing\.jsonl/],
    [[apiFixture, '-o', apiFixture], /would overwrite an input/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--format', 'csv'], /--format must be txt or jsonl/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--order', 'random'], /--order must be keep, shuffle or sort/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--categories', 'general,colour'], /unknown tag category "colour"/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--limit', 'ten'], /--limit needs a whole number/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--workers', '0'], /--workers must be a whole number >= 1/],
    [[apiFixture, '-o', path.join(dir, 'no-such-folder', 'o.txt')], /output folder does not exist/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const result = convert(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.deepEqual(strayFiles(dir, []), []);
});

test('cli convert: --help describes the options and the tag-count table', () => {
  const result = convert(['--help']);
  assert.equal(result.status, 0);
  for (const option of ['--format txt|jsonl', '--order keep|shuffle|sort', '--seed', '--categories', '--min-tags', '--rating', '--exclude-deleted', '--min-score', '--limit', '--strict', '--workers', 'OUT.counts.csv']) {
    assert.ok(result.stdout.includes(option), option);
  }
});

test('cli convert: options reach the engine (jsonl, categories by number, limit, workers)', (t) => {
  const dir = tempDir(t);
  const copy = path.join(dir, 'copy.jsonl');
  fs.copyFileSync(apiFixture, copy);
  const out = path.join(dir, 'out.jsonl');
  const result = convert([apiFixture, copy, '-o', out, '--format', 'jsonl', '--categories', '4,0', '--limit', '5', '--workers', '2', '--counts', path.join(dir, 'vocab.csv')]);
  assert.equal(result.status, 0, result.stderr);
  const records = apiRecords();
  assert.deepEqual(
    readLines(out).map((line) => JSON.parse(line)),
    records.slice(0, 5).map((r) => ({ id: r.id, rating: r.rating, score: r.score, tags: { character: String(r.tag_string_character).split(' ').filter(Boolean), general: r.tag_string_general.split(' ') } })),
  );
  assert.match(result.stdout, /stopped at --limit/);
  assert.equal(readLines(path.join(dir, 'vocab.csv'))[0], 'name,count');
});

test('cli convert: Ctrl-C (SIGINT) removes the temporary output and exits 130', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'big.jsonl');
  fs.writeFileSync(input, fs.readFileSync(apiFixture, 'utf8').repeat(700)); // ~63 MB
  const child = spawn(process.execPath, [cli, 'convert', input, '-o', path.join(dir, 'out.txt')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Interrupt once the temporary file exists, i.e. in the middle of the run.
  const deadline = Date.now() + 20_000;
  while (!fs.readdirSync(dir).some((name) => name.endsWith('.tmp')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /interrupted; nothing was written/);
  assert.deepEqual(strayFiles(dir, ['big.jsonl']), []);
});

test('cli convert: an I/O error exits 1 naming the file, and writes nothing', (t) => {
  // Reading /proc/self/mem from its start fails with EIO: a real read error without special permissions.
  if (!fs.existsSync('/proc/self/mem')) return t.skip('needs Linux /proc');
  const dir = tempDir(t);
  const result = convert(['/proc/self/mem', '-o', path.join(dir, 'out.txt')]);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /cannot read \/proc\/self\/mem: EIO/);
  assert.match(result.stderr, /nothing was written/);
  assert.deepEqual(strayFiles(dir, []), []);
});
