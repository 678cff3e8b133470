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

test('a dictionary CSV or translation file in UTF-16, Latin-1/GBK or with NUL bytes is refused with the line, not loaded as garbled tags', (t) => {
  const dir = tempDir(t);
  const write = (name: string, data: Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    return file;
  };
  const utf16 = write('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('smile,0,10\n', 'utf16le')]));
  assert.throws(() => loadDictionary(utf16), /utf16\.csv: UTF-16 text; save it as UTF-8/);
  const latin1 = write('latin1.csv', Buffer.concat([Buffer.from('smile,0,10\n'), Buffer.from('caf\xe9_tag,0,5\n', 'latin1')]));
  assert.throws(() => loadDictionary(latin1), /latin1\.csv:2: not UTF-8 text \(a Latin-1 or GBK file\?\); save it as UTF-8/);
  const nul = write('nul.csv', Buffer.from('smile,0,10\nblush,0,5\nred\0eyes,0,3\n'));
  assert.throws(() => loadDictionary(nul), /nul\.csv:3: holds a NUL byte/);
  // GBK `长发` (0xb3a4 0xb7a2) in a translation file.
  const gbk = write('gbk.csv', Buffer.concat([Buffer.from('long_hair,'), Buffer.from([0xb3, 0xa4, 0xb7, 0xa2]), Buffer.from('\n')]));
  assert.throws(() => loadTranslations(gbk), /gbk\.csv:1: not UTF-8 text/);
  // UTF-8 (with its BOM, as Windows tools save it) loads.
  const good = write('good.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('long_hair,长发\n')]));
  assert.equal(loadTranslations(good).translations.size, 1);
  assert.equal(loadDictionary(write('good-tags.csv', Buffer.from('café,0,10\n'))).size, 1);
});
