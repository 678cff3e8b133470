// Sampling cost by top-k (npm run bench:top-k [-- --model DIR]): 50 rows of 40 tags on the shipped
// model with top-k 50 (drafts), 300 and 1,000 (one tag a step, the k best found by selection), and
// every tag (drawn as no cut), each against top-k 0 measured in the same run; and the arrays the
// engine holds after a call with the largest (its array pool keeps a bounded part of a call's peak).
// Prompts are real tags; nothing generated is called real.
import { parseArgs } from 'node:util';
import { defaultModelDir, loadDictionary, loadEngine } from '../src/model/index';
import type { TagModelEngine } from '../src/model/model-engine';

const { values } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const settings = { prompt: ['solo', '1girl'], n: 50, minTags: 40, maxTags: 40, temperature: 1, topP: 0.95 };

/** The median of `runs` timed calls (seeds 1..runs) after one untimed. */
async function medianMs(engine: TagModelEngine, topK: number): Promise<number> {
  await engine.sample({ ...settings, topK, seed: 0 });
  const times: number[] = [];
  for (let seed = 1; seed <= runs; seed++) {
    const started = performance.now();
    await engine.sample({ ...settings, topK, seed });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const engine = (await loadEngine({ modelDir: values.model ?? defaultModelDir(), dictionary: loadDictionary(), threads: 1 })) as TagModelEngine;
  const vocabulary = engine.model.vocabSize;
  const baseline = await medianMs(engine, 0);
  console.log(`top-k 0 (baseline): ${baseline.toFixed(0)} ms for ${settings.n} rows of ${settings.maxTags} tags (median of ${runs})`);
  for (const topK of [50, 300, 1000, vocabulary]) {
    const ms = await medianMs(engine, topK);
    console.log(`top-k ${topK}${topK === vocabulary ? ' (every tag)' : ''}: ${ms.toFixed(0)} ms, ×${(ms / baseline).toFixed(2)} the baseline`);
  }
  global.gc?.();
  const held = process.memoryUsage().arrayBuffers / 2 ** 20;
  console.log(`array buffers held after the calls: ${held.toFixed(0)} MiB${global.gc ? '' : ' (run with --expose-gc for a collected figure)'}`);
  await engine.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
