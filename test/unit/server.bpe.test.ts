// The language server with a sub-word BPE model folder (test/fixtures/models/tiny-bpe, standing in
// for an export of mio/danbooru-gpt2): every LSP feature as a user of such a folder meets it,
// cancellation, a switch to a tag model and back without restart, and an older export's merged
// decoder. The fixture is tiny and barely trained: the tests check what holds for any model (no tag
// of the prompt suggested again, sampled tags valid and allowed), not the quality of its choices.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompletionRequest, HoverRequest, LSPErrorCodes, type CompletionItem, type CompletionList, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { NextTagsRequest, RelatedTagsRequest, SampleTagsRequest } from '../../src/protocol';
import { loadDictionary, type TagDictionary } from '../../src/model/index';
import { CancellationTokenSource, LspTestClient, applyEdits, repoRoot, tinyModel, type Settings } from './serverHarness';

const bpeModel = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny-bpe');
const SETTINGS: Settings = { modelFolder: bpeModel, sample: { seed: 7, count: 4, maxTags: 12 } };

const labels = (items: CompletionItem[]): string[] => items.map((item) => String(item.label));
const isCancelled = (error: { code?: number }): boolean => error.code === LSPErrorCodes.RequestCancelled;
/** The tags a hover lists as likely next (`tag` 1.2%). */
const hoverNextTags = (markdown: string): string[] => [...(/Likely next, by .*$/m.exec(markdown)?.[0] ?? '').matchAll(/`([^`]+)` \d/g)].map((m) => m[1]!);

describe('language server with the sub-word BPE model tiny-bpe', () => {
  let client: LspTestClient;
  let dictionary: TagDictionary;
  /** The canonical name of a tag the dictionary knows, else undefined. */
  const canonical = (name: string): string | undefined => dictionary.resolve(name)?.tag.name;

  before(async () => {
    dictionary = await loadDictionary();
    client = await LspTestClient.start(SETTINGS);
  });
  after(() => client.stop());

  test('the model loads, and the status names it, its folder and its kind', async () => {
    await client.open('status.prompt', '1girl');
    const status = await client.waitForStatus((s) => !s.loading);
    assert.equal(status.health, 'ok', status.message);
    assert.equal(status.model, 'tiny-bpe');
    assert.ok(status.message.includes(bpeModel), status.message);
    assert.match(status.message, /byte-level BPE/);
    assert.equal(client.logs.filter((log) => log.type <= 2).length, 0, JSON.stringify(client.logs));
  });

  test('completion of a typed prefix: matches of the prefix, a tag typed with spaces, no tag of the prompt', async () => {
    const lines = ['1girl, solo, bl', 'long ha', '1girl, bl, blush, blue eyes', '(bl'];
    const uri = await client.open('prefix.prompt', lines.join('\n'));
    const afterSolo = await client.completionItems(uri, 0, 15);
    assert.ok(afterSolo.length >= 10, labels(afterSolo).join(' '));
    assert.ok(afterSolo.every((item) => String(item.label).startsWith('bl') || item.label.includes('→')), labels(afterSolo).join(' '));
    assert.equal(afterSolo[0]!.textEdit && 'range' in afterSolo[0]!.textEdit ? afterSolo[0]!.textEdit.range.start.character : -1, 13);

    assert.equal(labels(await client.completionItems(uri, 1, 7))[0], 'long_hair');

    // Tags right of the cursor are in the prompt too.
    const middle = labels(await client.completionItems(uri, 2, 9));
    assert.ok(middle.length >= 10);
    assert.ok(!middle.includes('blush') && !middle.includes('blue_eyes'), middle.join(' '));

    // Inside emphasis: the range is the tag, not the parenthesis.
    const emphasis = await client.completionItems(uri, 3, 3);
    assert.ok(emphasis.length > 0);
    const edit = emphasis[0]!.textEdit!;
    assert.ok('range' in edit && edit.range.start.character === 1, JSON.stringify(edit));
  });

  test('completion with nothing typed, after weights and LoRA syntax: the model\'s next tags, minus the prompt\'s', async () => {
    const lines = ['(long hair:1.2), <lora:foo:0.8>, [smiling], ', '1girl, solo, ', '(long hair:'];
    const uri = await client.open('empty-prefix.prompt', lines.join('\n'));
    const afterWeights = labels(await client.completionItems(uri, 0, lines[0]!.length));
    assert.ok(afterWeights.length >= 10, afterWeights.join(' '));
    assert.ok(!afterWeights.includes('long_hair') && !afterWeights.includes('smile'), afterWeights.join(' '));
    assert.ok(afterWeights.every((tag) => canonical(tag) === tag), afterWeights.join(' '));
    const afterSolo = labels(await client.completionItems(uri, 1, lines[1]!.length));
    assert.ok(!afterSolo.includes('1girl') && !afterSolo.includes('solo'), afterSolo.join(' '));
    // The context reaches the model: another prompt, another list.
    assert.notDeepEqual(afterWeights, afterSolo);
    // Typing a weight is not typing a tag.
    assert.equal(await client.complete(uri, 2, lines[2]!.length), null);
  });

  test('completion categories: only the chosen categories, with and without a prefix', async (t) => {
    const artists = await LspTestClient.start({ ...SETTINGS, completion: { categories: ['artist'] } });
    t.after(() => artists.stop());
    const uri = await artists.open('artists.prompt', '1girl, solo, \n1girl, solo, bl');
    for (const [line, column] of [[0, 13], [1, 15]] as const) {
      const items = await artists.completionItems(uri, line, column);
      assert.ok(items.length >= 10, labels(items).join(' '));
      assert.ok(items.every((item) => item.detail?.startsWith('artist')), items.map((i) => `${String(i.label)}: ${i.detail}`).join(', '));
      assert.ok(items.every((item) => dictionary.get(String(item.label))?.category === 1), labels(items).join(' '));
    }
  });

  test('hover: the tag\'s entry and the model\'s likely next tags, none of them in the prompt', async () => {
    const line = '1girl, solo, smiling, blush, xqzv';
    const uri = await client.open('hover.prompt', line);
    const hover = await client.hover(uri, 0, 2);
    assert.ok(hover);
    const markdown = (hover.contents as MarkupContent).value;
    assert.match(markdown, /^\*\*1girl\*\*/);
    assert.match(markdown, /Likely next, by the model \(tiny-bpe\)/);
    const next = hoverNextTags(markdown);
    assert.equal(next.length, 5, markdown);
    for (const tag of next) assert.ok(!['1girl', 'solo', 'smile', 'blush'].includes(tag), `${tag} is in the prompt: ${markdown}`);
    // On a word that is no tag: said so, and still an answer.
    const unknown = await client.hover(uri, 0, line.indexOf('xqzv') + 1);
    assert.match((unknown!.contents as MarkupContent).value, /^\*\*xqzv\*\* is not a Danbooru tag/);
  });

  test('Related Tags: the context left of the cursor, the model\'s next tags minus the prompt\'s, likeliest first', async () => {
    const line = '1girl, solo, smiling, bl';
    const uri = await client.open('related.prompt', `${line}\n1girl, solo, , blush`);
    const related = await client.related(uri, 0, line.length, 8);
    // `bl` is being typed: not context yet.
    assert.deepEqual(related.context, ['1girl', 'solo', 'smiling']);
    assert.equal(related.fromModel, true);
    assert.equal(related.tags.length, 8);
    for (const tag of related.tags) {
      assert.ok(!['1girl', 'solo', 'smile'].includes(tag.tag), tag.tag);
      assert.equal(canonical(tag.tag), tag.tag);
      assert.ok(tag.probability > 0 && tag.probability <= 1);
      assert.equal(tag.insertText, tag.tag.replace(/_/g, ' '));
    }
    const probabilities = related.tags.map((tag) => tag.probability);
    assert.deepEqual(probabilities, [...probabilities].sort((a, b) => b - a));
    // A tag right of the cursor is in the prompt too.
    const middle = await client.related(uri, 1, 13, 20);
    assert.deepEqual(middle.context, ['1girl', 'solo']);
    assert.ok(!middle.tags.some((tag) => tag.tag === 'blush'), middle.tags.map((tag) => tag.tag).join(' '));
  });

  test('inline suggestion: the model\'s next tag after a separator, the typed tag finished, never a tag of the prompt', async () => {
    const lines = ['1girl, solo, ', '1girl, solo, bl', '1girl, bl, blush, blue hair'];
    const uri = await client.open('inline.prompt', lines.join('\n'));
    const next = await client.nextTags(uri, 0, lines[0]!.length);
    assert.equal(next.items.length, 1);
    assert.ok(!['1girl', 'solo'].includes(next.items[0]!.tag));
    assert.equal(next.items[0]!.insertText, `${next.items[0]!.tag.replace(/_/g, ' ')}, `);
    const finished = await client.nextTags(uri, 1, lines[1]!.length);
    assert.equal(finished.items.length, 1);
    assert.ok(finished.items[0]!.insertText.startsWith('bl'), finished.items[0]!.insertText);
    assert.deepEqual(finished.items[0]!.range.start, { line: 1, character: 13 });
    const middle = await client.nextTags(uri, 2, 9);
    for (const item of middle.items) assert.ok(!['blush', 'blue_hair'].includes(item.tag), item.tag);
    // After a separator too: the tag it proposes at the end is not proposed where it is written right of the cursor.
    const proposed = next.items[0]!.tag;
    const right = await client.open('inline-right.prompt', `1girl, solo, , ${proposed.replace(/_/g, ' ')}`);
    const again = await client.nextTags(right, 0, 13);
    assert.equal(again.items.length, 1);
    assert.notEqual(again.items[0]!.tag, proposed);
  });

  test('Sample Tags: reproducible with a seed, continues the prompt, every tag a new allowed dictionary tag', async () => {
    const line = '1girl, solo, smile';
    const { first } = await client.sampleTwiceAtEnd('sample.prompt', line, 7);
    assert.ok(first.samples.length > 0);
    for (const sample of first.samples) {
      assert.ok(sample.tags.length > 0 && sample.tags.length <= 12, sample.tags.join(' '));
      assert.equal(new Set(sample.tags).size, sample.tags.length, sample.tags.join(' '));
      for (const tag of sample.tags) {
        assert.equal(canonical(tag), tag, `${tag} is not a canonical dictionary tag`);
        assert.ok(!['1girl', 'solo', 'smile'].includes(tag), sample.tags.join(' '));
      }
      assert.ok(applyEdits(line, [sample.edit!]).startsWith(`${line}, ${sample.text}`));
    }
    // Without a document: samples of an empty prompt.
    const empty = await client.sample(undefined, 0, 0, 3);
    assert.deepEqual(empty.context, []);
    assert.ok(empty.samples.length > 0);
    for (const sample of empty.samples) for (const tag of sample.tags) assert.equal(canonical(tag), tag);
  });

  // Heavy bans reject many draws (banned, repeated or no dictionary tag): a row ends only after 32
  // rejections in a row (16 ended rows of this test short of minTags).
  test('Sample Tags: banned tags (names and globs), the min and max tag counts are kept', async (t) => {
    const banning = await LspTestClient.start({ modelFolder: bpeModel, bannedTags: ['smile', '*hair*', '*girls'], sample: { seed: 11, count: 8, minTags: 6, maxTags: 6 } });
    t.after(() => banning.stop());
    const uri = await banning.open('ban.prompt', '1girl, solo, ');
    const result = await banning.sample(uri, 0, 13);
    assert.equal(result.samples.length, 8);
    for (const sample of result.samples) {
      assert.equal(sample.tags.length, 6, sample.tags.join(' '));
      for (const tag of sample.tags) assert.ok(tag !== 'smile' && !tag.includes('hair') && !tag.endsWith('girls'), `banned ${tag} sampled`);
    }
  });

  test('Sample Tags: a tag right of the cursor written as an alias is not sampled again', async () => {
    // `smiling` is an alias of `smile`, which this model samples often after `1girl, solo`.
    const line = '1girl, solo, smiling';
    const uri = await client.open('sample-alias.prompt', line);
    const result = await client.sample(uri, 0, 'solo'.length + 7, 20);
    assert.deepEqual(result.context, ['1girl', 'solo']);
    assert.ok(result.samples.length > 10);
    for (const sample of result.samples) assert.ok(!sample.tags.includes('smile'), `smile sampled before "smiling": ${sample.tags.join(' ')}`);
  });

  test('cancelled requests answer RequestCancelled: Related Tags, hover, inline suggestion, Sample Tags', async () => {
    // Each on a prompt the model has not seen yet, so that there is work left to cancel.
    const lines = ['1girl, hat, bow, ', 'tail, skirt, boots, ', '2girls, yuri, hug, ', '1boy, male focus, '];
    const uri = await client.open('cancel.prompt', lines.join('\n'));
    await client.waitForDiagnostics(uri);
    // A cancelled request either answers RequestCancelled or, cancelled before any work, nothing.
    const cancelled = async <R>(send: (token: CancellationTokenSource) => Promise<R>, what: string): Promise<void> => {
      const source = new CancellationTokenSource();
      const request = send(source);
      source.cancel();
      const answer = await request.then(
        (result) => result,
        (error: { code?: number; message?: string }) => {
          assert.ok(isCancelled(error), `${what}: ${error.code} ${error.message}`);
          return null;
        },
      );
      const empty = answer === null || (typeof answer === 'object' && 'items' in answer && Array.isArray(answer.items) && answer.items.length === 0);
      assert.ok(empty, `${what} answered a cancelled request: ${JSON.stringify(answer)}`);
    };
    const at = (line: number) => ({ textDocument: { uri }, position: { line, character: lines[line]!.length } });
    await cancelled((source) => client.connection.sendRequest(RelatedTagsRequest, { ...at(0), k: 20 }, source.token), 'Related Tags');
    await cancelled((source) => client.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 1 } }, source.token), 'hover');
    await cancelled((source) => client.connection.sendRequest(NextTagsRequest, at(2), source.token), 'inline suggestion');
    await cancelled((source) => client.connection.sendRequest(SampleTagsRequest, { ...at(3), n: 20 }, source.token), 'Sample Tags');
    // The server goes on answering.
    assert.equal((await client.related(uri, 0, lines[0]!.length, 5)).tags.length, 5);
  });

  test('a newer completion of the same document aborts the one in flight (RequestCancelled); another document\'s goes on', async () => {
    // Prompts the model has not seen, so that each completion has runs left when the next one comes.
    const lines = ['1girl, cat ears, tail, s', '2girls, hug, yuri, b', 'solo, armor, sword, h', '1boy, male focus, suit, t', 'flower, outdoors, sky, c'];
    const uri = await client.open('supersede.prompt', lines.join('\n'));
    const other = await client.open('supersede-other.prompt', '1girl, witch hat, cape, l');
    const send = (target: string, line: number, character: number): Promise<CompletionList | null | 'cancelled'> =>
      client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: target }, position: { line, character } }).then(
        (result) => result as CompletionList | null,
        (error: { code?: number; message?: string }) => {
          assert.ok(isCancelled(error), `${error.code} ${error.message}`);
          return 'cancelled' as const;
        },
      );
    // Sent together, as fast typing does: only the last of the document's answers.
    const answers = await Promise.all([...lines.map((line, i) => send(uri, i, line.length)), send(other, 0, 25)]);
    const last = answers[lines.length - 1];
    assert.ok(last !== 'cancelled' && last !== null && last.items.length > 0, 'the newest completion answers');
    assert.ok(answers.slice(0, lines.length - 1).every((answer) => answer === 'cancelled'), JSON.stringify(answers.map((a) => (typeof a === 'string' ? a : 'answered'))));
    const otherAnswer = answers[lines.length];
    assert.ok(otherAnswer !== 'cancelled' && otherAnswer !== null && otherAnswer.items.length > 0, 'another document\'s completion is not aborted');
  });

  test('diagnostics and quick fixes work as with a tag model', async () => {
    const text = '1girl, blue eyez, solo, solo, longhair';
    const uri = await client.open('diagnostics.prompt', text);
    const diagnostics = await client.waitForDiagnostics(uri, (d) => d.length >= 3);
    const byCode = (code: string) => diagnostics.find((d) => d.code === code)!;
    const unknownFix = (await client.codeActions(uri, [byCode('unknown-tag')]))[0]!;
    assert.equal(applyEdits(text, unknownFix.edit!.changes![uri]!), text.replace('blue eyez', 'blue eyes'));
    const duplicateFix = (await client.codeActions(uri, [byCode('duplicate-tag')]))[0]!;
    assert.equal(applyEdits(text, duplicateFix.edit!.changes![uri]!), text.replace(', solo, longhair', ', longhair'));
    const aliasFix = (await client.codeActions(uri, [byCode('alias-tag')]))[0]!;
    assert.equal(applyEdits(text, aliasFix.edit!.changes![uri]!), text.replace('longhair', 'long hair'));
  });
});

describe('switching the model folder between tiny-bpe and tiny-tag without a restart', () => {
  test('each switch loads the other kind, reports it, and its answers come from it', async (t) => {
    const client = await LspTestClient.start(SETTINGS);
    t.after(() => client.stop());
    const line = '1girl, solo, bl';
    const uri = await client.open('switch.prompt', line);
    await client.waitForStatus((s) => !s.loading && s.model === 'tiny-bpe');
    const bpeItems = labels(await client.completionItems(uri, 0, line.length));
    const bpeHover = (await client.hover(uri, 0, 1))!;

    await client.changeSettings({ ...SETTINGS, modelFolder: tinyModel });
    const tagStatus = await client.waitForStatus((s) => !s.loading && s.model === 'tiny-tag');
    assert.equal(tagStatus.health, 'ok', tagStatus.message);
    assert.doesNotMatch(tagStatus.message, /BPE/);
    const tagItems = labels(await client.completionItems(uri, 0, line.length));
    assert.ok(tagItems.length >= 10);
    assert.notDeepEqual(tagItems, bpeItems);
    assert.match((((await client.hover(uri, 0, 1))!).contents as MarkupContent).value, /by the model \(tiny-tag\)/);
    assert.ok((await client.sample(uri, 0, line.length - 4)).samples.length > 0);

    const loads = client.statuses.length;
    await client.changeSettings(SETTINGS);
    await client.waitForStatus((s) => client.statuses.indexOf(s) >= loads && !s.loading && s.model === 'tiny-bpe');
    assert.deepEqual(labels(await client.completionItems(uri, 0, line.length)), bpeItems);
    assert.deepEqual(await client.hover(uri, 0, 1), bpeHover);
    assert.equal(client.logs.filter((log) => log.type <= 2).length, 0, JSON.stringify(client.logs));
  });

  test('a sample running when the folder changes still answers, from the model it began on', async (t) => {
    // Long samples (rows end only when the context is full): it outlasts loading the other model.
    const long = { modelFolder: bpeModel, sample: { seed: 5, count: 8, minTags: 150, maxTags: 200 } };
    const client = await LspTestClient.start(long);
    t.after(() => client.stop());
    const uri = await client.open('switch-sample.prompt', '1girl, ');
    await client.waitForStatus((s) => !s.loading && s.model === 'tiny-bpe');
    let settled = false;
    const sample = client.sample(uri, 0, 7).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.changeSettings({ ...long, modelFolder: tinyModel });
    await client.waitForStatus((s) => !s.loading && s.model === 'tiny-tag');
    assert.ok(!settled, 'the sample should still be running when the other model has loaded (make it longer)');
    const result = await sample;
    assert.equal(result.samples.length, 8);
    for (const tags of result.samples) assert.ok(tags.tags.length > 10);
  });
});

test('an older export\'s merged decoder (onnx/decoder_model_merged.onnx) loads and serves every feature', async (t) => {
  const python = process.env.DANBOORU_GPT_PYTHON ?? '/usr/bin/python3';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-merged-lsp-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const made = spawnSync(python, [path.join(repoRoot, 'training', 'make_merged_decoder.py'), bpeModel, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const merged = await LspTestClient.start({ ...SETTINGS, modelFolder: dir });
  const plain = await LspTestClient.start(SETTINGS);
  t.after(async () => {
    await merged.stop();
    await plain.stop();
  });
  const lines = ['1girl, solo, ', '1girl, solo, bl'];
  const text = lines.join('\n');
  const [mergedUri, plainUri] = await Promise.all([merged.open('merged.prompt', text), plain.open('merged.prompt', text)]);
  const status = await merged.waitForStatus((s) => !s.loading);
  assert.equal(status.health, 'ok', status.message);
  assert.match(status.message, /byte-level BPE/);
  // The same graph in another layout: the same answers.
  for (const [line, column] of [[0, 13], [1, 15]] as const) {
    assert.deepEqual(labels(await merged.completionItems(mergedUri, line, column)), labels(await plain.completionItems(plainUri, line, column)));
  }
  const relatedTags = async (client: LspTestClient, uri: string) => (await client.related(uri, 0, 13, 10)).tags.map((tag) => tag.tag);
  assert.deepEqual(await relatedTags(merged, mergedUri), await relatedTags(plain, plainUri));
  assert.deepEqual((await merged.nextTags(mergedUri, 0, 13)).items, (await plain.nextTags(plainUri, 0, 13)).items);
  assert.ok(hoverNextTags(((await merged.hover(mergedUri, 0, 1))!.contents as MarkupContent).value).length > 0);
  const samples = await merged.sample(mergedUri, 0, 13);
  assert.deepEqual(samples.samples.map((sample) => sample.tags), (await plain.sample(plainUri, 0, 13)).samples.map((sample) => sample.tags));
});
