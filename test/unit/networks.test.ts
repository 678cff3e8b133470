// The LoRA, hypernetwork or embedding name under the cursor (src/server/networks.ts): which kind, and
// the span a completion replaces; the aliases in LoRAs' headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { networkKeywordAt, networkNameAt, networkOfToken } from '../../src/prompt/networks';
import { headerAliases, loraCards } from '../../src/server/networks';
import type { FolderFile } from '../../src/server/folderFiles';
import { execFileSync } from 'node:child_process';

test('networkKeywordAt: a word begun with < is on its way to a network keyword, its span what an item replaces', () => {
  assert.deepEqual(networkKeywordAt('1girl, <lo', 10), { keywords: ['lora'], name: '', start: 7, end: 10 });
  assert.deepEqual(networkKeywordAt('<lora:a:1><lo', 13), { keywords: ['lora'], name: '', start: 10, end: 13 }, 'after a LoRA written with no space');
  assert.equal(networkKeywordAt('1girl, ><', 9), undefined, '>< is a face (an alias of >_<)');
  assert.deepEqual(networkKeywordAt('<', 1), { keywords: ['lora', 'lyco', 'hypernet'], name: '', start: 0, end: 1 });
  assert.deepEqual(networkKeywordAt('1girl, <l:add_det, smile', 13), { keywords: ['lora', 'lyco'], name: 'add', start: 7, end: 17 });
  assert.deepEqual(networkKeywordAt('(<HYP', 5), { keywords: ['hypernet'], name: '', start: 1, end: 5 });
  // The keyword's letters and colon after the cursor are replaced too.
  assert.deepEqual(networkKeywordAt('<lo|ra:x'.replace('|', ''), 3), { keywords: ['lora'], name: '', start: 0, end: 6 });
  assert.deepEqual(networkKeywordAt('smile, <3', 9), { keywords: [], name: '', start: 7, end: 9 });
  assert.equal(networkKeywordAt('1girl, <lora:', 13), undefined, 'a name is typed there');
  assert.equal(networkKeywordAt('a<lo', 4), undefined, 'not at a word start');
  assert.equal(networkKeywordAt('<o>_<o', 6), undefined);
});

test('networkNameAt: a LoRA name is typed after <lora: or <lyco:, and ends at its weight or >', () => {
  assert.deepEqual(networkNameAt('1girl, <lora:', 13), { kind: 'lora', start: 13, end: 13, typed: '' });
  assert.deepEqual(networkNameAt('1girl, <LoRA:add', 16), { kind: 'lora', start: 13, end: 16, typed: 'add' });
  assert.deepEqual(networkNameAt('<lora:ad_detail:0.8>, smile', 8), { kind: 'lora', start: 6, end: 15, typed: 'ad' });
  assert.deepEqual(networkNameAt('<lyco:my style>', 9), { kind: 'lora', start: 6, end: 14, typed: 'my ' });
  assert.equal(networkNameAt('<lora:x:0.', 10), undefined, 'in the weight');
  assert.equal(networkNameAt('<lora:x:1>, smi', 15), undefined, 'after the LoRA');
  assert.deepEqual(networkNameAt('<hypernet:x', 11), { kind: 'hypernet', start: 10, end: 11, typed: 'x' });
  assert.deepEqual(networkNameAt('<Hypernet:an:0.5>', 12), { kind: 'hypernet', start: 10, end: 12, typed: 'an' });
});

test('networkNameAt: an embedding name is typed after embedding: where a tag could start', () => {
  assert.deepEqual(networkNameAt('embedding:', 10), { kind: 'embedding', start: 10, end: 10, typed: '' });
  assert.deepEqual(networkNameAt('1girl, (embedding:bad_prompt:1.2)', 21), { kind: 'embedding', start: 18, end: 28, typed: 'bad' });
  assert.equal(networkNameAt('my_embedding:x', 14), undefined, 'not inside another word');
  assert.equal(networkNameAt('embedding:x, smile', 18), undefined);
});

test('networkOfToken: the LoRA or embedding a network token names, as a1111 (or ComfyUI, for embedding:) looks it up, and where', () => {
  assert.deepEqual(networkOfToken('<lora:add_detail:0.8>'), { kind: 'lora', name: 'add_detail', start: 6, end: 16 });
  assert.deepEqual(networkOfToken('<hypernet:anime:1>'), { kind: 'hypernet', name: 'anime', start: 10, end: 15 });
  assert.equal(networkOfToken('<lorax:x:1>'), undefined, 'another network');
  // a1111 splits at `:` and looks the text up as it is: spaces and an extension are part of the name.
  assert.deepEqual(networkOfToken('<lora: add_detal :0.8>'), { kind: 'lora', name: ' add_detal ', start: 6, end: 17 });
  assert.deepEqual(networkOfToken('<lora:my style.safetensors>'), { kind: 'lora', name: 'my style.safetensors', start: 6, end: 26 });
  // Its extra networks are registered in lower case: `<LyCO:` is skipped.
  assert.deepEqual(networkOfToken('<LyCO:my style:1>'), { kind: 'lora', name: 'my style', start: 6, end: 14, keywordInOtherCase: { start: 1, end: 5 } });
  // ComfyUI tries the extensions for an embedding.
  assert.deepEqual(networkOfToken('embedding:EasyNegative.pt'), { kind: 'embedding', name: 'EasyNegative', start: 10, end: 25 });
});

test('networkNameAt: a LoRA name being typed ends at a comma, and replaces nothing after the cursor that no `:` or `>` closes', () => {
  // `<lora:` typed in front of a tag: the tag stays.
  assert.deepEqual(networkNameAt('1girl, <lora:smile, blue eyes', 13), { kind: 'lora', start: 13, end: 13, typed: '' });
  assert.deepEqual(networkNameAt('1girl, <lora: smile, blue eyes', 13), { kind: 'lora', start: 13, end: 13, typed: '' });
  // A LoRA not closed yet, then a tag being typed: the tag's completion, not a LoRA name.
  assert.equal(networkNameAt('1girl, <lora:add_detail, smi', 28), undefined);
  assert.deepEqual(networkNameAt('<lora:ad_detail>', 8), { kind: 'lora', start: 6, end: 15, typed: 'ad' });
  // A name begun and not closed yet: the rest of its word is replaced (it gave `<lora:add_detail:1>detail`).
  assert.deepEqual(networkNameAt('<lora:add_detail', 10), { kind: 'lora', start: 6, end: 16, typed: 'add_' });
  assert.deepEqual(networkNameAt('<lora:add_detail, smile', 10), { kind: 'lora', start: 6, end: 16, typed: 'add_' });
});

test("headerAliases: a LoRA's header alias (ss_output_name) is read once while the file's size and time stay, again once they change; .safetensors files only", async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-lora-header-unit-'));
  try {
    // Files written for the test: safetensors headers holding only metadata.
    const write = (file: string, alias: string): void => {
      const json = Buffer.from(JSON.stringify({ __metadata__: { ss_output_name: alias } }));
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      fs.writeFileSync(file, Buffer.concat([length, json]));
    };
    const [lora, pt] = [path.join(folder, 'lora.safetensors'), path.join(folder, 'old.pt')];
    const listed = [{ name: 'lora', path: lora }, { name: 'old', path: pt }];
    write(lora, 'first_name');
    write(pt, 'pt_alias');
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    fs.utimesSync(lora, time, time);
    assert.deepEqual([...(await headerAliases(listed))], [[lora, 'first_name']]);
    // The same size and time: not read again (a listing every few seconds of thousands of LoRAs).
    write(lora, 'other_name');
    fs.utimesSync(lora, time, time);
    assert.deepEqual([...(await headerAliases(listed))], [[lora, 'first_name']]);
    const later = new Date(time.getTime() + 2000);
    fs.utimesSync(lora, later, later);
    assert.deepEqual([...(await headerAliases(listed))], [[lora, 'other_name']]);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('networkFiles: a listing again with the same files takes the names made before (no sort of every path, no header stat-ed again); a file added makes them again', async () => {
  const { networkFiles } = await import('../../src/server/networks');
  const { DEFAULT_SETTINGS } = await import('../../src/server/settings');
  // A stand-in for FolderFiles that lists the folder again at each call, as it does every 5 s.
  let listed = ['/l/add_detail.safetensors', '/l/watercolor.pt'];
  const folders = { files: async () => listed.map((file) => ({ name: file.slice(3).replace(/\.\w+$/, ''), path: file })) } as unknown as import('../../src/server/folderFiles').FolderFiles;
  const settings = { ...DEFAULT_SETTINGS, loraFolders: ['/l-networks-test'] };
  const first = await networkFiles(folders, settings, 'lora');
  assert.equal(await networkFiles(folders, settings, 'lora'), first);
  listed = [...listed, '/l/new_one.safetensors'];
  const again = await networkFiles(folders, settings, 'lora');
  assert.notEqual(again, first);
  assert.deepEqual(again.map((file) => file.name).sort(), ['add_detail', 'new_one', 'watercolor']);
});

test('loraCards: a card that is no plain file (a FIFO) or is huge is not read; trigger words become one line of a prompt', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-cards-'));
  try {
    const lora = (name: string): FolderFile => ({ name, path: path.join(folder, `${name}.safetensors`) });
    for (const name of ['fifo', 'huge', 'lines']) fs.writeFileSync(path.join(folder, `${name}.safetensors`), '');
    execFileSync('mkfifo', [path.join(folder, 'fifo.json')]);
    fs.writeFileSync(path.join(folder, 'huge.json'), JSON.stringify({ 'activation text': 'x'.repeat(2 << 20) }));
    fs.writeFileSync(path.join(folder, 'lines.json'), JSON.stringify({ 'activation text': 'detailed,\nintricate details, \n', 'preferred weight': 0 }));
    const started = performance.now();
    const cards = await loraCards([lora('fifo'), lora('huge'), lora('lines')]);
    assert.ok(performance.now() - started < 2000, 'a FIFO is not opened (reading it waits for a writer for ever)');
    assert.deepEqual(cards.get(lora('fifo').path), {});
    assert.deepEqual(cards.get(lora('huge').path), {});
    assert.deepEqual(cards.get(lora('lines').path), { words: 'detailed, intricate details' }, 'a1111 writes preferred weight 0 for none');
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});
