// BPE scoring benchmark (npm run bench:bpe): what completion and next tags cost with a sub-word model
// (a tag = several tokens, each candidate scored after the context in its own row), ours against the
// plain scorer measured in the same run: every candidate, batches of 48 padded to the longest, the
// new past fetched, nothing remembered (the engine's scorer before session 12).
//   1. test/fixtures/models/tiny-bpe (trained on the shared real posts): rows, positions and runs a
//      completion, while typing a real post's next tag letter by letter, and the results compared.
//   2. A GPT-2-small-shaped folder with RANDOM weights (training/make_bpe_bench_model.py, generated
//      into bench/.data on first use; GENERATED, its predictions mean nothing): milliseconds, the
//      size of a user's export such as mio/danbooru-gpt2. Random weights give flat distributions, so
//      the bound that stops next tags early rarely does here.
//   3. Both in int8 (training/quantize.py, calibrated on the real posts; generated into bench/.data
//      on first use) against their float32 graph, ours both, taking turns post by post: speed, and on
//      the trained tiny-bpe whether the answers stay the same.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BpeModelEngine } from '../src/model/bpe-engine';
import { loadDictionary, loadEngine, packageRoot } from '../src/model/index';
import { logSumExp } from '../src/model/session';

const root = packageRoot();
const dictionary = loadDictionary();
const postsFile = path.join(root, '..', 'shared', 'data', 'posts-danbooru2020-general.tsv');
const bigModel = path.join(root, 'bench', '.data', 'bpe-gpt2-small');
const tinyModel = path.join(root, 'test', 'fixtures', 'models', 'tiny-bpe');
/** The Python that generates the bench's models (torch and onnx). */
const python = process.env.DANBOORU_GPT_PYTHON ?? '/usr/bin/python3';
const TOP = 20;

/** Real posts' tags (every `every`-th post with enough tags). */
function realPosts(count: number, every: number): string[][] {
  return fs
    .readFileSync(postsFile, 'utf8')
    .split('\n')
    .filter((_, i) => i % every === 0)
    .map((line) => (line.split('\t').pop() ?? '').split(',').filter(Boolean))
    .filter((tags) => tags.length > 21)
    .slice(0, count);
}

/** The plain scorer, as the baseline: every candidate, padded batches of 48, the past fetched, no memory. */
function usePlainScorer(engine: BpeModelEngine): void {
  engine.scoreBest = async (context, tags) => {
    const contextTokens = engine.contextTokens(context);
    const state = await engine.contextState(contextTokens);
    const first = contextTokens.length === 1;
    const scores = new Float64Array(tags.length);
    const longer: { index: number; tokens: number[] }[] = [];
    tags.forEach((tag, index) => {
      const tokens = engine.tagTokens(tag, first);
      scores[index] = state.logProbs[tokens[0]];
      if (tokens.length > 1) longer.push({ index, tokens });
    });
    longer.sort((a, b) => a.tokens.length - b.tokens.length);
    for (let start = 0; start < longer.length; start += 48) {
      const chunk = longer.slice(start, start + 48);
      const steps = chunk[chunk.length - 1].tokens.length - 1;
      const rows = chunk.map(({ tokens }) => [...tokens.slice(0, -1), ...new Array<number>(steps - tokens.length + 1).fill(engine.eosId)]);
      const result = await engine.session.forward(rows, engine.session.expandPast(state.past, rows.length));
      engine.forwardPasses++;
      chunk.forEach(({ index, tokens }, row) => {
        for (let j = 1; j < tokens.length; j++) {
          const offset = (row * steps + j - 1) * result.vocab;
          scores[index] += result.logits[offset + tokens[j]] - logSumExp(result.logits, offset, result.vocab);
        }
      });
    }
    return scores;
  };
}

interface Tally {
  label: string;
  ms: number[];
  rows: number;
  positions: number;
  runs: number;
  answers: string[];
  nextTagsMs: number[];
  nextTagsRows: number;
}

/** Typing each post's 21st tag letter by letter (1, 2, 3 letters, then none) after its first 20 tags; then next tags. */
async function typeAlong(engine: BpeModelEngine, posts: string[][], label: string): Promise<Tally> {
  const tally: Tally = { label, ms: [], rows: 0, positions: 0, runs: 0, answers: [], nextTagsMs: [], nextTagsRows: 0 };
  for (const post of posts) {
    const context = post.slice(0, 20);
    const next = post[20]!;
    for (const prefix of [next.slice(0, 1), next.slice(0, 2), next.slice(0, 3), '']) {
      const before = { rows: engine.session.rows, positions: engine.session.positions, runs: engine.forwardPasses };
      const started = performance.now();
      const completions = await engine.complete(context, prefix, { top: TOP });
      tally.ms.push(performance.now() - started);
      tally.rows += engine.session.rows - before.rows;
      tally.positions += engine.session.positions - before.positions;
      tally.runs += engine.forwardPasses - before.runs;
      tally.answers.push(completions.map((c) => `${c.tag} ${c.score.toFixed(3)}`).join(', '));
    }
    const rowsBefore = engine.session.rows;
    const started = performance.now();
    tally.answers.push((await engine.nextTags(context, TOP)).map((t) => t.tag).join(', '));
    tally.nextTagsMs.push(performance.now() - started);
    tally.nextTagsRows += engine.session.rows - rowsBefore;
  }
  return tally;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

async function compare(modelDir: string, posts: string[][], title: string): Promise<void> {
  const engine = (await loadEngine({ modelDir, dictionary, threads: 2 })) as BpeModelEngine;
  try {
    const ours = await typeAlong(engine, posts, 'ours');
    engine.forgetScores();
    engine.cache.clear();
    usePlainScorer(engine);
    const plain = await typeAlong(engine, posts, 'plain (baseline)');
    const completions = plain.ms.length;
    const same = ours.answers.filter((answer, i) => answer === plain.answers[i]).length;
    console.log(`\n${title}: ${posts.length} real contexts of 20 tags, ${completions} completions (top ${TOP}) and ${posts.length} next-tags calls`);
    for (const tally of [plain, ours]) {
      console.log(
        `  ${tally.label.padEnd(17)} completion median ${median(tally.ms).toFixed(0)} ms, mean ${mean(tally.ms).toFixed(0)} ms;` +
          ` a completion: ${(tally.rows / completions).toFixed(1)} rows, ${(tally.positions / completions).toFixed(0)} positions, ${(tally.runs / completions).toFixed(1)} runs;` +
          ` next tags median ${median(tally.nextTagsMs).toFixed(0)} ms, ${(tally.nextTagsRows / posts.length).toFixed(0)} rows`,
      );
    }
    console.log(
      `  ours / plain: completion ×${(mean(plain.ms) / mean(ours.ms)).toFixed(2)} faster (means), next tags ×${(mean(plain.nextTagsMs) / mean(ours.nextTagsMs)).toFixed(2)};` +
        ` the same answers in ${same} of ${ours.answers.length} (scores to 3 decimals)`,
    );
  } finally {
    await engine.dispose();
  }
}

/** The folder with its graph in int8 (training/quantize.py), generated on first use; undefined when Python cannot. */
function int8Folder(floatDir: string, name: string): string | undefined {
  const target = path.join(root, 'bench', '.data', `${name}-int8`);
  if (fs.existsSync(path.join(target, 'onnx', 'model.onnx'))) return target;
  fs.mkdirSync(path.join(target, 'onnx'), { recursive: true });
  for (const file of fs.readdirSync(floatDir)) {
    if (file.endsWith('.json')) fs.copyFileSync(path.join(floatDir, file), path.join(target, file));
  }
  console.log(`
generating ${path.relative(root, target)} with ${python} training/quantize.py ...`);
  const made = spawnSync(python, ['training/quantize.py', path.join(floatDir, 'onnx', 'model.onnx'), path.join(target, 'onnx', 'model.onnx'), '--posts', postsFile], { cwd: root, stdio: 'inherit' });
  if (made.status !== 0) {
    console.log('  could not quantize it (needs Python with onnx): int8 timing skipped');
    return undefined;
  }
  return target;
}

/** Ours on the float32 graph against ours on its int8 version, post by post in turns. */
async function compareInt8(floatDir: string, int8Dir: string, posts: string[][], title: string): Promise<void> {
  const engines = [
    (await loadEngine({ modelDir: floatDir, dictionary, threads: 2 })) as BpeModelEngine,
    (await loadEngine({ modelDir: int8Dir, dictionary, threads: 2 })) as BpeModelEngine,
  ];
  try {
    const tallies = [undefined, undefined] as (Tally | undefined)[];
    for (const post of posts) {
      engines.forEach((engine) => engine.cache.clear());
      for (const [i, engine] of engines.entries()) {
        const tally = await typeAlong(engine, [post], i === 0 ? 'float32' : 'int8');
        const sum = tallies[i];
        if (!sum) tallies[i] = tally;
        else {
          sum.ms.push(...tally.ms);
          sum.nextTagsMs.push(...tally.nextTagsMs);
          sum.answers.push(...tally.answers);
        }
      }
    }
    const [float, int8] = tallies as Tally[];
    const tags = (answer: string): string[] => answer.split(', ').map((entry) => entry.split(' ')[0]!);
    const sameTags = float.answers.filter((answer, i) => tags(answer).join() === tags(int8.answers[i]!).join()).length;
    const sameFirst = float.answers.filter((answer, i) => tags(answer)[0] === tags(int8.answers[i]!)[0]).length;
    const overlap = mean(float.answers.map((answer, i) => {
      const other = new Set(tags(int8.answers[i]!));
      return tags(answer).filter((tag) => other.has(tag)).length / Math.max(1, tags(answer).length);
    }));
    console.log(`
${title}, float32 against int8 (ours both, post by post in turns): ${float.ms.length} completions (top ${TOP}), ${posts.length} next-tags calls`);
    for (const tally of [float, int8]) {
      console.log(`  ${tally.label.padEnd(8)} completion median ${median(tally.ms).toFixed(0)} ms, mean ${mean(tally.ms).toFixed(0)} ms; next tags median ${median(tally.nextTagsMs).toFixed(0)} ms`);
    }
    console.log(
      `  int8 / float32: completion ×${(mean(float.ms) / mean(int8.ms)).toFixed(2)} faster (means), next tags ×${(mean(float.nextTagsMs) / mean(int8.nextTagsMs)).toFixed(2)};` +
        ` of ${float.answers.length} lists, the same tags in the same order ${sameTags}, the same first tag ${sameFirst}, ${(overlap * 100).toFixed(1)} % of the tags shared`,
    );
  } finally {
    await Promise.all(engines.map((engine) => engine.dispose()));
  }
}

async function main(): Promise<void> {
  await compare(tinyModel, realPosts(40, 7), 'tiny-bpe (2 layers, 64 wide, 1,024 tokens; trained on the real posts)');
  if (!fs.existsSync(path.join(bigModel, 'onnx', 'model.onnx'))) {
    console.log(`\ngenerating ${path.relative(root, bigModel)} (GENERATED, random weights) with ${python} training/make_bpe_bench_model.py ...`);
    const made = spawnSync(python, [path.join(root, 'training', 'make_bpe_bench_model.py'), '--out', bigModel], { cwd: root, stdio: 'inherit' });
    if (made.status !== 0) {
      console.log('  could not generate it (needs Python with torch and onnx): GPT-2-small timing skipped');
      return;
    }
  }
  await compare(bigModel, realPosts(6, 31), 'GPT-2-small shape, GENERATED random weights (12 layers, 768 wide, 50,257 tokens)');
  const tinyInt8 = int8Folder(tinyModel, 'tiny-bpe');
  if (tinyInt8) await compareInt8(tinyModel, tinyInt8, realPosts(40, 7), 'tiny-bpe');
  const bigInt8 = int8Folder(bigModel, 'bpe-gpt2-small');
  if (bigInt8) await compareInt8(bigModel, bigInt8, realPosts(6, 31), 'GPT-2-small shape, GENERATED random weights');
}

main().catch((error: unknown) => {
  console.error(`bench:bpe: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
