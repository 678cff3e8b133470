import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
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
  // --limit reached in the first file: the second is never read, and the summary says so.
  const limited = convert([apiFixture, gwernFixture, '-o', out, '--limit', '3', '--workers', '2']);
  assert.equal(limited.status, 0, limited.stderr);
  assert.match(limited.stdout, /converted 1 of 2 files, /);
  assert.match(limited.stdout, /posts: 3 read, 3 written, 0 skipped, stopped at --limit/);
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

test('cli convert: "... and N more problems" counts every problem with --workers too (a worker passes on 1,000 a file)', (t) => {
  const dir = tempDir(t);
  const inputs = ['a.jsonl', 'b.jsonl'].map((name) => path.join(dir, name));
  for (const input of inputs) fs.writeFileSync(input, `${apiLines()[0]}\n${'not json\n'.repeat(1100)}`);
  for (const workers of ['1', '2']) {
    const result = convert([...inputs, '-o', path.join(dir, `out${workers}.txt`), '--workers', workers]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /\.\.\. and 2180 more problems \(counted below\)/, `--workers ${workers}`);
    assert.match(result.stdout, /bad lines: 2200 /);
  }
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

test('cli convert: --workers above the CPUs there are is lowered to them, with a note (each thread costs memory and more are slower)', (t) => {
  const dir = tempDir(t);
  const inputs = [apiFixture, gwernFixture];
  const result = convert([...inputs, '-o', path.join(dir, 'o.txt'), '--workers', '1000']);
  assert.equal(result.status, 0, result.stderr);
  const cpus = os.availableParallelism();
  assert.match(result.stderr, new RegExp(`--workers 1000: this machine has ${cpus} CPUs; using ${cpus} workers`));
  assert.equal(readLines(path.join(dir, 'o.txt')).length, 31);
  assert.equal(convert([...inputs, '-o', path.join(dir, 'q.txt'), '--workers', '1000', '--quiet']).stderr, '');
});

test('cli convert: -o NAME.jsonl without --format writes the default txt, with a note saying so (the editor takes jsonl from the name)', (t) => {
  const dir = tempDir(t);
  const named = convert([apiFixture, '-o', path.join(dir, 'posts.jsonl')]);
  assert.equal(named.status, 0, named.stderr);
  assert.match(named.stderr, /note: .*posts\.jsonl gets comma-separated tags \(--format txt, the default\); pass --format jsonl for JSON lines/);
  assert.doesNotMatch(readLines(path.join(dir, 'posts.jsonl'))[0]!, /^\{/);
  for (const args of [['--format', 'jsonl'], ['--format', 'txt'], ['--quiet']]) assert.doesNotMatch(convert([apiFixture, '-o', path.join(dir, 'p.jsonl'), ...args]).stderr, /note:/, args.join(' '));
  assert.doesNotMatch(convert([apiFixture, '-o', path.join(dir, 'p.txt')]).stderr, /note:/);
});

test('cli convert: temporary files of the output left by a process that is gone (a window reloaded mid-way) are removed; those of a running one are not', (t) => {
  const dir = tempDir(t);
  const output = path.join(dir, 'posts.txt');
  // This machine's name as temporary names carry it (a hash); a pid no process has (above Linux's pid_max), and this test's own, running.
  const host = crypto.createHash('sha256').update(os.hostname()).digest('hex').slice(0, 12);
  const stale = [`.posts.txt.${host}-99999999-65c8e11f.tmp`, `.posts.txt.counts.csv.${host}-99999999-0badc0de.tmp`, `.posts.txt.${host}-99999999-0badc0de.part3.ids`].map((name) => path.join(dir, name));
  const kept: Record<string, string> = {
    "a running process's": `.posts.txt.${host}-${process.pid}-7c916223.tmp`,
    "another machine's (a shared folder)": '.posts.txt.other-host-99999999-65c8e11f.tmp',
    "another output's": `.other.txt.${host}-99999999-65c8e11f.tmp`,
  };
  // Untouched for an hour, but one of a gone pid written a minute ago (a run in a container of the same machine name).
  kept["a file written lately (another process namespace's)"] = `.posts.txt.${host}-99999999-feedbeef.tmp`;
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const file of [...stale, ...Object.values(kept).map((name) => path.join(dir, name))]) {
    fs.writeFileSync(file, 'partial,dataset\n');
    if (!file.includes('feedbeef')) fs.utimesSync(file, hourAgo, hourAgo);
  }
  const result = convert([apiFixture, '-o', output]);
  assert.equal(result.status, 0, result.stderr);
  for (const file of stale) assert.equal(fs.existsSync(file), false, `${path.basename(file)} removed`);
  assert.match(result.stdout + result.stderr, new RegExp(`removed 3 temporary files an earlier run left when its process went: .*${host}-99999999-0badc0de\\.part3\\.ids`));
  for (const [whose, name] of Object.entries(kept)) assert.equal(fs.existsSync(path.join(dir, name)), true, `${whose} kept`);
});

test('cli convert: its own --format jsonl output read back as input (saved in the dump\'s folder) is named as such, not only "wrong-type"', (t) => {
  const dir = tempDir(t);
  const dump = path.join(dir, 'dump');
  fs.mkdirSync(dump);
  fs.copyFileSync(apiFixture, path.join(dump, 'posts.jsonl'));
  assert.equal(convert([dump, '-o', path.join(dump, 'earlier.jsonl'), '--format', 'jsonl']).status, 0);
  const again = convert([dump, '-o', path.join(dir, 'posts.txt')]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /earlier\.jsonl:1: wrong-type: "tags" should be an array of \{name, category\}, got an object of categories: a tag dataset danbooru-gpt wrote \(--format jsonl\), not Danbooru metadata; leave it out of the inputs/);
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
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--min-tags', '0'], /--min-tags must be a whole number >= 1, got 0/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--counts', ''], /no tag-count table given \(--counts FILE\)/],
    [[apiFixture, '-o', path.join(dir, 'no-such-folder', 'o.txt')], /output folder does not exist/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--frobnicate'], /Unknown option '--frobnicate'/],
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--limit', '99999999999999999999'], /--limit must be a whole number >= 1, got 100000000000000000000 \(too large to be counted exactly\)/],
    // A negative number after a flag is its value (node's parseArgs called it ambiguous, in three lines).
    [[apiFixture, '-o', path.join(dir, 'o.txt'), '--limit', '-1'], /--limit must be a whole number >= 1, got -1\n\(see/],
  ];
  for (const [args, message] of cases) {
    const result = convert(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.deepEqual(strayFiles(dir, []), []);
  const negative = convert([apiFixture, '-o', path.join(dir, 'scored.txt'), '--min-score', '-5']);
  assert.equal(negative.status, 0, negative.stderr);
});

test('cli convert: --help describes the options and the tag-count table', () => {
  const result = convert(['--help']);
  assert.equal(result.status, 0);
  for (const option of ['--format txt|jsonl', '--order keep|shuffle|sort', '--seed', '--categories', '--min-tags', '--rating', '--exclude-deleted', '--min-score', '--limit', '--strict', '--workers', 'OUT.counts.csv', '129 SIGHUP']) {
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

test('cli convert: outputs that are not regular files ("-", /dev/*, a FIFO) are usage errors, and nothing is replaced', (t) => {
  const dir = tempDir(t);
  const fifo = path.join(dir, 'fifo');
  const made = spawnSync('mkfifo', [fifo]);
  const cases: [string[], RegExp][] = [
    [['-o', '-'], /output cannot be "-": standard output is not supported/],
    [['-o', '/dev/stdout'], /output must be a regular file, not a device, FIFO, socket or \/dev, \/proc path: \/dev\/stdout/],
    [['-o', '/dev/null'], /output must be a regular file/],
    [['-o', '/proc/self/fd/1'], /output must be a regular file/],
    [['-o', path.join(dir, 'out.txt'), '--counts', '/dev/null'], /tag-count table must be a regular file/],
  ];
  if (made.status === 0) cases.push([['-o', fifo], /output must be a regular file/]);
  for (const [args, message] of cases) {
    const result = spawnSync(process.execPath, [cli, 'convert', apiFixture, ...args], { encoding: 'utf8', cwd: dir });
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /see: danbooru-gpt convert --help/);
  }
  assert.ok(fs.statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  assert.deepEqual(strayFiles(dir, made.status === 0 ? ['fifo'] : []), []);
});

test('cli convert: a closed stderr does not crash the run; the output is still written', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.jsonl');
  // Bad lines around a real post, so the run writes problem lines to the closed stderr.
  fs.writeFileSync(input, `${'not json\n'.repeat(30)}${apiLines()[0]}\n${'not json\n'.repeat(30)}`);
  const out = path.join(dir, 'out.txt');
  const child = spawn(process.execPath, [cli, 'convert', input, '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.destroy();
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /bad lines: 60/);
  assert.deepEqual(readLines(out), [expectedLine(apiRecords()[0])]);
  assert.deepEqual(strayFiles(dir, ['bad.jsonl', 'out.txt', 'out.txt.counts.csv']), []);
});

for (const workers of ['1', '2']) {
  test(`cli convert: SIGHUP removes the temporary files and exits 129 (--workers ${workers})`, async (t) => {
    const dir = tempDir(t);
    const big = fs.readFileSync(apiFixture, 'utf8').repeat(400); // ~36 MB a file
    const inputs = ['a.jsonl', 'b.jsonl'].map((name) => path.join(dir, name));
    for (const input of inputs) fs.writeFileSync(input, big);
    const child = spawn(process.execPath, [cli, 'convert', ...inputs, '-o', path.join(dir, 'out.txt'), '--workers', workers], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!fs.readdirSync(dir).some((name) => name.endsWith('.tmp')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGHUP');
    assert.equal(await exited, 129, stderr);
    assert.match(stderr, /interrupted; nothing was written/);
    assert.deepEqual(strayFiles(dir, ['a.jsonl', 'b.jsonl']), []);
  });
}

test('cli convert: the summary counts one post, one tag in the singular, thousands with separators', (t) => {
  const dir = tempDir(t);
  const one = path.join(dir, 'one.jsonl');
  fs.writeFileSync(one, `${apiLines()[0]}\n`);
  const out = path.join(dir, 'one.txt');
  const result = convert([one, '-o', out]);
  assert.equal(result.status, 0, result.stderr);
  const tags = expectedLine(apiRecords()[0]).split(',').length;
  assert.match(result.stdout, new RegExp(`output: .*one\\.txt \\(1 post, ${tags} tags\\)`));
  assert.match(result.stdout, new RegExp(`\\(${tags} distinct tags\\)`));
});
