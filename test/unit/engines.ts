// The three engines the language server may run, for tests that every one of them must pass.
import { after, before, describe } from 'node:test';
import path from 'node:path';
import { createDictionaryOnlyEngine, loadEngine, type CompactTagDictionary, type TagEngine } from '../../src/model/index';

const models = path.join(__dirname, '..', 'fixtures', 'models');

/** Declares `body`'s tests once per engine (tag model, BPE model, dictionary only), each in its own suite. */
export function describeEveryEngine(dictionary: CompactTagDictionary, body: (engine: () => TagEngine) => void): void {
  const engines: [string, () => Promise<TagEngine>][] = [
    ['tag model', () => loadEngine({ modelDir: path.join(models, 'tiny-tag'), dictionary, threads: 1 })],
    ['BPE model', () => loadEngine({ modelDir: path.join(models, 'tiny-bpe'), dictionary, threads: 1 })],
    ['dictionary only', () => Promise.resolve(createDictionaryOnlyEngine(dictionary))],
  ];
  for (const [name, load] of engines) {
    describe(name, () => {
      let engine: TagEngine;
      before(async () => (engine = await load()));
      after(() => engine.dispose());
      body(() => engine);
    });
  }
}
