import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTag } from '../../src/prompt/insertStyle';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const fixture = path.join(root, 'test', 'fixtures', 'models', 'tiny-tag');

function run(args: string[], input: string | Buffer = ''): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', cwd: root });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface CompletionLine {
  completions?: { tag: string; score: number; category: number; count: number }[];
  replace?: { start: number; end: number } | null;
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
  // Bytes that are not UTF-8 get an error line; a byte order mark starting a later line (files joined) is dropped.
  const joined = Buffer.concat([Buffer.from('{"context":[],"prefix":"lo","top":1}\n'), Buffer.from('{"context":[],"prefix":"\xff","top":1}\n', 'latin1'), Buffer.from('\ufeff{"context":[],"prefix":"sh","top":1}\n')]);
  const answers = run(['complete', '--model', fixture, '--threads', '1'], joined).stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(answers[0]!.completions?.length, 1);
  assert.equal(answers[1]!.error, 'not valid UTF-8 (35 bytes)');
  assert.ok(answers[2]!.completions?.[0]?.tag.startsWith('sh'), JSON.stringify(answers[2]));
});

test('cli complete: "categories" takes numbers or names; one that is neither is an error line naming both forms', () => {
  const input = [
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: [4] }),
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: ['character'] }),
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: ['charater'] }),
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: [2] }),
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: 'character' }),
    JSON.stringify({ context: [], prefix: 'hatsu', top: 3, categories: [] }),
  ].join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(lines.length, 6);
  assert.equal(lines[0].completions?.[0]?.tag, 'hatsune_miku');
  assert.ok(lines[0].completions?.every((completion) => completion.category === 4));
  assert.deepEqual(lines[1], lines[0]);
  assert.equal(lines[5].error, '"categories" must name at least one category (general, artist, copyright, character, meta); leave it out for general');
  for (const line of lines.slice(2, 5)) {
    assert.equal(line.error, '"categories" must be an array of category numbers (0, 1, 3, 4, 5) or names (general, artist, copyright, character, meta)');
  }
});

test('cli complete: context tags and a prefix written with a1111\'s escaped parentheses are read as their tags; names with a backslash of their own stay', () => {
  const input = [
    { context: [], prefix: 'ganyu_(gen', top: 3, categories: [4] },
    { context: [], prefix: 'ganyu_\\(gen', top: 3, categories: [4] },
    { context: ['ganyu_\\(genshin_impact\\)'], prefix: 'ganyu', top: 3, categories: [4] },
    { context: [], prefix: '\\(^o', top: 3 },
    { context: ['\\m/'], prefix: '\\m', top: 3 },
  ].map((request) => JSON.stringify(request)).join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const [plain, escaped, afterEscaped, face, written] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(plain!.completions?.[0]?.tag, 'ganyu_(genshin_impact)');
  assert.deepEqual(escaped, plain, 'the escaped prefix finds what the plain one does, scored alike');
  assert.ok(afterEscaped!.completions!.length > 0);
  assert.ok(!afterEscaped!.completions!.some((c) => c.tag === 'ganyu_(genshin_impact)'), 'the escaped context tag is not offered again');
  assert.equal(face!.completions?.[0]?.tag, '\\(^o^)/', 'a name that begins with \\( is still found');
  assert.ok(!written!.completions!.some((c) => c.tag === '\\m/'), 'a context tag with its own backslash is read as written');
});

test('cli complete --translations: a prefix typed in the file\'s language finds the tags whose translation holds it; a missing file is an error naming it', () => {
  const translations = path.join(root, 'test', 'fixtures', 'translations', 'zh-cn.csv');
  const input = [
    { context: ['smile'], prefix: '长', top: 5 },
    { context: ['long_hair'], prefix: '长', top: 5 },
    { prompt: 'smile, 长' },
    { context: [], prefix: 'lo', top: 3 },
  ].map((request) => JSON.stringify(request)).join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1', '--translations', translations], input);
  assert.equal(result.status, 0, result.stderr);
  const [typed, inContext, inPrompt, latin] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.deepEqual(typed!.completions!.map((c) => c.tag).sort(), ['long_hair', 'very_long_hair'], 'the file\'s 长发, 超长发 (长头发 names an alias of long_hair)');
  assert.deepEqual(Object.keys(typed!.completions![0]!).sort(), ['category', 'count', 'score', 'tag'], 'the same fields as ever');
  assert.deepEqual(inContext!.completions!.map((c) => c.tag), ['very_long_hair'], 'not a tag of the context');
  assert.deepEqual(inPrompt!.completions!.map((c) => c.tag).sort(), ['long_hair', 'very_long_hair']);
  assert.ok(latin!.completions!.length > 0);
  const without = run(['complete', '--model', fixture, '--threads', '1'], JSON.stringify({ context: ['smile'], prefix: '长', top: 5 }));
  assert.deepEqual((JSON.parse(without.stdout) as CompletionLine).completions, [], 'nothing without the file');
  const missing = run(['complete', '--model', fixture, '--translations', path.join(root, 'no-such.csv')], '');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such\.csv: file not found/);
});

test('cli complete: a prompt line and a cursor are read as the editor reads them; the answer names the span to replace', () => {
  const weighted = 'multiple_girls, (2girls:1.2), <lora:x:0.8>, lo';
  const input = [
    JSON.stringify({ prompt: weighted, top: 5 }),
    JSON.stringify({ context: ['multiple_girls', '2girls'], prefix: 'lo', top: 5 }),
    JSON.stringify({ prompt: 'lo, long_hair', cursor: 2, top: 5 }),
    JSON.stringify({ prompt: '2girls, char:hatsu', top: 3 }),
    JSON.stringify({ prompt: weighted, cursor: weighted.indexOf('1.2') + 1 }),
    JSON.stringify({ prompt: '2girls, ', top: 3 }),
    JSON.stringify({ prompt: 'lo', prefix: 'lo' }),
    JSON.stringify({ prompt: 'lo', cursor: 3 }),
    JSON.stringify({ prompt: 'lo\nsolo' }),
    JSON.stringify({ context: [], cursor: 1 }),
    JSON.stringify({ prompt: '1girl, <lora:abc', top: 3 }),
    JSON.stringify({ prompt: '1girl, embedding:easyneg', top: 3 }),
    JSON.stringify({ prompt: '1girl, lo, <lora:abc', cursor: 9, top: 3 }),
  ].join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(lines.length, 13);
  // The weight and the LoRA are syntax: the context is the two tags, the prefix `lo`.
  assert.deepEqual(lines[0].completions, lines[1].completions);
  assert.deepEqual(lines[0].replace, { start: weighted.length - 2, end: weighted.length });
  // A tag right of the cursor is not offered again; the span is the tag under the cursor.
  assert.deepEqual(lines[2].replace, { start: 0, end: 2 });
  assert.ok(lines[2].completions!.length > 0 && lines[2].completions!.every((c) => c.tag.startsWith('lo') && c.tag !== 'long_hair'));
  // A category prefix chooses the category.
  assert.equal(lines[3].completions?.[0]?.tag, 'hatsune_miku');
  assert.ok(lines[3].completions?.every((c) => c.category === 4));
  assert.deepEqual(lines[3].replace, { start: 13, end: 18 });
  // In a weight there is no tag to complete.
  assert.deepEqual(lines[4], { completions: [], replace: null });
  // After `, ` the next tags, replacing nothing.
  assert.equal(lines[5].completions?.length, 3);
  assert.deepEqual(lines[5].replace, { start: 8, end: 8 });
  assert.equal(lines[6].error, 'give "prompt" (with "cursor") or "context" and "prefix", not both');
  assert.equal(lines[7].error, '"cursor" must be an integer in 0..2 (the prompt\'s length in UTF-16 code units)');
  assert.equal(lines[8].error, '"prompt" must be one line (one prompt)');
  assert.equal(lines[9].error, '"cursor" goes with "prompt"');
  // In a LoRA's or an embedding's name still being typed: a file's name, no tag (nor a span).
  assert.deepEqual(lines[10], { completions: [], replace: null });
  assert.deepEqual(lines[11], { completions: [], replace: null });
  // (The tag before an unclosed LoRA still completes.)
  assert.deepEqual(lines[12].replace, { start: 7, end: 9 });
});

test('cli complete: a tag typed in full comes first, as the editor lists it, in both modes; the rest by score', () => {
  const input = [
    JSON.stringify({ context: [], prefix: 'solo', top: 5 }),
    JSON.stringify({ prompt: '1girl, solo', top: 5 }),
    JSON.stringify({ context: ['1girl'], prefix: 'cat', top: 5 }),
  ].join('\n');
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
  for (const [index, tag] of [[0, 'solo'], [1, 'solo'], [2, 'cat']] as const) {
    const tags = lines[index]!.completions!.map((c) => c.tag);
    assert.equal(tags[0], tag, JSON.stringify(tags));
    const scores = lines[index]!.completions!.slice(1).map((c) => c.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'the rest in the order of their scores');
  }
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

test('cli complete: every input line gets its answer line, whatever its line ending, a BOM or an empty line', () => {
  const request = (prefix: string): string => JSON.stringify({ context: ['multiple_girls'], prefix, top: 1 });
  // BOM before line 1, CRLF, an empty line, a whitespace line, a lone CR inside a JSON line (legal
  // whitespace there), and a last line without a newline.
  const input = `\uFEFF${request('lo')}\r\n\n   \n{"context": [],\r"prefix": "sh", "top": 1}\n${request('bl')}`;
  const result = run(['complete', '--model', fixture, '--threads', '1'], input);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.equal(lines.pop(), '');
  const answers = lines.map((line) => JSON.parse(line) as CompletionLine);
  assert.equal(answers.length, 5);
  assert.ok(answers[0].completions?.[0].tag.startsWith('lo'));
  assert.match(answers[1].error ?? '', /empty line/);
  assert.match(answers[2].error ?? '', /empty line/);
  assert.ok(answers[3].completions?.[0].tag.startsWith('sh'));
  assert.ok(answers[4].completions?.[0].tag.startsWith('bl'));
});

test('cli complete: a reader that stops early ends the run quietly; a full disk is one clear line', async () => {
  const child = spawn(process.execPath, [cli, 'complete', '--model', fixture, '--threads', '1'], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  // More answers than a pipe holds, so the writes after the reader left fail with EPIPE.
  child.stdin.end(`${JSON.stringify({ context: [], prefix: 'l', top: 50 })}\n`.repeat(3000));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');

  if (!fs.existsSync('/dev/full')) return;
  const full = fs.openSync('/dev/full', 'w');
  try {
    const result = spawnSync(process.execPath, [cli, 'info', '--model', fixture], { cwd: root, stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'danbooru-gpt: cannot write the output: ENOSPC: no space left on device, write\n');
  } finally {
    fs.closeSync(full);
  }
});

test('cli sample: a reader of the messages that went away does not fail a run whose output is fine', async () => {
  // Without --seed the random seed is printed on stderr: the write after its reader closed gets EPIPE.
  const child = spawn(process.execPath, [cli, 'sample', '--model', fixture, '--threads', '1', '--n', '3'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.destroy();
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  // One line a sample, an empty one for a sample of no tag (the seed is random here).
  assert.equal(stdout.split('\n').length - 1, 3);
});

test('cli sample: --prompt-file reads the prompt line from a file; a command line onnxruntime-node would crash on is refused with the way round', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-prompt-file-'));
  try {
    const file = path.join(dir, 'prompt.txt');
    fs.writeFileSync(file, '\uFEFF2girls, (blush:1.2), yuri\n');
    const fromFile = run(['sample', '--prompt-file', file, '--n', '2', '--seed', '3', '--max-tags', '5']);
    const fromFlag = run(['sample', '--prompt', '2girls, (blush:1.2), yuri', '--n', '2', '--seed', '3', '--max-tags', '5']);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.equal(fromFile.stdout, fromFlag.stdout);
    assert.match(fromFile.stdout, /^2girls, \(blush:1\.2\), yuri, /);
    // (onnxruntime-node 1.30 crashed, a segmentation fault and no message, on a command line over ~29 KB.)
    const long = run(['sample', '--prompt', 'long hair, '.repeat(3000), '--n', '1']);
    assert.equal(long.status, 2);
    assert.match(long.stderr, /the command line is [\d.]+ KB, over the 24 KB onnxruntime-node 1\.30 can start with: put a long prompt in a file \(--prompt-file FILE\)/);
    fs.writeFileSync(file, 'long hair, '.repeat(3000));
    assert.equal(run(['sample', '--prompt-file', file, '--n', '1', '--seed', '1', '--max-tags', '2']).status, 0);
    assert.match(run(['sample', '--prompt', 'a', '--prompt-file', file]).stderr, /give --prompt or --prompt-file, not both/);
    assert.match(run(['sample', '--prompt-file', path.join(dir, 'missing.txt')]).stderr, /--prompt-file .*missing\.txt: file not found/);
    // Blank lines after the prompt are no second one; a second prompt line is named as the file's.
    fs.writeFileSync(file, '2girls, (blush:1.2), yuri\r\n\r\n\n');
    assert.equal(run(['sample', '--prompt-file', file, '--n', '2', '--seed', '3', '--max-tags', '5']).stdout, fromFlag.stdout);
    fs.writeFileSync(file, '2girls\nyuri\n');
    const twoLines = run(['sample', '--prompt-file', file]);
    assert.equal(twoLines.status, 2);
    assert.match(twoLines.stderr, /--prompt-file .*prompt\.txt: holds several lines; it must hold one prompt/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cli sample: a bad command line exits 2 with the reason and a pointer to --help, before the model loads', () => {
  const cases: [string[], RegExp][] = [
    [['--top-p', 'x'], /--top-p must be a number/],
    [['--top-p', '2'], /top-p must be in \(0, 1\]/],
    // A negative value after a space is taken as the value, not as an ambiguous flag.
    [['--temperature', '-1'], /temperature must be ≥ 0/],
    [['--temperature', '-.5'], /temperature must be ≥ 0/],
    [['--seed', '-1'], /--seed must be an integer in 0\.\.4294967295/],
    [['--seed', '4294967296'], /--seed must be an integer in 0\.\.4294967295/],
    [['--seed', '1.5'], /--seed must be an integer/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--prompt'], /argument missing/],
    [['--threads', '0'], /--threads must be an integer in 1\.\.64, got "0"/],
    [['--threads', '4096'], /--threads must be an integer in 1\.\.64, got "4096"/],
    // The engine's checks, named as the flags.
    [['--n', '0'], /^danbooru-gpt sample: --n must be an integer in 1\.\.256/],
    [['--min-tags', '5', '--max-tags', '2'], /--min-tags must not exceed --max-tags/],
    [['--top-p', '2'], /--top-p must be in \(0, 1\]/],
    [['--categories', 'general,charcter'], /--categories: unknown category "charcter" \(known: general, artist, copyright, character, meta/],
  ];
  for (const [args, message] of cases) {
    const result = run(['sample', '--model', path.join(root, 'no-such-model'), ...args]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /see: danbooru-gpt sample --help/);
  }
  assert.equal(run(['info', '--model']).status, 2);
  // An empty path is no folder (it read the current one).
  const empty = run(['info', '--model', '']);
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /--model needs a model folder, got ""/);
  const version = run(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout, `danbooru-gpt ${(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});

test('cli sample: a prompt tag written several ways is written once; a random seed is printed; unmet --min-tags is noted', () => {
  const result = run(['sample', '--model', fixture, '--prompt', 'long hair, Long_Hair, longhair', '--n', '2', '--max-tags', '4']);
  assert.equal(result.status, 0, result.stderr);
  for (const line of result.stdout.trim().split('\n')) {
    const tags = line.split(', ');
    assert.equal(tags[0], 'long_hair');
    assert.equal(new Set(tags).size, tags.length, line);
  }
  const seed = /^seed: (\d+)$/m.exec(result.stderr)?.[1];
  assert.ok(seed, result.stderr);
  const again = run(['sample', '--model', fixture, '--prompt', 'long hair', '--n', '2', '--max-tags', '4', '--seed', seed]);
  assert.equal(again.stdout, result.stdout);
  assert.doesNotMatch(again.stderr, /seed:/);

  // A prompt of 253 of the model's tags leaves its window (256) room for two: --min-tags 5 is unmet.
  const vocabulary = Object.keys((JSON.parse(fs.readFileSync(path.join(fixture, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-cli-'));
  try {
    fs.writeFileSync(path.join(dir, 'long.txt'), vocabulary.filter((name) => /^[a-z_]+$/.test(name)).slice(0, 253).join(', '));
    const short = run(['sample', '--model', fixture, '--prompt-file', path.join(dir, 'long.txt'), '--min-tags', '5', '--max-tags', '5', '--n', '2', '--seed', '1']);
    assert.equal(short.status, 0, short.stderr);
    assert.match(short.stderr, /2 of 2 samples have fewer than --min-tags 5 new tags/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cli sample: prompt tags the model cannot read are kept in the output and named on stderr, with the reason', () => {
  const result = run(['sample', '--model', fixture, '--prompt', '1girl, hatsune miku, no_such_tag_xyz, long_hair', '--n', '2', '--max-tags', '3', '--seed', '1']);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(
    result.stderr.includes(
      // Named as the dictionary reads them (a prompt's escapes and spaces taken out).
      "note: the model does not read 1girl (not in the model's vocabulary), hatsune_miku (character tag, not in the model's vocabulary), " +
        'no_such_tag_xyz (not in the tag dictionary): the samples do not follow them\n',
    ),
    result.stderr,
  );
  for (const line of result.stdout.trim().split('\n')) assert.ok(line.startsWith('1girl, hatsune_miku, no_such_tag_xyz, long_hair, '), line);
  const readable = run(['sample', '--model', fixture, '--prompt', 'long hair, smiling', '--n', '2', '--max-tags', '3', '--seed', '1']);
  assert.equal(readable.status, 0, readable.stderr);
  assert.doesNotMatch(readable.stderr, /does not read/);
});

test('cli sample: a prompt with weights, LoRA, BREAK and a comment is read as the editor reads it, kept as written, its tags never sampled again', () => {
  const prompt = 'multiple girls BREAK (smile:1.2), <lora:x:1>, [long hair|blush] // the rest';
  const args = ['sample', '--model', fixture, '--prompt', prompt, '--n', '30', '--seed', '4', '--max-tags', '8', '--min-tags', '1', '--temperature', '1.5', '--top-k', '0', '--top-p', '1'];
  const json = run([...args, '--json']);
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { prompt: string[]; samples: string[][] };
  assert.deepEqual(parsed.prompt, ['multiple_girls', 'smile', 'long_hair', 'blush']);
  const sampled = parsed.samples.map((tags) => tags.slice(parsed.prompt.length));
  assert.ok(sampled.every((tags) => tags.length > 0));
  assert.deepEqual(sampled.flat().filter((tag) => parsed.prompt.includes(tag)), [], 'no prompt tag again, weighted or in an alternation');
  assert.doesNotMatch(json.stderr, /does not read/, 'the weight and the LoRA are no unknown tags');
  const text = run(args);
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 30);
  lines.forEach((line, i) => {
    // Written as the prompt writes its tags (spaces), after the last group, before the comment.
    const added = sampled[i]!.map((tag) => formatTag(tag, { separator: 'spaces', escapeParentheses: true })).join(', ');
    assert.equal(line, `multiple girls BREAK (smile:1.2), <lora:x:1>, [long hair|blush], ${added} // the rest`);
  });
  // A tag's parentheses are escaped in a1111's syntax, which reads `watercolor (medium)` as emphasis of medium;
  // bare where the prompt writes its own so. (The shipped model: its vocabulary holds the media tags.)
  const media = (line: string): string[] => run(['sample', '--prompt', line, '--categories', 'meta', '--min-tags', '2', '--max-tags', '3', '--n', '4', '--seed', '1']).stdout.match(/\S+ \\?\(medium\\?\)/g) ?? [];
  assert.ok(media('(smile:1.2), long hair').length > 0 && media('(smile:1.2), long hair').every((tag) => tag.endsWith('\\(medium\\)')), media('(smile:1.2), long hair').join(' '));
  assert.ok(media('(smile:1.2), ;), long hair').every((tag) => tag.endsWith('\\(medium\\)')), "a face's parentheses are its own: escapes still written");
  assert.ok(media('(smile:1.2), gap (touhou)').length > 0 && media('(smile:1.2), gap (touhou)').every((tag) => tag.endsWith(' (medium)')), media('(smile:1.2), gap (touhou)').join(' '));
  const plain = run(['sample', '--model', fixture, '--prompt', 'multiple_girls, long hair', '--n', '2', '--seed', '4', '--max-tags', '3']);
  assert.ok(plain.stdout.split('\n').filter(Boolean).every((line) => line.startsWith('multiple_girls, long_hair, ')), 'plain tags: canonical names, as before');
  // --categories by name or number: this model's vocabulary holds no character tag, so none can be sampled.
  const characters = run(['sample', '--model', fixture, '--prompt', 'multiple_girls', '--n', '2', '--seed', '4', '--categories', 'Character, 4', '--json']);
  assert.equal(characters.status, 2, characters.stdout);
  assert.match(characters.stderr, /no tag is left to sample: --categories Character, 4 excludes every tag the model can write/);
  const generalByNumber = run(['sample', '--model', fixture, '--prompt', 'multiple_girls', '--n', '2', '--seed', '4', '--categories', 'General, 0', '--json']);
  assert.equal(generalByNumber.stdout, run(['sample', '--model', fixture, '--prompt', 'multiple_girls', '--n', '2', '--seed', '4', '--json']).stdout);
  // Words the dictionary does not know (quality tags, a LoRA's trigger word) have no spelling there: as written.
  const unknown = run(['sample', '--model', fixture, '--prompt', 'masterpiece, best quality, my lora trigger, Long Hair, long_hair', '--n', '1', '--seed', '4', '--max-tags', '2', '--json']);
  assert.equal(unknown.status, 0, unknown.stderr);
  assert.deepEqual((JSON.parse(unknown.stdout) as { prompt: string[] }).prompt, ['masterpiece', 'best quality', 'my lora trigger', 'long_hair']);
  // Quality tags steer nothing by design and are in most prompts: not named as unread, the trigger word is.
  assert.match(unknown.stderr, /note: the model does not read my_lora_trigger \(not in the tag dictionary\): the samples do not follow it\n/);
  assert.doesNotMatch(unknown.stderr, /masterpiece|best.quality/);
  const twoLines = run(['sample', '--model', fixture, '--prompt', 'multiple_girls\nlong_hair']);
  assert.equal(twoLines.status, 2);
  assert.match(twoLines.stderr, /--prompt must be one line/);
});

test('cli sample: a --ban that matches no dictionary tag (a typo) is named on stderr; one that matches is not', () => {
  const result = run(['sample', '--model', fixture, '--n', '1', '--max-tags', '3', '--seed', '1', '--ban', '*_backgrond, smiling', '--ban', '*_background']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, 'note: --ban "*_backgrond" matches no tag in the dictionary: it bans nothing\n');
  // Bans (or categories) of every tag the model can write: a usage error naming them, not samples of the prompt alone.
  const cases: [string[], string][] = [[['--ban', '*'], '--ban "*" excludes'], [['--categories', 'character'], '--categories character excludes'], [['--ban', 'a*, *', '--categories', 'general'], '--ban "a*", "*" and --categories general exclude']];
  for (const [flags, message] of cases) {
    for (const model of [fixture, path.join(root, 'test', 'fixtures', 'models', 'tiny-bpe')]) {
      if (model !== fixture && flags.includes('character')) continue; // (a sub-word model's text can write a character's name)
      const none = run(['sample', '--model', model, '--prompt', 'smile', '--n', '2', '--seed', '1', ...flags]);
      assert.equal(none.status, 2, none.stdout);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, new RegExp(`^danbooru-gpt sample: no tag is left to sample: ${message.replace(/[*"]/g, '\\$&')} every tag the model can write\n`), none.stderr);
    }
  }
  // A tag whose backslash is its own (`\(^o^)/`, 121 posts) is banned as the dictionary spells it too.
  assert.equal(run(['sample', '--prompt', 'smile', '--ban', '\\(^o^)/', '--ban', '\\\\//', '--n', '1', '--max-tags', '2', '--seed', '1']).stderr, '');
  // A ban is read as a prompt writes its tag (copied from one): `\(` escapes are the parentheses.
  const media = (ban: string): { stdout: string; stderr: string } => run(['sample', '--prompt', 'smile', '--categories', 'meta', '--min-tags', '2', '--max-tags', '3', '--n', '6', '--seed', '1', '--ban', ban]);
  assert.match(media('concept art').stdout, /\(medium\)/, 'media tags are sampled here (else this proves nothing)');
  for (const ban of ['*\\(medium\\)', 'graphite \\(medium\\), watercolor \\(medium\\), marker \\(medium\\), photo \\(medium\\), *(medium)']) {
    const banned = media(ban);
    assert.doesNotMatch(banned.stdout, /\(medium\)/, ban);
    assert.equal(banned.stderr, '', ban);
  }
});

test('cli sample: samples the model ends right after the prompt are written as the prompt and noted; --min-tags 1 gives each a tag', () => {
  // A real post of the shared data as the prompt: the shipped model often ends right after it.
  const post = '2girls, blush, frown, greyscale, hair_ribbon, hairband, kita_high_school_uniform, long_hair, long_sleeves, looking_at_viewer, monochrome, multiple_girls, ribbon, sailor_collar, school_uniform, serafuku, short_hair, simple_background, sitting, wavy_mouth, white_background, yuri';
  const result = run(['sample', '--prompt', post, '--n', '20', '--seed', '2', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const { prompt, samples } = JSON.parse(result.stdout) as { prompt: string[]; samples: string[][] };
  assert.equal(samples.length, 20);
  const empty = samples.filter((tags) => tags.length === prompt.length).length;
  assert.ok(empty > 0, 'some samples end at once (else this test proves nothing)');
  assert.match(result.stderr, new RegExp(`note: ${empty} of 20 samples add no tag`));
  const atLeastOne = run(['sample', '--prompt', post, '--n', '20', '--seed', '2', '--json', '--min-tags', '1']);
  assert.ok((JSON.parse(atLeastOne.stdout) as { samples: string[][] }).samples.every((tags) => tags.length > prompt.length));
  assert.doesNotMatch(atLeastOne.stderr, /note:/);
});

test('cli: --dictionary takes a tag CSV as tagcomplete writes it, and says what it expects of a wrong file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dict-csv-'));
  try {
    // Written by this test in tagcomplete's layout: three tags of ../shared/data/danbooru-tags.csv with
    // their real categories and post counts (some of their aliases left out).
    const csv = path.join(dir, 'my-tags.csv');
    fs.writeFileSync(csv, 'long_hair,0,4350743,"/lh,longhair"\nlong_sleeves,0,1568684,\nhatsune_miku,4,106634,/hm\n');
    const input = [
      JSON.stringify({ context: [], prefix: 'lo', top: 5 }),
      JSON.stringify({ context: [], prefix: 'miku', top: 5, categories: [4] }),
    ].join('\n');
    const result = run(['complete', '--model', fixture, '--dictionary', csv], input);
    assert.equal(result.status, 0, result.stderr);
    const [long, miku] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CompletionLine);
    assert.deepEqual(long.completions?.map((completion) => completion.tag).sort(), ['long_hair', 'long_sleeves']);
    assert.deepEqual(miku.completions?.map((completion) => [completion.tag, completion.category, completion.count]), [['hatsune_miku', 4, 106634]]);

    const notDictionary = path.join(dir, 'notes.txt');
    fs.writeFileSync(notDictionary, 'hello\n');
    const wrong = run(['info', '--model', fixture, '--dictionary', notDictionary]);
    assert.equal(wrong.status, 1);
    assert.ok(wrong.stderr.includes(`${notDictionary}: not a danbooru-gpt dictionary`), wrong.stderr);
    assert.match(wrong.stderr, /or a tag CSV named \*\.csv/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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

test('cli info: a graph\'s weights in an external-data file beside it (model.onnx_data, model.onnx.data) are listed and counted in the size', (t) => {
  // It listed onnx/model.onnx alone: 0.09 MB for a folder of 0.8 MB.
  const python = process.env.DANBOORU_GPT_PYTHON ?? '/usr/bin/python3';
  for (const dataName of ['model.onnx_data', 'model.onnx.data']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-external-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.cpSync(fixture, dir, { recursive: true });
    const graph = path.join(dir, 'onnx', 'model.onnx');
    const save = `import onnx, sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[1], save_as_external_data=True, all_tensors_to_one_file=True, location=sys.argv[2], size_threshold=0)`;
    const saved = spawnSync(python, ['-c', save, graph, dataName], { encoding: 'utf8' });
    assert.equal(saved.status, 0, saved.stderr);
    const dataBytes = fs.statSync(path.join(dir, 'onnx', dataName)).size;
    assert.ok(dataBytes > fs.statSync(graph).size, 'the weights are in the data file');
    const result = run(['info', '--model', dir, '--json']);
    assert.equal(result.status, 0, result.stderr);
    const files = (JSON.parse(result.stdout) as { files: { path: string; bytes: number }[] }).files;
    assert.deepEqual(files.find((file) => file.path === path.join('onnx', dataName)), { path: path.join('onnx', dataName), bytes: dataBytes }, JSON.stringify(files));
    const total = files.reduce((sum, file) => sum + file.bytes, 0);
    const text = run(['info', '--model', dir]).stdout;
    assert.ok(text.includes(`size:        ${(total / 1e6).toFixed(2)} MB`), text);
    assert.ok(text.includes(`onnx/${dataName}`), text);
  }
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
