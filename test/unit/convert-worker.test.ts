import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { convertMetadata } from '../../src/dataset/convert';
import { convertInWorker } from '../../src/dataset/worker-client';
import { stopWorker } from '../../src/dataset/worker-protocol';
import { StrictModeError, type ConvertOptions, type ConvertProgress, type InputProblem } from '../../src/dataset/types';
import { apiFixture, apiLines, apiRecords, expectedLine, gwernFixture, readLines, strayFiles, tempDir } from './convert-helpers';

// These run dist/convert-worker.js, built by `npm run build` (npm test builds first).

/** Several overlapping files: the API posts split in two, one file repeating posts of the other, a .gz. */
function writeOverlappingInputs(dir: string): string[] {
  const lines = apiLines();
  const files = [path.join(dir, 'a.jsonl'), path.join(dir, 'b.jsonl'), path.join(dir, 'c.jsonl.gz'), path.join(dir, 'd.jsonl')];
  fs.writeFileSync(files[0], `${lines.slice(0, 12).join('\n')}\n`);
  fs.writeFileSync(files[1], `${lines.slice(8, 20).join('\n')}\nnot json\n`);
  fs.writeFileSync(files[2], zlib.gzipSync(`${lines.slice(20).join('\n')}\n`));
  fs.copyFileSync(gwernFixture, files[3]);
  return files;
}

test('convert workers: several files on 2 workers give the same dataset, counts and summary as 1', async (t) => {
  const dir = tempDir(t);
  const inputs = writeOverlappingInputs(dir);
  const variants: Partial<ConvertOptions>[] = [{}, { order: 'shuffle', seed: 3 }, { format: 'jsonl', categories: ['general', 'copyright'] }, { limit: 20 }, { dedupe: false }];
  for (const variant of variants) {
    const problemsOfOne: InputProblem[] = [];
    const one = await convertMetadata({ inputs, output: path.join(dir, 'one.txt'), ...variant }, { onProblem: (problem) => problemsOfOne.push(problem) });
    const problems: InputProblem[] = [];
    const two = await convertMetadata({ inputs, output: path.join(dir, 'two.txt'), workers: 2, ...variant }, { onProblem: (problem) => problems.push(problem) });
    const label = JSON.stringify(variant);
    assert.deepEqual(readLines(path.join(dir, 'two.txt')), readLines(path.join(dir, 'one.txt')), label);
    assert.deepEqual(readLines(path.join(dir, 'two.txt.counts.csv')), readLines(path.join(dir, 'one.txt.counts.csv')), label);
    for (const key of ['postsWritten', 'skipped', 'tagsWritten', 'distinctTags', 'stoppedAtLimit'] as const) {
      assert.deepEqual(two[key], one[key], `${label} ${key}`);
    }
    for (const key of ['problems', 'badRecords', 'firstProblems', 'bytesParsed', 'postsRead'] as const) assert.deepEqual(two[key], one[key], `${label} ${key}`);
    assert.deepEqual(problems, problemsOfOne, label);
    // Under --limit the files are read in order, only until the limit (b.jsonl's bad line 13 is past it).
    const expectedProblems = variant.limit === undefined ? ['b.jsonl:13'] : [];
    assert.deepEqual(problems.map((problem) => `${path.basename(problem.file)}:${problem.line}`), expectedProblems, label);
  }
  // --strict fails on a bad line only where the run reads: not past the limit, whatever the workers.
  const strict = await convertMetadata({ inputs, output: path.join(dir, 'two.txt'), workers: 2, limit: 20, strict: true });
  assert.equal(strict.postsWritten, 20);
  const expected = [...apiRecords().map(expectedLine), expectedLine(JSON.parse(readLines(gwernFixture)[0]))];
  const merged = await convertMetadata({ inputs, output: path.join(dir, 'two.txt'), workers: 3 });
  assert.deepEqual(readLines(path.join(dir, 'two.txt')), expected);
  assert.equal(merged.skipped.duplicate, 4);
  assert.deepEqual(strayFiles(dir, ['a.jsonl', 'b.jsonl', 'c.jsonl.gz', 'd.jsonl', 'one.txt', 'one.txt.counts.csv', 'two.txt', 'two.txt.counts.csv']), []);
});

test('convert workers: posts without an id shuffle the same on 1 and 2 workers (by file and place); a seed past 32 bits is refused', async (t) => {
  const dir = tempDir(t);
  const withoutIds = apiLines().map((line) => {
    const { id: _id, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(rest);
  });
  const inputs = [path.join(dir, 'a.jsonl'), path.join(dir, 'b.jsonl')];
  for (const input of inputs) fs.writeFileSync(input, `${withoutIds.join('\n')}\n`);
  const outputs = [1, 2].map((workers) => path.join(dir, `out-${workers}.txt`));
  for (const [i, output] of outputs.entries()) await convertMetadata({ inputs, output, workers: i + 1, order: 'shuffle', seed: 3 });
  const [one, two] = outputs.map(readLines);
  assert.equal(one.length, 2 * withoutIds.length);
  assert.deepEqual(two, one, 'the second file was shuffled by places counted from 0 in its worker');
  assert.notDeepEqual(one.slice(withoutIds.length), one.slice(0, withoutIds.length), 'the same post in another file is shuffled apart');
  await assert.rejects(convertMetadata({ inputs, output: outputs[0], order: 'shuffle', seed: 2 ** 32 }), /--seed must be an integer in 0\.\.4294967295/);
});

test('convert workers: writeEmpty false on 2 workers leaves the outputs as they were when no post passes', async (t) => {
  const dir = tempDir(t);
  const inputs = writeOverlappingInputs(dir);
  const out = path.join(dir, 'out.txt');
  fs.writeFileSync(out, 'older,dataset\n');
  const summary = await convertMetadata({ inputs, output: out, workers: 2, ratings: ['no-such-rating'], writeEmpty: false });
  assert.equal(summary.outputsWritten, false);
  assert.equal(summary.postsWritten, 0);
  assert.ok(summary.skipped.rating > 0);
  assert.equal(fs.readFileSync(out, 'utf8'), 'older,dataset\n');
  assert.deepEqual(strayFiles(dir, ['a.jsonl', 'b.jsonl', 'c.jsonl.gz', 'd.jsonl', 'out.txt']), [], 'no tag-count table, part or temporary file');
});

test('convert workers: --strict in a worker fails the run and leaves no part or temp file', async (t) => {
  const dir = tempDir(t);
  const inputs = writeOverlappingInputs(dir);
  await assert.rejects(convertMetadata({ inputs, output: path.join(dir, 'out.txt'), workers: 2, strict: true }), (error: unknown) => {
    assert.ok(error instanceof StrictModeError);
    assert.equal(error.problem.line, 13);
    return true;
  });
  assert.deepEqual(strayFiles(dir, ['a.jsonl', 'b.jsonl', 'c.jsonl.gz', 'd.jsonl']), []);
});

test('convert workers: --strict reports the first failure in input order, as one worker does, whichever worker meets its own first', async (t) => {
  const dir = tempDir(t);
  const text = fs.readFileSync(apiFixture, 'utf8');
  const inputs = [path.join(dir, 'a.jsonl'), path.join(dir, 'b.jsonl')];
  // a's bad line comes after 15,000 posts; b's is its first line, met long before.
  fs.writeFileSync(inputs[0], `${text.repeat(500)}not json\n`);
  fs.writeFileSync(inputs[1], `not json\n${text}`);
  for (const workers of [1, 2]) {
    await assert.rejects(convertMetadata({ inputs, output: path.join(dir, 'out.txt'), workers, strict: true }), (error: unknown) => {
      assert.ok(error instanceof StrictModeError);
      assert.deepEqual([path.basename(error.problem.file), error.problem.line], ['a.jsonl', 15001], `workers ${workers}`);
      return true;
    });
  }
  assert.deepEqual(strayFiles(dir, ['a.jsonl', 'b.jsonl']), []);
});

function writeBigInputs(dir: string, count: number, copies: number): string[] {
  const text = fs.readFileSync(apiFixture, 'utf8');
  return Array.from({ length: count }, (_, index) => {
    const file = path.join(dir, `big${index}.jsonl`);
    fs.writeFileSync(file, text.repeat(copies));
    return file;
  });
}

test('convert workers: 12 workers on 12 files give the one-worker dataset and no "possible EventTarget memory leak" warning', async (t) => {
  const dir = tempDir(t);
  const lines = apiLines();
  const inputs = Array.from({ length: 12 }, (_, i) => path.join(dir, `shard${String(i).padStart(2, '0')}.jsonl`));
  inputs.forEach((file, i) => fs.writeFileSync(file, `${lines.slice(i * 2, i * 2 + 2).join('\n')}\n`));
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const summary = await convertMetadata({ inputs, output: path.join(dir, 'out.txt'), workers: 12 });
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings.map((w) => w.name), []);
  assert.equal(summary.postsWritten, 24);
  assert.deepEqual(readLines(path.join(dir, 'out.txt')), apiRecords().slice(0, 24).map(expectedLine));
});

test('convert workers: cancelling a parallel run removes every part and temp file', async (t) => {
  const dir = tempDir(t);
  const inputs = writeBigInputs(dir, 3, 120);
  const controller = new AbortController();
  await assert.rejects(
    convertMetadata({ inputs, output: path.join(dir, 'out.txt'), workers: 2 }, { signal: controller.signal, progressIntervalMs: 0, onProgress: () => controller.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.deepEqual(strayFiles(dir, ['big0.jsonl', 'big1.jsonl', 'big2.jsonl']), []);
});

test('convert worker entry: a whole conversion runs in dist/convert-worker.js with progress and problems', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${apiLines()[0]}\n{"broken": nope}\n${apiLines()[1]}\n`);
  const out = path.join(dir, 'out.txt');
  const problems: InputProblem[] = [];
  const progress: ConvertProgress[] = [];
  const summary = await convertInWorker({ inputs: [input], output: out }, { onProblem: (problem) => problems.push(problem), onProgress: (p) => progress.push(p) });
  assert.deepEqual(readLines(out), apiRecords().slice(0, 2).map(expectedLine));
  assert.deepEqual(problems.map((problem) => `${problem.line}:${problem.reason}`), ['2:invalid-json']);
  assert.equal(summary.postsWritten, 2);
  assert.equal(progress.at(-1)?.bytesRead, fs.statSync(input).size);
});

test('convert worker entry: errors keep their kind, and cancelling removes the temp file', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, `${apiLines()[0]}\n[]\n`);
  await assert.rejects(convertInWorker({ inputs: [input], output: path.join(dir, 'o.txt'), strict: true }), StrictModeError);
  await assert.rejects(convertInWorker({ inputs: [input], output: input }), { name: 'ConvertUsageError' });

  const [big] = writeBigInputs(dir, 1, 200);
  const controller = new AbortController();
  await assert.rejects(
    convertInWorker({ inputs: [big], output: path.join(dir, 'out.txt') }, { signal: controller.signal, onProgress: () => controller.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.deepEqual(strayFiles(dir, ['in.jsonl', 'big0.jsonl']), []);
});

test('convert: the count table matches the output with many distinct tags, duplicates across files and 1 or 2 workers', async (t) => {
  const dir = tempDir(t);
  // GENERATED posts (API schema) with 20,000 made-up tag names, so that the counter grows well past its first size.
  const template = apiRecords()[0];
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const files = [0, 1, 2].map((fileIndex) => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      // Ids overlap between files 0 and 1: the later copy is dropped and its tags must not be counted.
      const id = fileIndex === 2 ? 100_000 + i : i + fileIndex * 1500;
      const tags = new Set<string>();
      for (let k = 0; k < 20; k++) tags.add(`made_up_tag_${Math.floor(next() * next() * 20_000)}`);
      lines.push(JSON.stringify({ ...template, id, tag_string_general: [...tags].join(' ') }));
    }
    const file = path.join(dir, `generated-${fileIndex}.jsonl`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  });
  for (const workers of [1, 2]) {
    const out = path.join(dir, `out-${workers}.txt`);
    const summary = await convertMetadata({ inputs: files, output: out, workers });
    const expected = new Map<string, number>();
    for (const line of readLines(out)) for (const tag of line.split(',')) expected.set(tag, (expected.get(tag) ?? 0) + 1);
    const table = readLines(`${out}.counts.csv`).slice(1).map((row) => row.split(','));
    assert.equal(summary.skipped.duplicate, 500, `workers ${workers}`);
    assert.equal(summary.postsWritten, 5500);
    assert.ok(expected.size > 10_000, `${expected.size} distinct tags`);
    assert.equal(table.length, expected.size, `workers ${workers}`);
    for (const [tag, count] of table) assert.equal(Number(count), expected.get(tag), `${tag} (workers ${workers})`);
    assert.equal(summary.distinctTags, expected.size);
    assert.equal(summary.tagsWritten, [...expected.values()].reduce((a, b) => a + b, 0));
  }
});

test('convert workers: finishing, failing and cancelling stop each thread by asking it, never by terminate()', async (t) => {
  // Terminating a thread while it constructs a zlib stream (a .gz input) aborts the whole process in Node 20
  // ("close before init"): CI once died of it when --strict failed a run while the other worker opened a .gz.
  // Calls through to the real terminate(), counted; restored after the test.
  const terminate = t.mock.method(Worker.prototype, 'terminate');
  const dir = tempDir(t);
  const inputs = writeOverlappingInputs(dir);
  await convertMetadata({ inputs, output: path.join(dir, 'out.txt'), workers: 2 });
  await assert.rejects(convertMetadata({ inputs, output: path.join(dir, 'strict.txt'), workers: 2, strict: true }), StrictModeError);
  const big = writeBigInputs(dir, 3, 120);
  const controller = new AbortController();
  await assert.rejects(
    convertMetadata({ inputs: big, output: path.join(dir, 'cancelled.txt'), workers: 2 }, { signal: controller.signal, progressIntervalMs: 0, onProgress: () => controller.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  await convertInWorker({ inputs: [inputs[2]], output: path.join(dir, 'one.txt') });
  const single = new AbortController();
  await assert.rejects(
    convertInWorker({ inputs: [big[0]], output: path.join(dir, 'one-cancelled.txt') }, { signal: single.signal, onProgress: () => single.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.equal(terminate.mock.callCount(), 0);
  const names = [...inputs, ...big].map((file) => path.basename(file));
  assert.deepEqual(strayFiles(dir, [...names, 'out.txt', 'out.txt.counts.csv', 'one.txt', 'one.txt.counts.csv']), []);
});

test('stopWorker: a thread that exits when asked is not terminated; one that ignores the request is, after the grace period', async (t) => {
  const terminate = t.mock.method(Worker.prototype, 'terminate');
  const polite = new Worker("require('node:worker_threads').parentPort.once('message', () => process.exit(0)); setInterval(() => {}, 1000);", { eval: true });
  await stopWorker(polite, () => polite.postMessage('stop'), 5000);
  assert.equal(terminate.mock.callCount(), 0);
  assert.equal(polite.threadId, -1);
  // Already exited: returns at once, asks nothing.
  await stopWorker(polite, () => assert.fail('asked a thread that had exited'));

  const deaf = new Worker('setInterval(() => {}, 1000);', { eval: true });
  const started = performance.now();
  await stopWorker(deaf, () => deaf.postMessage('stop'), 200);
  assert.equal(terminate.mock.callCount(), 1);
  assert.equal(deaf.threadId, -1);
  assert.ok(performance.now() - started >= 190, 'terminated before the grace period ended');
});

test('convert workers: problems are passed on in input order, as with one worker', async (t) => {
  const dir = tempDir(t);
  const lines = apiLines();
  // A large first file with bad lines at its end, then small files with bad lines: with 4 workers the
  // small files finish first, and their problems used to be reported before the first file's.
  const inputs = [0, 1, 2, 3, 4, 5].map((index) => path.join(dir, `part${index}.jsonl`));
  fs.writeFileSync(inputs[0], `${`${lines.join('\n')}\n`.repeat(300)}not json 0a\nnot json 0b\n`);
  for (const [index, input] of inputs.entries()) {
    if (index > 0) fs.writeFileSync(input, `${lines[index]}\nnot json ${index}\n[${index}]\n`);
  }
  const seen = async (workers: number): Promise<string[]> => {
    const problems: string[] = [];
    const summary = await convertMetadata({ inputs, output: path.join(dir, `out${workers}.txt`), workers }, { onProblem: (problem) => problems.push(`${path.basename(problem.file)}:${problem.line}:${problem.reason}`) });
    assert.deepEqual(
      summary.firstProblems.map((problem) => `${path.basename(problem.file)}:${problem.line}:${problem.reason}`),
      problems.slice(0, 20),
    );
    return problems;
  };
  const one = await seen(1);
  assert.equal(one.length, 12);
  assert.deepEqual(await seen(4), one);
  assert.deepEqual(await seen(2), one);
});

test('convert: a tag with a lone surrogate escape (`\\ud800`) is a bad line, not a U+FFFD tag, with 1 or 2 workers; a surrogate pair is one character', async (t) => {
  const dir = tempDir(t);
  const template = apiRecords()[0];
  // GENERATED lines; the same file twice, so that the second copy's posts are dropped as duplicates.
  const lines = [
    JSON.stringify({ ...template, id: 1, tag_string_general: 'lone_\ud800 smile' }),
    JSON.stringify({ ...template, id: 2, tag_string_general: 'bow_\ud83c\udf80 smile' }),
    JSON.stringify({ ...template, id: 3, tag_string_general: 'smile \udc00' }),
    // (and the old schema's tag without a category: named as missing)
    JSON.stringify({ id: 4, tags: [{ name: 'smile' }] }),
  ];
  const files = ['a.jsonl', 'b.jsonl'].map((name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  });
  for (const workers of [1, 2]) {
    const out = path.join(dir, `out-${workers}.txt`);
    const summary = await convertMetadata({ inputs: files, output: out, workers });
    assert.deepEqual(readLines(out), ['bow_🎀,smile'], `workers ${workers}`);
    assert.deepEqual(readLines(`${out}.counts.csv`).slice(1).sort(), ['bow_🎀,1', 'smile,1'], `workers ${workers}`);
    assert.equal(summary.badRecords, 6, `workers ${workers}`);
    assert.match(summary.firstProblems[0]!.detail ?? '', /lone surrogates/);
    assert.ok(summary.firstProblems.some((problem) => /"tags\[0\]\.category" should be a category number, got nothing$/.test(problem.detail ?? '')), JSON.stringify(summary.firstProblems));
  }
});
