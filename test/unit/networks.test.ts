// The LoRA, hypernetwork or embedding name under the cursor (src/server/networks.ts): which kind, and
// the span a completion replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkNameAt, networkOfToken } from '../../src/prompt/networks';

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

test('networkOfToken: the LoRA or embedding a network token names, without its extension, and where', () => {
  assert.deepEqual(networkOfToken('<lora:add_detail:0.8>'), { kind: 'lora', name: 'add_detail', start: 6, end: 16 });
  assert.deepEqual(networkOfToken('<LyCO:my style.safetensors>'), { kind: 'lora', name: 'my style', start: 6, end: 26 });
  assert.deepEqual(networkOfToken('embedding:EasyNegative.pt'), { kind: 'embedding', name: 'EasyNegative', start: 10, end: 25 });
  assert.deepEqual(networkOfToken('<hypernet:anime:1>'), { kind: 'hypernet', name: 'anime', start: 10, end: 15 });
  assert.equal(networkOfToken('<lorax:x:1>'), undefined, 'another network');
  // The name's span leaves out the spaces around it (a diagnostic or hover underlined them).
  assert.deepEqual(networkOfToken('<lora: add_detal :0.8>'), { kind: 'lora', name: 'add_detal', start: 7, end: 16 });
});
