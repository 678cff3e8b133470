// documentsInScope with tagScope `folder`: a folder's files are read a few ahead, within a byte budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineDocument } from '../../src/server/lineDocument';
import { DEFAULT_SETTINGS } from '../../src/server/settings';
import { documentsInScope } from '../../src/server/tagScope';
import type { ServerContext } from '../../src/server/serverContext';

test('tag scope folder: large files are read ahead within 64 MB at a time, small ones many at once; every file comes, in order', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-scope-'));
  t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
  const open = path.join(folder, 'a.txt');
  fs.writeFileSync(open, '1girl, solo\n');
  // Six datasets of 20 MB saved as .txt beside the captions (sparse: no disk written), then small captions.
  for (let i = 0; i < 6; i++) {
    const big = path.join(folder, `big${i}.txt`);
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 20 << 20);
  }
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(folder, `caption${String(i).padStart(2, '0')}.txt`), 'smile\n');
  let reading = 0;
  let mostAtOnce = 0;
  let mostBigAtOnce = 0;
  let bigReading = 0;
  const readFile = fs.promises.readFile;
  t.mock.method(fs.promises, 'readFile', async (...args: Parameters<typeof readFile>) => {
    const big = String(args[0]).includes('big');
    reading++;
    if (big) bigReading++;
    mostAtOnce = Math.max(mostAtOnce, reading);
    mostBigAtOnce = Math.max(mostBigAtOnce, bigReading);
    try {
      return await readFile(...args);
    } finally {
      reading--;
      if (big) bigReading--;
    }
  });
  const document = LineDocument.create(pathToFileURL(open).href, 'danbooru-prompt', 1, '1girl, solo');
  const ctx = { documents: { all: () => [document] }, folders: { warn: () => undefined }, settings: { warnOnce: () => undefined } } as unknown as ServerContext;
  const seen: string[] = [];
  for await (const each of documentsInScope(ctx, document, { ...DEFAULT_SETTINGS, tagScope: 'folder' })) {
    seen.push(path.basename(new URL(each.uri).pathname));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(seen, ['a.txt', ...Array.from({ length: 6 }, (_, i) => `big${i}.txt`), ...Array.from({ length: 40 }, (_, i) => `caption${String(i).padStart(2, '0')}.txt`)]);
  assert.ok(mostBigAtOnce <= 3, `${mostBigAtOnce} files of 20 MB read at once (64 MB: 3)`);
  assert.ok(mostAtOnce > 3, `small files read ahead too: ${mostAtOnce} at most at once`);
});

test('tag scope folder: a caption linked in from elsewhere is one of the files; a link to one already there (or to the document) is not read twice, also when the folder is reached through a link; none in an untrusted workspace', { skip: process.platform === 'win32' }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-scope-links-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const real = path.join(root, 'dataset');
  fs.mkdirSync(real);
  fs.mkdirSync(path.join(root, 'elsewhere'));
  fs.writeFileSync(path.join(real, 'a.txt'), '1girl, solo\n');
  fs.writeFileSync(path.join(real, 'b.txt'), 'smile\n');
  fs.writeFileSync(path.join(root, 'elsewhere', 'c.txt'), 'blush\n');
  fs.symlinkSync(path.join(root, 'elsewhere', 'c.txt'), path.join(real, 'c.txt'));
  fs.symlinkSync(path.join(real, 'b.txt'), path.join(real, 'd-same-as-b.txt'));
  fs.symlinkSync(path.join(real, 'a.txt'), path.join(real, 'e-same-as-a.txt'));
  // As macOS's /var is a link to /private/var: the folder's path goes through a link.
  fs.symlinkSync(real, path.join(root, 'via-link'));
  for (const [folder, confined, expected] of [
    [real, false, ['a.txt: 1girl, solo', 'b.txt: smile\n', 'c.txt: blush, unsaved']],
    [path.join(root, 'via-link'), false, ['a.txt: 1girl, solo', 'b.txt: smile\n', 'c.txt: blush, unsaved']],
    [real, true, ['a.txt: 1girl, solo', 'b.txt: smile\n']],
  ] as const) {
    const document = LineDocument.create(pathToFileURL(path.join(folder, 'a.txt')).href, 'danbooru-prompt', 1, '1girl, solo');
    // Open by its real path, with unsaved edits: reached through the link, the editor's text is read.
    const elsewhere = LineDocument.create(pathToFileURL(path.join(root, 'elsewhere', 'c.txt')).href, 'danbooru-prompt', 3, 'blush, unsaved');
    const ctx = { documents: { all: () => [document, elsewhere] }, folders: { warn: () => undefined, confined }, settings: { warnOnce: () => undefined } } as unknown as ServerContext;
    const seen: string[] = [];
    for await (const each of documentsInScope(ctx, document, { ...DEFAULT_SETTINGS, tagScope: 'folder' })) seen.push(`${path.basename(new URL(each.uri).pathname)}: ${each.getText()}`);
    assert.deepEqual(seen, expected, `${folder} confined ${confined}`);
  }
});
