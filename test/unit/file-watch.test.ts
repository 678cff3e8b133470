// FileWatch: the server's watch of the files it loaded (model folder, dictionary, translations).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileWatch } from '../../src/server/fileWatch';

const QUIET = 150;

/** Runs `body` with a new temporary folder and a watch whose reports are collected. */
async function withWatch(body: (dir: string, watch: FileWatch, reports: string[][]) => Promise<void>, quiet = QUIET): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-watch-'));
  const reports: string[][] = [];
  const watch = new FileWatch((changed) => reports.push([...changed].sort()), () => undefined, quiet);
  try {
    await body(dir, watch, reports);
  } finally {
    watch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `reports` has `count` reports (or fails after two seconds). */
async function reported(reports: string[][], count: number): Promise<void> {
  for (let waited = 0; reports.length < count; waited += 20) {
    if (waited > 2000) assert.fail(`${count} report(s) expected, ${reports.length} came: ${JSON.stringify(reports)}`);
    await pause(20);
  }
}

describe('FileWatch', () => {
  test('a file replaced by renaming a new one over it, then written again: each reported once it is quiet', async () => {
    await withWatch(async (dir, watch, reports) => {
      const file = path.join(dir, 'tags.csv');
      fs.writeFileSync(file, 'a\n');
      watch.watch([file]);
      fs.writeFileSync(`${file}.new`, 'b\n');
      fs.renameSync(`${file}.new`, file);
      await reported(reports, 1);
      // The watch is on the folder: the renamed-over file is still watched.
      fs.appendFileSync(file, 'c\n');
      await reported(reports, 2);
      assert.deepEqual(reports, [[file], [file]]);
    });
  });

  test('writes that go on (each within the quiet time of the last) are reported only once they stop', async () => {
    await withWatch(async (dir, watch, reports) => {
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, '');
      watch.watch([file]);
      // An export written in pieces over 2.5 quiet periods (a wide quiet time: a busy machine's timers
      // run late): nothing loads half a file.
      for (let i = 0; i < 6; i++) {
        fs.appendFileSync(file, `${i}\n`);
        await pause(100);
        assert.equal(reports.length, 0, `reported after write ${i + 1}, while writes went on`);
      }
      await reported(reports, 1);
      assert.deepEqual(reports, [[file]]);
    }, 250);
  });

  test('a burst of writes is one report', async () => {
    await withWatch(async (dir, watch, reports) => {
      const file = path.join(dir, 'tags.csv');
      fs.writeFileSync(file, '');
      watch.watch([file]);
      // As a model folder is written: several files, one after the other.
      for (let i = 0; i < 5; i++) fs.appendFileSync(file, `${i}\n`);
      await reported(reports, 1);
      await pause(QUIET * 2);
      assert.deepEqual(reports, [[file]]);
    });
  });

  test('a folder: any file in it; another file beside a watched one is not reported', async () => {
    await withWatch(async (dir, watch, reports) => {
      const folder = path.join(dir, 'model');
      fs.mkdirSync(folder);
      const file = path.join(dir, 'tags.csv');
      fs.writeFileSync(file, '');
      watch.watch([folder, file]);
      fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'x');
      await pause(QUIET * 3);
      assert.deepEqual(reports, [], 'a file beside the watched ones');
      fs.writeFileSync(path.join(folder, 'config.json'), '{}');
      await reported(reports, 1);
      assert.deepEqual(reports, [[folder]]);
    });
  });

  test('a path not there yet is reported when it appears; close ends the watch', async () => {
    await withWatch(async (dir, watch, reports) => {
      const folder = path.join(dir, 'retrained');
      watch.watch([folder]);
      fs.mkdirSync(folder);
      await reported(reports, 1);
      assert.deepEqual(reports, [[folder]]);
      watch.close();
      fs.writeFileSync(path.join(folder, 'model.onnx'), '');
      await pause(QUIET * 3);
      assert.equal(reports.length, 1, 'nothing after close');
    });
  });

  test('watching again replaces what was watched', async () => {
    await withWatch(async (dir, watch, reports) => {
      const first = path.join(dir, 'first.csv');
      const second = path.join(dir, 'second.csv');
      watch.watch([first]);
      watch.watch([second]);
      fs.writeFileSync(first, '');
      await pause(QUIET * 3);
      assert.deepEqual(reports, []);
      fs.writeFileSync(second, '');
      await reported(reports, 1);
      assert.deepEqual(reports, [[second]]);
    });
  });
});
