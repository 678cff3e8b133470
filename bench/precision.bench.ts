// Precision benchmark (npm run bench:precision -- --baseline DIR [--model DIR]): does a model
// folder rank and predict as well as another, e.g. the shipped int8 graph against the float32 one
// it was quantized from? Both engines answer the same validation cases (evaluate.py's protocol:
// posts with crc32(id) % 100 < 10, one case a post, k of its tags in random order as the context,
// k uniform in 1..n-1, the next tag as the target), drawn with the engine's PRNG.
// Prints per folder: mean negative log-likelihood of the target (in-vocabulary targets), and the
// completion's acc@1 and MRR@10 with P = 0, 1, 2 letters typed; then the differences.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { defaultModelDir, loadDictionary, loadEngine, packageRoot } from '../src/model/index';
import type { TagModelEngine } from '../src/model/model-engine';
import { createRandom, shuffleInPlace } from '../src/util/random';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    baseline: { type: 'string' },
    posts: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
if (!values.baseline) {
  console.error('usage: npm run bench:precision -- --baseline DIR [--model DIR] [--posts FILE] [--seed N]');
  process.exit(2);
}
const folders = [path.resolve(values.baseline), path.resolve(values.model ?? defaultModelDir())];
const postsFile = values.posts ?? path.join(packageRoot(), '..', 'shared', 'data', 'posts-danbooru2020-general.tsv');
const PREFIX_LETTERS = [0, 1, 2];

interface Case {
  context: string[];
  target: string;
}

function validationCases(seed: number): Case[] {
  const random = createRandom(seed);
  const cases: Case[] = [];
  for (const line of fs.readFileSync(postsFile, 'utf8').split('\n')) {
    const [id, text] = line.split('\t');
    if (!text || zlib.crc32(Buffer.from(id, 'utf8')) % 100 >= 10) continue;
    const tags = text.split(',').filter(Boolean);
    if (tags.length < 2) continue;
    shuffleInPlace(tags, random);
    const k = 1 + Math.floor(random() * (tags.length - 1));
    cases.push({ context: tags.slice(0, k), target: tags[k] });
  }
  return cases;
}

interface Scores {
  nll: number;
  scored: number;
  acc1: number[];
  mrr10: number[];
}

async function score(engine: TagModelEngine, cases: Case[]): Promise<Scores> {
  const scores: Scores = { nll: 0, scored: 0, acc1: PREFIX_LETTERS.map(() => 0), mrr10: PREFIX_LETTERS.map(() => 0) };
  for (const { context, target } of cases) {
    const token = engine.tokenOf(target);
    if (token >= 0) {
      const state = await engine.freshState(engine.contextTokens(context));
      scores.nll -= state.logProbs[token];
      scores.scored++;
    }
    for (const [i, letters] of PREFIX_LETTERS.entries()) {
      const rank = (await engine.complete(context, target.slice(0, letters), { top: 10 })).findIndex((c) => c.tag === target);
      if (rank === 0) scores.acc1[i]++;
      if (rank >= 0) scores.mrr10[i] += 1 / (rank + 1);
    }
  }
  scores.nll /= scores.scored;
  scores.acc1 = scores.acc1.map((v) => v / cases.length);
  scores.mrr10 = scores.mrr10.map((v) => v / cases.length);
  return scores;
}

async function main(): Promise<void> {
  const cases = validationCases(Number(values.seed));
  console.log(`precision benchmark: ${cases.length} validation cases (seed ${values.seed}), node ${process.version}`);
  const dictionary = loadDictionary();
  const results: Scores[] = [];
  for (const folder of folders) {
    const engine = (await loadEngine({ modelDir: folder, dictionary, threads: 1 })) as TagModelEngine;
    const megabytes = (fs.statSync(engine.files.onnxPath).size / 1e6).toFixed(2);
    const result = await score(engine, cases);
    await engine.dispose();
    results.push(result);
    const metrics = PREFIX_LETTERS.map((p, i) => `P=${p} acc@1 ${result.acc1[i].toFixed(4)} MRR@10 ${result.mrr10[i].toFixed(4)}`);
    console.log(`${folder} (onnx ${megabytes} MB): NLL ${result.nll.toFixed(4)} a tag over ${result.scored} targets | ${metrics.join(' | ')}`);
  }
  const [base, model] = results;
  const signed = (v: number): string => (v >= 0 ? '+' : '') + v.toFixed(4);
  const deltas = PREFIX_LETTERS.map((p, i) => `P=${p} acc@1 ${signed(model.acc1[i] - base.acc1[i])} MRR@10 ${signed(model.mrr10[i] - base.mrr10[i])}`);
  console.log(`model - baseline: NLL ${signed(model.nll - base.nll)} | ${deltas.join(' | ')}`);
  console.log(`(one case of ${cases.length} moves acc@1 by ${(1 / cases.length).toFixed(4)})`);
}

void main();
