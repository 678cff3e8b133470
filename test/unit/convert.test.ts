import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { convertMetadata } from '../../src/dataset/convert';
import { PostIdSet } from '../../src/dataset/filters';
import { AtomicFile } from '../../src/dataset/output';
import { ConvertUsageError, ETA_AFTER_SECONDS, StrictModeError, etaSeconds, type ConvertProgress, type InputProblem } from '../../src/dataset/types';
import { apiFixture, apiLines, apiRecords, expectedLine, gwernFixture, gwernLine, readLines, strayFiles, tempDir } from './convert-helpers';

const GWERN_EXPECTED = '1boy,1girl,bangs,blunt_bangs,brown_hair,flute,hair_bun,hime_cut,instrument,japanese_clothes,long_hair,mask,ribbon,yellow_eyes';

test('convert: the real gwern line gives its general tags in metadata order', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [gwernFixture], output: out });
  assert.deepEqual(readLines(out), [GWERN_EXPECTED]);
  assert.equal(summary.postsRead, 1);
  assert.equal(summary.postsWritten, 1);
  assert.equal(summary.badRecords, 0);
  // Each tag once: ties sorted by name, after the header.
  assert.deepEqual(readLines(`${out}.counts.csv`), ['name,count', ...GWERN_EXPECTED.split(',').sort().map((tag) => `${tag},1`)]);
  assert.deepEqual(strayFiles(dir, ['out.txt', 'out.txt.counts.csv']), []);
});

test('convert: the real API posts give tag_string_general, comma-joined, one line each', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [apiFixture], output: out });
  const lines = readLines(out);
  assert.equal(lines[0], '1girl,breasts,closed_mouth,gloves,horns,large_breasts,long_hair,looking_at_viewer,monochrome,simple_background,smile,solo,white_background,wings');
  assert.deepEqual(lines, apiRecords().map(expectedLine));
  assert.equal(summary.postsWritten, 30);
  // The count table agrees with the output it sits beside.
  const counted = new Map<string, number>();
  for (const line of lines) for (const tag of line.split(',')) counted.set(tag, (counted.get(tag) ?? 0) + 1);
  const table = readLines(`${out}.counts.csv`).slice(1).map((row) => row.split(','));
  assert.equal(table.length, counted.size);
  for (const [tag, count] of table) assert.equal(Number(count), counted.get(tag), tag);
  for (let i = 1; i < table.length; i++) assert.ok(Number(table[i - 1][1]) >= Number(table[i][1]), 'sorted by count');
});

test('convert: a folder is searched recursively and both schemas mix in one run', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'in', 'sub'), { recursive: true });
  fs.copyFileSync(apiFixture, path.join(dir, 'in', 'a.jsonl'));
  fs.copyFileSync(gwernFixture, path.join(dir, 'in', 'sub', 'b.jsonl'));
  fs.writeFileSync(path.join(dir, 'in', 'notes.txt'), 'not metadata');
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [path.join(dir, 'in')], output: out });
  assert.equal(summary.files.length, 2);
  assert.deepEqual(readLines(out), [...apiRecords().map(expectedLine), GWERN_EXPECTED]);
});

test('convert: a folder\'s links are followed, to files and to folders, each once; files in a compression not read are reported, not left out', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'elsewhere', 'sub'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dump'));
  fs.copyFileSync(apiFixture, path.join(dir, 'elsewhere', 'a.jsonl'));
  fs.copyFileSync(gwernFixture, path.join(dir, 'elsewhere', 'sub', 'b.jsonl'));
  fs.symlinkSync(path.join(dir, 'elsewhere', 'a.jsonl'), path.join(dir, 'dump', 'a.jsonl'));
  fs.symlinkSync(path.join(dir, 'elsewhere', 'sub'), path.join(dir, 'dump', 'b-sub'));
  fs.symlinkSync(path.join(dir, 'dump'), path.join(dir, 'dump', 'c-loop'));
  fs.symlinkSync(path.join(dir, 'nowhere.jsonl'), path.join(dir, 'dump', 'd-broken.jsonl'));
  fs.writeFileSync(path.join(dir, 'dump', 'e.jsonl.xz'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
  const out = path.join(dir, 'out.txt');
  const problems: InputProblem[] = [];
  const summary = await convertMetadata({ inputs: [path.join(dir, 'dump')], output: out }, { onProblem: (problem) => problems.push(problem) });
  assert.deepEqual(summary.files.map((file) => path.relative(dir, file)), ['dump/a.jsonl', 'dump/b-sub/b.jsonl', 'dump/e.jsonl.xz']);
  assert.deepEqual(readLines(out), [...apiRecords().map(expectedLine), GWERN_EXPECTED]);
  assert.deepEqual(problems.map((p) => `${path.basename(p.file)}:${p.reason}`), ['e.jsonl.xz:unsupported-compression']);
});

test('convert: an existing output and count table are replaced with their permissions kept', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  fs.writeFileSync(out, 'old\n', { mode: 0o600 });
  fs.writeFileSync(`${out}.counts.csv`, 'old\n', { mode: 0o640 });
  fs.chmodSync(out, 0o600);
  fs.chmodSync(`${out}.counts.csv`, 0o640);
  await convertMetadata({ inputs: [apiFixture], output: out });
  assert.deepEqual(readLines(out), apiRecords().map(expectedLine));
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  assert.equal(fs.statSync(`${out}.counts.csv`).mode & 0o777, 0o640);
});

test('convert: a tag-count table naming the output in another spelling is refused (it replaced the dataset)', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  for (const counts of [path.relative(process.cwd(), out), `${dir}/./out.txt`, path.join(dir, '..', path.basename(dir), 'out.txt')]) {
    await assert.rejects(convertMetadata({ inputs: [apiFixture], output: out, countsOutput: counts }), /the tag-count table cannot be the output itself/, counts);
  }
  assert.ok(!fs.existsSync(out));
});

test('convert: a dataset and its count table are both written before either replaces its target (a full disk leaves both as they were)', async (t) => {
  const dir = tempDir(t);
  const targets = [path.join(dir, 'out.txt'), path.join(dir, 'out.txt.counts.csv')];
  targets.forEach((target) => fs.writeFileSync(target, 'previous\n'));
  for (const failing of [0, 1]) {
    const files = await Promise.all(targets.map((target) => AtomicFile.create(target)));
    files.forEach((file) => file.writeLine('new'));
    // What a write that finds the disk full does to its stream.
    (files[failing] as unknown as { stream: fs.WriteStream }).stream.destroy(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    await assert.rejects(AtomicFile.commitTogether(files), new RegExp(`cannot write ${targets[failing].replace(/[.]/g, '\\.')}: ENOSPC`));
    await Promise.all(files.map((file) => file.discard()));
    assert.deepEqual(targets.map((target) => fs.readFileSync(target, 'utf8')), ['previous\n', 'previous\n'], `file ${failing} failing`);
    assert.deepEqual(strayFiles(dir, ['out.txt', 'out.txt.counts.csv']), []);
  }
});

test('convert: a temporary file that cannot be made is reported by the output asked for, not by the hidden temporary name', async (t) => {
  const dir = tempDir(t);
  // What a folder that refuses new files (EACCES, EPERM) does: the open fails.
  const target = path.join(dir, 'gone', 'out.txt');
  await assert.rejects(AtomicFile.create(target), (error: Error) => error.message.startsWith(`cannot write ${target}: ENOENT`) && !/\.tmp/.test(error.message.split(':')[0]!));
});

/** A file with every kind of bad input of the issue, around real posts; returns the good lines' records. */
function writeBadInput(file: string): { good: Record<string, unknown>[] } {
  const api = apiLines();
  const records = apiRecords();
  const hugeGood = { ...records[5], description: 'x'.repeat(10 * 1024 * 1024) };
  const parts: Buffer[] = [
    Buffer.from(`\uFEFF${gwernLine()}\r\n`), // 1: BOM, CRLF from here on
    Buffer.from(`${api[0]}\r\n`), // 2
    Buffer.from('\r\n'), // 3: empty
    Buffer.from('this is not json\r\n'), // 4
    Buffer.from(`${api[1].slice(0, 200)}\n`), // 5: truncated
    Buffer.from('{"id": 1, "tags": "1girl solo"}\n'), // 6: wrong type
    Buffer.from('{"id": 2, "rating": "s"}\n'), // 7: missing tags
    Buffer.concat([Buffer.from(api[2].slice(0, 40)), Buffer.from([0xff, 0xfe]), Buffer.from(api[2].slice(40)), Buffer.from('\n')]), // 8: invalid UTF-8
    Buffer.from(`{"id": 3, "tag_string_general": "${'y'.repeat(10 * 1024 * 1024)}\n`), // 9: a 10 MB line, cut short
    Buffer.from(`${JSON.stringify(hugeGood)}\n`), // 10: a 10 MB line that is a good post
    Buffer.from('[1, 2]\n'), // 11: not an object
    Buffer.from('{"id": 4, "tags": [{"name": 7, "category": "0"}]}\n'), // 12: wrong type inside tags
    Buffer.from('\n'), // 13: empty
    Buffer.from(api[3]), // 14: last line, no newline
  ];
  fs.writeFileSync(file, Buffer.concat(parts));
  return { good: [JSON.parse(gwernLine()) as Record<string, unknown>, records[0], hugeGood, records[3]] };
}

test('convert: every bad-input case is reported with its line, and every good post is kept', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.jsonl');
  const { good } = writeBadInput(input);
  const out = path.join(dir, 'out.txt');
  const problems: InputProblem[] = [];
  const summary = await convertMetadata({ inputs: [input], output: out }, { onProblem: (problem) => problems.push(problem) });
  assert.deepEqual(readLines(out), good.map(expectedLine));
  const seen = problems.map((problem) => `${problem.line}:${problem.reason}`);
  assert.deepEqual(seen, [
    '1:bom',
    '1:crlf',
    '3:empty-line',
    '4:invalid-json',
    '5:truncated-json',
    '6:wrong-type',
    '7:missing-tags',
    '8:invalid-utf8',
    '9:truncated-json',
    '11:not-an-object',
    '12:wrong-type',
    '13:empty-line',
  ]);
  for (const problem of problems) assert.equal(problem.file, input);
  assert.equal(summary.badRecords, 8);
  assert.deepEqual(summary.problems, { bom: 1, crlf: 1, 'empty-line': 2, 'invalid-json': 1, 'truncated-json': 2, 'wrong-type': 2, 'missing-tags': 1, 'invalid-utf8': 1, 'not-an-object': 1 });
  assert.equal(summary.postsWritten, 4);
  assert.deepEqual(summary.firstProblems, problems);
});

test('convert: --limit reports nothing past the limit (a bad line, an empty line, a CRLF or an array\'s syntax error after it), nor fails --strict on it', async (t) => {
  const dir = tempDir(t);
  const [first, second, third] = apiLines();
  const jsonl = path.join(dir, 'head.jsonl');
  fs.writeFileSync(jsonl, Buffer.concat([Buffer.from(`${first}\n${second}\n`), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(`\n${third}\r\n`)]));
  const array = path.join(dir, 'head.json');
  fs.writeFileSync(array, `[${first},\n${second},\n{"id": ]`);
  for (const input of [jsonl, array]) {
    for (const strict of [false, true]) {
      const problems: InputProblem[] = [];
      const out = path.join(dir, `${path.basename(input)}.${strict}.txt`);
      const summary = await convertMetadata({ inputs: [input], output: out, limit: 2, strict }, { onProblem: (problem) => problems.push(problem) });
      assert.deepEqual(problems, [], `${input} strict ${strict}`);
      assert.equal(summary.postsWritten, 2);
      assert.equal(summary.badRecords, 0);
      assert.deepEqual(summary.problems, {});
      assert.equal(readLines(out).length, 2);
    }
  }
});

test('convert: a line over the size limit is skipped without stopping the file', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'long.jsonl');
  const api = apiLines();
  fs.writeFileSync(input, `${api[0]}\n{"junk": "${'z'.repeat(3 * 1024 * 1024)}"}\n${api[1]}\n`);
  const problems: InputProblem[] = [];
  const out = path.join(dir, 'out.txt');
  await convertMetadata({ inputs: [input], output: out, maxLineBytes: 1024 * 1024 }, { onProblem: (problem) => problems.push(problem) });
  assert.deepEqual(readLines(out), apiRecords().slice(0, 2).map(expectedLine));
  assert.deepEqual(problems.map((problem) => `${problem.line}:${problem.reason}`), ['2:line-too-long']);
});

test('convert: only the first 20 problems are kept in the summary, all are counted', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'many.jsonl');
  fs.writeFileSync(input, `${'{oops\n'.repeat(25)}${apiLines()[0]}\n`);
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [input], output: out });
  assert.equal(summary.badRecords, 25);
  assert.equal(summary.firstProblems.length, 20);
  assert.equal(summary.firstProblems[19].line, 20);
  assert.equal(summary.postsWritten, 1);
});

test('convert: .gz, JSON array and gzipped JSON array inputs give the same dataset', async (t) => {
  const dir = tempDir(t);
  const expected = apiRecords().map(expectedLine);
  const plain = fs.readFileSync(apiFixture);
  const gz = path.join(dir, 'posts.jsonl.gz');
  fs.writeFileSync(gz, zlib.gzipSync(plain));
  const array = path.join(dir, 'posts.json');
  fs.writeFileSync(array, `\uFEFF  \n${JSON.stringify(apiRecords(), null, 2)}\n`);
  const arrayGz = path.join(dir, 'posts-array.json.gz');
  fs.writeFileSync(arrayGz, zlib.gzipSync(JSON.stringify(apiRecords())));
  for (const input of [gz, array, arrayGz]) {
    const out = path.join(dir, `${path.basename(input)}.txt`);
    const progress: ConvertProgress[] = [];
    const summary = await convertMetadata({ inputs: [input], output: out }, { onProgress: (p) => progress.push(p), progressIntervalMs: 0 });
    assert.deepEqual(readLines(out), expected, input);
    const size = fs.statSync(input).size;
    // Progress counts the bytes on disk (compressed for .gz).
    assert.equal(progress.at(-1)?.bytesTotal, size);
    assert.equal(progress.at(-1)?.bytesRead, size);
    assert.equal(summary.bytesRead, size);
    // Nothing left to read at the end: no time left; earlier, the time the rest takes at the rate so
    // far, once there is a rate to go by.
    assert.equal(progress.at(-1)?.etaSeconds, 0);
    for (const p of progress.filter((each) => each.bytesRead < each.bytesTotal)) {
      assert.equal(p.etaSeconds, etaSeconds(p.bytesRead, p.bytesTotal, p.elapsedSeconds));
    }
  }
});

test('etaSeconds: the time the rest takes at the rate so far, none in the first seconds (a gzipped input\'s first slices come ahead of their decompression), 0 once all is read', () => {
  assert.equal(etaSeconds(1 << 20, 47 << 20, 0.025), undefined, 'it said "about 1 s left" of a 20 s conversion');
  assert.equal(etaSeconds(0, 100, 5), undefined);
  assert.equal(etaSeconds(25, 100, ETA_AFTER_SECONDS), 3 * ETA_AFTER_SECONDS);
  assert.equal(etaSeconds(100, 100, 0.01), 0);
  assert.equal(etaSeconds(0, 0, 0), undefined);
});

test('convert: a JSON array reports bad items by number and keeps the rest', async (t) => {
  const dir = tempDir(t);
  const records = apiRecords();
  const input = path.join(dir, 'posts.json');
  fs.writeFileSync(input, JSON.stringify([records[0], { id: 9, rating: 's' }, 'text', records[1]]));
  const problems: InputProblem[] = [];
  const out = path.join(dir, 'out.txt');
  await convertMetadata({ inputs: [input], output: out }, { onProblem: (problem) => problems.push(problem) });
  assert.deepEqual(readLines(out), [records[0], records[1]].map(expectedLine));
  assert.deepEqual(problems.map((problem) => `${problem.unit} ${problem.line}:${problem.reason}`), ['item 2:missing-tags', 'item 3:not-an-object']);

  const truncated = path.join(dir, 'cut.json');
  const text = JSON.stringify(records.slice(0, 3));
  fs.writeFileSync(truncated, text.slice(0, text.length - 500));
  problems.length = 0;
  const cutOut = path.join(dir, 'cut.txt');
  await convertMetadata({ inputs: [truncated], output: cutOut }, { onProblem: (problem) => problems.push(problem) });
  assert.deepEqual(readLines(cutOut), records.slice(0, 2).map(expectedLine));
  assert.deepEqual(problems.map((problem) => `${problem.line}:${problem.reason}`), ['3:truncated-json']);
});

test('convert: a truncated .gz keeps every post before the cut and reports it', async (t) => {
  const dir = tempDir(t);
  const whole = zlib.gzipSync(fs.readFileSync(apiFixture));
  const input = path.join(dir, 'cut.jsonl.gz');
  fs.writeFileSync(input, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const problems: InputProblem[] = [];
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [input], output: out }, { onProblem: (problem) => problems.push(problem) });
  const written = readLines(out);
  const expected = apiRecords().map(expectedLine);
  assert.ok(written.length > 5 && written.length < 30, `${written.length} posts before the cut`);
  assert.deepEqual(written, expected.slice(0, written.length));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].reason, 'truncated-gzip');
  assert.equal(problems[0].line, written.length + 1, 'reported at the line the data stops in');
  assert.equal(summary.problems['truncated-gzip'], 1);
});

test('convert: filters by rating, deletion, score, tag count, and keeps the chosen categories', async (t) => {
  const dir = tempDir(t);
  // Real records with rating/score/is_deleted varied by the test (the fixture posts are all s/0/false).
  const records = apiRecords().slice(0, 8).map((record, i) => ({ ...record, rating: 'gsqe'[i % 4], score: i * 10 - 20, is_deleted: i === 1 }));
  const input = path.join(dir, 'varied.jsonl');
  fs.writeFileSync(input, records.map((record) => JSON.stringify(record)).join('\n'));
  const out = path.join(dir, 'out.txt');
  const run = (options: object) => convertMetadata({ inputs: [input], output: out, ...options });

  let summary = await run({ ratings: ['g', 's'], excludeDeleted: true });
  const keep = (pick: (record: (typeof records)[number]) => boolean) => records.filter(pick).map(expectedLine);
  assert.deepEqual(readLines(out), keep((r) => ['g', 's'].includes(r.rating) && !r.is_deleted));
  assert.equal(summary.skipped.rating, 4);
  assert.equal(summary.skipped.deleted, 1);

  summary = await run({ minScore: 10 });
  assert.deepEqual(readLines(out), keep((r) => r.score >= 10));
  assert.equal(summary.skipped.score, 3);

  // 20, and a post's exact count (a post of 22 tags is kept with --min-tags 22).
  const counts = records.map((r) => r.tag_string_general.split(' ').length);
  assert.ok(counts.includes(22), counts.join(' '));
  for (const minTags of [20, 22]) {
    summary = await run({ minTags });
    assert.deepEqual(readLines(out), keep((r) => r.tag_string_general.split(' ').length >= minTags));
    assert.equal(summary.skipped['too-few-tags'], records.length - readLines(out).length);
  }
  assert.ok(readLines(out).some((line) => line.split(',').length === 22));

  await run({ categories: ['character', 'general'], limit: 3 });
  assert.deepEqual(
    readLines(out),
    records.slice(0, 3).map((r) => [String((r as Record<string, unknown>).tag_string_character), r.tag_string_general].join(' ').split(' ').filter(Boolean).join(',')),
  );
});

test('convert: posts with no kept tag are skipped and counted', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${gwernLine()}\n${JSON.stringify({ ...apiRecords()[0], tag_string_general: '' })}\n`);
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [input], output: out, categories: ['meta'] });
  assert.deepEqual(readLines(out), []);
  assert.equal(summary.skipped['no-kept-tags'], 2);
});

test('convert: writeEmpty false leaves both outputs as they were when no post passes, and writes when one does', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${gwernLine()}\n`);
  const out = path.join(dir, 'out.txt');
  fs.writeFileSync(out, 'older,dataset\n');
  const nothing = await convertMetadata({ inputs: [input], output: out, categories: ['meta'], writeEmpty: false });
  assert.equal(nothing.outputsWritten, false);
  assert.equal(nothing.postsRead, 1);
  assert.equal(fs.readFileSync(out, 'utf8'), 'older,dataset\n', 'the older dataset is kept');
  assert.deepEqual(strayFiles(dir, ['in.jsonl', 'out.txt']), [], 'no tag-count table and no temporary file');

  const written = await convertMetadata({ inputs: [input], output: out, writeEmpty: false });
  assert.equal(written.outputsWritten, true);
  assert.deepEqual(readLines(out), [GWERN_EXPECTED]);
  // The default (the CLI's) writes what the input held, even nothing.
  const empty = await convertMetadata({ inputs: [input], output: out, categories: ['meta'] });
  assert.equal(empty.outputsWritten, true);
  assert.deepEqual(readLines(out), []);
});

test('convert: tag order sort and a seeded shuffle; jsonl keeps id, rating, score and tags by category', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.txt');
  const records = apiRecords();
  await convertMetadata({ inputs: [apiFixture], output: out, order: 'sort' });
  assert.deepEqual(readLines(out), records.map((r) => expectedLine(r).split(',').sort().join(',')));

  await convertMetadata({ inputs: [apiFixture], output: out, order: 'shuffle', seed: 7 });
  const shuffled = readLines(out);
  await convertMetadata({ inputs: [apiFixture], output: out, order: 'shuffle', seed: 7 });
  assert.deepEqual(readLines(out), shuffled, 'same seed, same order');
  await convertMetadata({ inputs: [apiFixture], output: out, order: 'shuffle', seed: 8 });
  assert.notDeepEqual(readLines(out), shuffled, 'another seed, another order');
  shuffled.forEach((line, i) => assert.deepEqual(line.split(',').sort(), expectedLine(records[i]).split(',').sort()));
  assert.ok(shuffled.some((line, i) => line !== expectedLine(records[i])));
  // Each post its own order: 20 copies of one post (ids 1..20) come out in many orders, not one.
  const copies = path.join(dir, 'copies.jsonl');
  fs.writeFileSync(copies, Array.from({ length: 20 }, (_, i) => JSON.stringify({ ...records[0], id: i + 1 })).join('\n'));
  await convertMetadata({ inputs: [copies], output: out, order: 'shuffle', seed: 7 });
  assert.ok(new Set(readLines(out)).size >= 15, `${new Set(readLines(out)).size} orders of 20`);

  await convertMetadata({ inputs: [gwernFixture], output: out, format: 'jsonl', categories: ['general', 'character'] });
  assert.deepEqual(readLines(out).map((line) => JSON.parse(line)), [
    { id: 263162, rating: 's', score: 1, tags: { general: GWERN_EXPECTED.split(','), character: ['larva_(vampire_princess_miyu)', 'miyu_(vampire_princess_miyu)'] } },
  ]);
});

test('convert: posts are deduplicated by id across files (floats and strings alike)', async (t) => {
  const dir = tempDir(t);
  const copy = path.join(dir, 'copy.jsonl');
  fs.copyFileSync(apiFixture, copy);
  // The same post as an integer id in another schema-compatible form.
  const again = path.join(dir, 'again.jsonl');
  fs.writeFileSync(again, `${JSON.stringify({ ...apiRecords()[0], id: '4099990' })}\n`);
  const out = path.join(dir, 'out.txt');
  let summary = await convertMetadata({ inputs: [apiFixture, copy, again], output: out });
  assert.deepEqual(readLines(out), apiRecords().map(expectedLine));
  assert.equal(summary.skipped.duplicate, 31);
  summary = await convertMetadata({ inputs: [apiFixture, copy], output: out, dedupe: false });
  assert.equal(readLines(out).length, 60);
  assert.equal(summary.skipped.duplicate, 0);
});

function writeBigInput(file: string, copies: number): void {
  const text = fs.readFileSync(apiFixture, 'utf8');
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < copies; i++) fs.writeSync(fd, text);
  fs.closeSync(fd);
}

test('convert: cancelling leaves no output and no temporary file', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'big.jsonl');
  writeBigInput(input, 200); // ~18 MB
  const out = path.join(dir, 'out.txt');
  const controller = new AbortController();
  let sawTempWhileRunning = false;
  await assert.rejects(
    convertMetadata(
      { inputs: [input], output: out },
      {
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: (progress) => {
          sawTempWhileRunning ||= strayFiles(dir, ['big.jsonl']).some((name) => name.endsWith('.tmp'));
          if (progress.bytesRead > 1e6) controller.abort();
        },
      },
    ),
    (error: Error) => error.name === 'AbortError',
  );
  assert.ok(sawTempWhileRunning, 'the output is written to a temporary file beside it');
  assert.deepEqual(strayFiles(dir, ['big.jsonl']), []);
});

test('convert: the output appears only when complete; a failed run leaves the old one untouched', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${apiLines()[0]}\n{broken\n${apiLines()[1]}\n`);
  const out = path.join(dir, 'out.txt');
  fs.writeFileSync(out, 'previous dataset\n');
  await assert.rejects(convertMetadata({ inputs: [input], output: out, strict: true }), (error: unknown) => {
    assert.ok(error instanceof StrictModeError);
    assert.equal(error.problem.line, 2);
    assert.equal(error.problem.reason, 'invalid-json');
    return true;
  });
  assert.equal(fs.readFileSync(out, 'utf8'), 'previous dataset\n');
  assert.deepEqual(strayFiles(dir, ['in.jsonl', 'out.txt']), []);

  let targetDuringRun: string | undefined;
  await convertMetadata({ inputs: [input], output: out }, { progressIntervalMs: 0, onProgress: () => (targetDuringRun ??= fs.readFileSync(out, 'utf8')) });
  assert.equal(targetDuringRun, 'previous dataset\n');
  assert.deepEqual(readLines(out), apiRecords().slice(0, 2).map(expectedLine));
});

test('convert: strict mode ignores notes (BOM, CRLF, empty lines) but stops at a lost post', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `\uFEFF${apiLines()[0]}\r\n\r\n${apiLines()[1]}\r\n`);
  const out = path.join(dir, 'out.txt');
  const summary = await convertMetadata({ inputs: [input], output: out, strict: true });
  assert.equal(summary.postsWritten, 2);
  // A line that is no post is a lost post: strict mode stops there, and writes nothing.
  const lost = path.join(dir, 'lost.jsonl');
  fs.writeFileSync(lost, `\uFEFF${apiLines()[0]}\r\n{broken\r\n${apiLines()[1]}\r\n`);
  const lostOut = path.join(dir, 'lost.txt');
  await assert.rejects(convertMetadata({ inputs: [lost], output: lostOut, strict: true }), (error) => error instanceof StrictModeError && /lost\.jsonl:2: invalid-json/.test(error.message));
  assert.equal(fs.existsSync(lostOut), false);
});

test('convert: an output that is an input is refused, and inputs are never modified', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.copyFileSync(apiFixture, input);
  const before = crypto.createHash('sha256').update(fs.readFileSync(input)).digest('hex');
  await assert.rejects(convertMetadata({ inputs: [input], output: input }), ConvertUsageError);
  await assert.rejects(convertMetadata({ inputs: [dir], output: path.join(dir, '.', 'in.jsonl') }), ConvertUsageError);
  fs.symlinkSync(input, path.join(dir, 'link.jsonl'));
  await assert.rejects(convertMetadata({ inputs: [input], output: path.join(dir, 'link.jsonl') }), ConvertUsageError);
  await assert.rejects(convertMetadata({ inputs: [path.join(dir, 'missing.jsonl')], output: path.join(dir, 'o.txt') }), /input not found/);
  await convertMetadata({ inputs: [input], output: path.join(dir, 'o.txt') });
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(input)).digest('hex'), before);
});

test('convert: an output that is a link is written through: the link stays and the file it points to is the new dataset (1 and 2 workers, a broken link)', async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'runs'));
  const inputs = [apiFixture, gwernFixture];
  for (const workers of [1, 2]) {
    const target = path.join(dir, 'runs', `v${workers}.txt`);
    fs.writeFileSync(target, 'old\n');
    const link = path.join(dir, `current${workers}.txt`);
    fs.symlinkSync(path.join('runs', `v${workers}.txt`), link);
    await convertMetadata({ inputs, output: link, workers });
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is kept');
    assert.deepEqual(readLines(target), [...apiRecords().map(expectedLine), GWERN_EXPECTED], `workers ${workers}`);
  }
  const broken = path.join(dir, 'broken.txt');
  fs.symlinkSync(path.join('runs', 'new.txt'), broken);
  await convertMetadata({ inputs, output: broken });
  assert.ok(fs.lstatSync(broken).isSymbolicLink());
  assert.equal(readLines(path.join(dir, 'runs', 'new.txt')).length, 31);
  // A chain of links to a file not made yet: the chain's end is made, every link kept.
  fs.symlinkSync('next.txt', path.join(dir, 'runs', 'latest.txt'));
  const chained = path.join(dir, 'chained.txt');
  fs.symlinkSync(path.join('runs', 'latest.txt'), chained);
  await convertMetadata({ inputs, output: chained });
  assert.ok(fs.lstatSync(chained).isSymbolicLink() && fs.lstatSync(path.join(dir, 'runs', 'latest.txt')).isSymbolicLink());
  assert.equal(readLines(path.join(dir, 'runs', 'next.txt')).length, 31);
  // Through a linked folder, a relative link is read from the link's real folder, as the system does.
  fs.mkdirSync(path.join(dir, 'real', 'sub'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'real', 'sub'), path.join(dir, 'linked-sub'));
  fs.symlinkSync(path.join('..', 'up.txt'), path.join(dir, 'real', 'sub', 'up-link.txt'));
  await convertMetadata({ inputs, output: path.join(dir, 'linked-sub', 'up-link.txt') });
  assert.equal(readLines(path.join(dir, 'real', 'up.txt')).length, 31);
  // `..` after a linked folder in a link's text is `..` of where that folder leads.
  fs.mkdirSync(path.join(dir, 'real', 'data'));
  fs.symlinkSync('linked-sub/../data/new.txt', path.join(dir, 'through-dots.txt'));
  await convertMetadata({ inputs, output: path.join(dir, 'through-dots.txt') });
  assert.equal(readLines(path.join(dir, 'real', 'data', 'new.txt')).length, 31);
  // A loop is refused, the links left as they were.
  fs.symlinkSync('loop-b.txt', path.join(dir, 'loop-a.txt'));
  fs.symlinkSync('loop-a.txt', path.join(dir, 'loop-b.txt'));
  await assert.rejects(convertMetadata({ inputs, output: path.join(dir, 'loop-a.txt') }), /output is a link that leads round in a loop: .*loop-a\.txt/);
  assert.ok(fs.lstatSync(path.join(dir, 'loop-a.txt')).isSymbolicLink());
});

test('PostIdSet: each id once, in the bitmap and beyond it (ids of 2^31 and more, negative, not whole)', () => {
  const ids = new PostIdSet();
  for (const id of [5, 0, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 1, -1, 1.5]) {
    assert.equal(ids.add(id), true, `${id} first`);
    assert.equal(ids.add(id), false, `${id} again`);
  }
  assert.equal(ids.add(6), true, 'a neighbour of 5 is another id');
});
