// Files named in settings are checked before they are read: a FIFO as the dictionary froze the
// language server for good (readFileSync never returned), a 209 MB translation file took 1.4 GB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDictionary } from '../../src/model/index';
import { loadTranslations } from '../../src/model/translations';
import { readBoundedFileSync } from '../../src/util/files';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-files-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('readBoundedFileSync: a regular file within the bound is read; a folder, a FIFO or a larger file is refused with the reason', { skip: process.platform === 'win32' }, (t) => {
  const dir = tempDir(t);
  const small = path.join(dir, 'small.csv');
  fs.writeFileSync(small, 'smile,0,10\n');
  assert.equal(readBoundedFileSync(small, 64, 'utf8'), 'smile,0,10\n');
  assert.throws(() => readBoundedFileSync(small, 4), /MB, larger than the .* MB read/);
  assert.throws(() => readBoundedFileSync(dir, 64), /a folder, not a file/);
  const fifo = path.join(dir, 'fifo.csv');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readBoundedFileSync(fifo, 64), /not a regular file \(a FIFO, device or socket, which may never end\)/);
  assert.throws(() => readBoundedFileSync(path.join(dir, 'missing.csv'), 64), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
});

test('a dictionary or translation file that is a FIFO is refused naming it, at once (it hung the server)', { skip: process.platform === 'win32' }, (t) => {
  const dir = tempDir(t);
  const fifo = path.join(dir, 'tags.csv');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => loadDictionary(fifo), new RegExp(`${fifo.replace(/[.]/g, '\\.')}: cannot read the tag dictionary \\(not a regular file`));
  assert.throws(() => loadTranslations(fifo), new RegExp(`${fifo.replace(/[.]/g, '\\.')}: not a regular file`));
});
