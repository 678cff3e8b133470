import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpeModelEngine, keepsOnlyBest, scoringRows } from '../../src/model/bpe-engine';
import { normalizeTag } from '../../src/model/dictionary';
import { loadDictionary, loadEngine } from '../../src/model/index';
import { PastTiles } from '../../src/model/session';

const fixture = path.join(__dirname, '..', 'fixtures', 'models', 'tiny-bpe');
const dictionary = loadDictionary();

/** The tag starts sampling rules out (no dictionary tag or alias starts so), recorded for the test. */
/**
 * The tag starts a sampling call rules out part-way (they can become no tag the row may write); each
 * checked: it is no tag, or one the row may not write (used or banned).
 */
function recordRuledOut(t: TestContext): string[] {
  const ruledOut: string[] = [];
  const startsSomeAllowedTag = dictionary.startsSomeAllowedTag.bind(dictionary);
  t.mock.method(dictionary, 'startsSomeAllowedTag', (start: string, allowed: (id: number) => boolean, limit?: number) => {
    const result = startsSomeAllowedTag(start, allowed, limit);
    if (!result) {
      ruledOut.push(start);
      const itself = dictionary.resolveId(start);
      assert.ok(itself === undefined || !allowed(itself.id), `${start} was ruled out, but it is a tag the row may write`);
    }
    return result;
  });
  return ruledOut;
}

interface Reference {
  context: string[];
  context_ids: number[];
  candidates: { tag: string; ids: number[]; logprob: number }[];
}
const reference = JSON.parse(fs.readFileSync(path.join(fixture, 'reference.json'), 'utf8')) as Reference;

test('scoringRows: a completion\'s run copies at most 256 MB of the context\'s past into its rows, 48 rows at most, one at least', () => {
  // GPT-2 small (12 layers, 768 wide) keeps 73,728 bytes of past a token a row.
  const gpt2Small = (tokens: number): number => tokens * 12 * 2 * 768 * 4;
  assert.equal(scoringRows(gpt2Small(70)), 48, '20 tags as before');
  assert.equal(scoringRows(gpt2Small(324)), 11);
  assert.equal(scoringRows(gpt2Small(998)), 3);
  assert.equal(scoringRows(2 ** 30), 1);
  assert.equal(scoringRows(0), 48);
});

test('keepsOnlyBest: judged within the top-k that top-p cuts, a long top-k too (a heavy tail past it is not counted)', () => {
  // 50,257 tokens, the best at 0 and the rest at -6: the best holds 57 % of the top 300, 0.8 % of all.
  const logProbs = new Float32Array(50_257).fill(-6);
  logProbs[7] = 0;
  const blocked = new Uint8Array(logProbs.length);
  for (const topK of [2, 256, 257, 300]) assert.equal(keepsOnlyBest(logProbs, blocked, { temperature: 1, topK, topP: 0.5 }), true, `top-k ${topK}`);
  assert.equal(keepsOnlyBest(logProbs, blocked, { temperature: 1, topK: 0, topP: 0.5 }), false, 'no top-k: the tail counts');
  assert.equal(keepsOnlyBest(logProbs, blocked, { temperature: 1, topK: 1000, topP: 0.5 }), false, 'top 1,000: the best holds 29 %');
  assert.equal(keepsOnlyBest(logProbs, blocked, { temperature: 1e-4, topK: 0, topP: 1 }), true, 'a temperature that leaves the rest below 1e-9');
  // Two tied at the best: either may be drawn.
  logProbs[9] = 0;
  assert.equal(keepsOnlyBest(logProbs, blocked, { temperature: 1, topK: 300, topP: 0.5 }), false);
});

describe('BPE model engine on the tiny-bpe fixture', () => {
  let engine: BpeModelEngine;
  before(async () => {
    engine = (await loadEngine({ modelDir: fixture, dictionary, threads: 1 })) as BpeModelEngine;
  });
  after(() => engine.dispose());

  test('is recognised as a BPE model', () => {
    assert.equal(engine.model.kind, 'bpe');
    assert.equal(engine.model.vocabSize, 1024);
  });

  test('reads any text: no context tag is unseen, not even one outside the dictionary', () => {
    assert.deepEqual(engine.unseenTags(['hatsune_miku', 'no_such_tag_xyz', 'long_hair']), []);
  });

  test('tokenizer round trip: the ids of the Python trainer, several tokens a tag, decoded back to the text', async () => {
    assert.deepEqual(engine.contextTokens(reference.context), reference.context_ids);
    for (const candidate of reference.candidates) assert.deepEqual(engine.tagTokens(candidate.tag, false), candidate.ids);
    assert.ok(reference.candidates.some((candidate) => candidate.ids.length >= 4));
    const text = 'multiple_girls, 2girls, long_hair, hair_ornament, :d, (o)_(o),';
    const ids = engine.encodeText(text);
    assert.equal(engine.tokenizer.decode(ids), text);
    const transformers = await import('@huggingface/transformers');
    transformers.env.allowRemoteModels = false;
    const reference2 = await transformers.AutoTokenizer.from_pretrained(fixture, { local_files_only: true });
    assert.deepEqual(reference2.encode(text, { add_special_tokens: false }), ids);
  });

  test('a tag scores the summed log-probability of its tokens and the separator, as PyTorch computes it', async () => {
    const scores = await engine.scoreTags(
      reference.context,
      reference.candidates.map((candidate) => candidate.tag),
    );
    reference.candidates.forEach((candidate, i) => {
      assert.ok(Math.abs(scores[i] - candidate.logprob) < 1e-4, `${candidate.tag}: ${scores[i]} vs ${candidate.logprob}`);
    });
  });

  test('batched scoring equals scoring one tag at a time', async () => {
    const tags = ['smile', 'looking_at_viewer', 'hair_ornament', 'skirt', 'thighhighs', 'pleated_skirt'];
    engine.forgetScores();
    const batched = await engine.scoreTags(['multiple_girls'], tags);
    for (let i = 0; i < tags.length; i++) {
      // Scored again, not taken from the scores remembered for the context.
      engine.forgetScores();
      const [alone] = await engine.scoreTags(['multiple_girls'], [tags[i]]);
      assert.ok(Math.abs(alone - batched[i]) < 1e-4);
    }
  });

  test('completion respects the prefix, excludes the context and is ranked by the model', async () => {
    const completions = await engine.complete(reference.context, 'sh', { top: 5 });
    assert.equal(completions.length, 5);
    for (const completion of completions) {
      assert.ok(completion.tag.startsWith('sh') && !reference.context.includes(completion.tag));
    }
    const scores = await engine.scoreTags(
      reference.context,
      completions.map((completion) => completion.tag),
    );
    completions.forEach((completion, i) => assert.ok(Math.abs(completion.score - scores[i]) < 1e-6));
    for (let i = 1; i < completions.length; i++) assert.ok(completions[i - 1].score >= completions[i].score);
    const cached = await engine.complete(reference.context, 'sh', { top: 5 });
    engine.cache.clear();
    engine.forgetScores();
    const fresh = await engine.complete(reference.context, 'sh', { top: 5 });
    assert.deepEqual(
      cached.map((completion) => completion.tag),
      fresh.map((completion) => completion.tag),
    );
    // The next tags leave the context out too, though the model would propose them (it proposes them without it).
    const likely = (await engine.nextTags([], 5)).map((next) => next.tag);
    const next = await engine.nextTags(likely, 50);
    assert.ok(next.length > 0 && next.every((each) => !likely.includes(each.tag)), `${likely.join(' ')} -> ${next.map((each) => each.tag).join(' ')}`);
    // A prefix that reaches a context tag (`lo`: long_hair): it is left out, the rest still offered.
    assert.ok(reference.context.includes('long_hair'));
    const reaching = await engine.complete(reference.context, 'lo', { top: 10 });
    assert.ok(reaching.length > 0 && reaching.every((completion) => completion.tag.startsWith('lo') && completion.tag !== 'long_hair'), reaching.map((c) => c.tag).join(' '));
    assert.ok((await engine.complete([], 'lo', { top: 10 })).some((completion) => completion.tag === 'long_hair'), 'offered without that context');
  });

  test('completion of an abbreviation (`whba`): the abbreviated tags scored by the model, one tier below real matches', async () => {
    const completions = await engine.complete(reference.context, 'whba', { top: 5 });
    assert.equal(completions[0].tag, 'white_background');
    const abbreviated = completions.filter((completion) => completion.kind === 'abbreviation');
    assert.ok(abbreviated.length >= 2);
    const scores = await engine.scoreTags(reference.context, abbreviated.map((completion) => completion.tag));
    abbreviated.forEach((completion, i) => assert.ok(Math.abs(completion.score - (scores[i] - 500)) < 1e-6, `${completion.tag} ${completion.score} ${scores[i]}`));
    for (let i = 1; i < completions.length; i++) assert.ok(completions[i - 1].score >= completions[i].score);
  });

  test('completion and next tags equal scoring every candidate, with the bound, the batches by length and the remembered scores', async () => {
    // Real posts' first tags as contexts, the letters of a later tag typed one by one, then nothing
    // (the model-guided pool), as a person types: the remembered scores carry from one call to the next.
    const posts = fs
      .readFileSync(path.join(__dirname, '..', '..', 'training', 'tests', 'data', 'posts-sample.tsv'), 'utf8')
      .split('\n')
      .slice(1, 200)
      .filter((_, i) => i % 20 === 0)
      .map((line) => line.split('\t').pop()!.split(',').filter(Boolean))
      .filter((tags) => tags.length > 8);
    assert.ok(posts.length >= 5);
    // The reference: a second engine that scores every candidate afresh on each call.
    const plain = (await loadEngine({ modelDir: fixture, dictionary, threads: 1 })) as BpeModelEngine;
    const scoreBest = plain.scoreBest.bind(plain);
    plain.scoreBest = (context, tags, _best, signal) => {
      plain.forgetScores();
      return scoreBest(context, tags, undefined, signal);
    };
    /** The same ranking, scores within 1e-5 (batches of other shapes round differently); near-ties may swap. */
    const assertSameRanking = (actual: { tag: string; score: number }[], expected: { tag: string; score: number }[], label: string): void => {
      assert.equal(actual.length, expected.length, label);
      const scoreOf = new Map(actual.map((c) => [c.tag, c.score]));
      const last = expected[expected.length - 1]?.score ?? 0;
      expected.forEach(({ tag, score }, i) => {
        const got = scoreOf.get(tag);
        if (got === undefined) assert.ok(Math.abs(score - last) < 1e-5, `${label}: ${tag} missing`);
        else assert.ok(Math.abs(got - score) < 1e-5, `${label}: ${tag} ${got} vs ${score}`);
        if (i > 0 && expected[i - 1].score - score > 1e-5) assert.ok(actual[i - 1].score >= actual[i].score - 1e-5, label);
      });
    };
    try {
      engine.forgetScores();
      let compared = 0;
      for (const post of posts) {
        const context = post.slice(0, 6);
        const next = post[7]!;
        for (const prefix of [next.slice(0, 1), next.slice(0, 2), next.slice(0, 3), '']) {
          for (const top of [1, 10]) {
            const label = `${context.join(',')} | "${prefix}" top ${top}`;
            assertSameRanking(await engine.complete(context, prefix, { top }), await plain.complete(context, prefix, { top }), label);
            compared++;
          }
        }
        for (const k of [1, 10]) {
          const label = `next tags after ${context.join(',')}, ${k}`;
          const toScores = (tags: { tag: string; probability: number }[]) => tags.map((t) => ({ tag: t.tag, score: Math.log(t.probability) }));
          assertSameRanking(toScores(await engine.nextTags(context, k)), toScores(await plain.nextTags(context, k)), label);
        }
      }
      assert.ok(compared >= 40);
    } finally {
      await plain.dispose();
    }
  });

  test('a cancelled completion stops before its next run', async () => {
    engine.forgetScores();
    const controller = new AbortController();
    const logitsAfter = engine.session.logitsAfter.bind(engine.session);
    let runs = 0;
    engine.session.logitsAfter = async (rows, past) => {
      runs++;
      const result = await logitsAfter(rows, past);
      controller.abort(); // the keystroke that makes this completion stale
      return result;
    };
    try {
      // Many candidates of different token counts: several runs if nothing stopped it.
      await assert.rejects(engine.complete(['1girl'], 'l', { top: 20, signal: controller.signal }), { name: 'AbortError' });
      assert.equal(runs, 1);
    } finally {
      engine.session.logitsAfter = logitsAfter;
    }
  });

  test('tiled pasts: every row is the one-row past, kept for the same past (interleaved pasts too), never rewritten under a view handed out', async () => {
    const tiles = new PastTiles(engine.session);
    const pastOf = async (context: string[]) => (await engine.contextState(engine.contextTokens(context))).past;
    const [a, b] = [await pastOf(['1girl', 'solo']), await pastOf(['2girls', 'yuri', 'hug'])];
    const rowsEqual = (tiled: ReturnType<PastTiles['tile']>, source: typeof a): void => {
      for (const [layer, [key, value]] of tiled.layers.entries()) {
        for (const [tensor, one] of [[key, source.layers[layer]![0]], [value, source.layers[layer]![1]]] as const) {
          const row = one.data as Float32Array;
          assert.deepEqual(tensor.dims, [tiled.batch, ...one.dims.slice(1)]);
          for (let r = 0; r < tiled.batch; r++) assert.deepEqual((tensor.data as Float32Array).subarray(r * row.length, (r + 1) * row.length), row);
        }
      }
    };
    const memoryOf = (tiled: ReturnType<PastTiles['tile']>): ArrayBufferLike => (tiled.layers[0]![0].data as Float32Array).buffer;
    const three = tiles.tile(a, 3);
    const five = tiles.tile(a, 5);
    assert.equal(memoryOf(five), memoryOf(three), 'the same past: the same memory');
    // Another past, or more rows than kept, gets new memory: views handed out keep their rows.
    const other = tiles.tile(b, 4);
    // Pasts interleaved (a completion's and a hover's) each keep their own rows.
    const again = tiles.tile(a, 5);
    assert.equal(memoryOf(again), memoryOf(three), 'a is still kept after b');
    const many = tiles.tile(b, 60);
    tiles.clear();
    const afterClear = tiles.tile(a, 2);
    tiles.clear();
    for (const [tiled, source] of [[three, a], [five, a], [other, b], [again, a], [many, b], [afterClear, a]] as const) rowsEqual(tiled, source);
  });

  test('hidden cache positions: a row that hides tokens and reuses their positions equals the clean sequence', async () => {
    const context = engine.contextTokens(['multiple_girls', '2girls']);
    const detour = engine.tagTokens('no_such_tag', false);
    const next = engine.tagTokens('smile', false);
    const clean = await engine.session.forward([[...context, ...next]], engine.session.emptyPast(1));
    const base = await engine.session.forward([context], engine.session.emptyPast(1));
    // Row 0 takes the detour (later hidden), row 1 pads with the same number of hidden tokens.
    let past = engine.session.expandPast(base.past, 2);
    const mask = [new Array<number>(context.length).fill(1), new Array<number>(context.length).fill(1)];
    /** Feeds `tokens` to both rows one at a time, positions from the context's end; the last logits. */
    const feedBoth = async (tokens: number[]): Promise<Float32Array> => {
      let logits: Float32Array = new Float32Array(0);
      for (let i = 0; i < tokens.length; i++) {
        mask.forEach((row) => row.push(1));
        const step = await engine.session.forward([[tokens[i]], [tokens[i]]], past, {
          attentionMask: mask,
          positions: [[context.length + i], [context.length + i]],
        });
        past = step.past;
        logits = step.logits;
      }
      return logits;
    };
    await feedBoth(detour);
    mask.forEach((row) => row.fill(0, context.length));
    const logits = await feedBoth(next);
    const vocab = 1024;
    const expected = clean.logits.subarray((context.length + next.length - 1) * vocab, (context.length + next.length) * vocab);
    for (const row of [0, 1]) {
      const got = logits.subarray(row * vocab, (row + 1) * vocab);
      let maxDiff = 0;
      for (let t = 0; t < vocab; t++) maxDiff = Math.max(maxDiff, Math.abs(got[t] - expected[t]));
      assert.ok(maxDiff < 1e-4, `row ${row}: max diff ${maxDiff}`);
    }
  });

  test('completion scores as many candidates as asked for, and with nothing typed also the tags the model starts', async () => {
    const many = await engine.complete([], 'a', { top: 300 });
    assert.equal(many.length, 300);
    assert.equal(new Set(many.map((completion) => completion.tag)).size, 300);

    const context = ['cat_ears', 'animal_ears', 'tail'];
    const excluded = new Set(context.map((tag) => dictionary.resolveId(tag)?.id));
    // The candidates popularity alone gives: the most popular general tags outside the context.
    const popular = new Set<string>();
    for (let id = 0; popular.size < 96; id++) {
      if (dictionary.categories[id] === 0 && !excluded.has(id)) popular.add(dictionary.names[id]);
    }
    // With the usual pool (96), a tag outside the 96 most popular can only come from the model.
    const completions = await engine.complete(context, '', { top: 96 });
    const beyond = completions.filter((completion) => !popular.has(completion.tag));
    assert.ok(beyond.length >= 10, `${beyond.length} tags beyond the most popular`);
    // Each of those starts with the text of one of the model's likeliest next tokens after the context.
    const { logProbs } = await engine.contextState(engine.contextTokens(context));
    const starts = Array.from(logProbs.keys())
      .sort((a, b) => logProbs[b] - logProbs[a])
      .slice(0, 40)
      .map((token) => normalizeTag(engine.tokenizer.decode([token])))
      .filter(Boolean);
    for (const { tag } of beyond) assert.ok(starts.some((start) => tag.startsWith(start)), `${tag}: not started by a likely token`);
    // And is scored as when it is typed in full.
    for (const guided of beyond.slice(0, 3)) {
      const typed = (await engine.complete(context, guided.tag, { top: 5 })).find((completion) => completion.tag === guided.tag);
      assert.equal(typed?.score, guided.score, guided.tag);
    }
  });

  test('a prompt that fills the window: the latest tags that fit, found in linear time; a candidate longer than the room left is not scored, the rest are', async () => {
    const popular: string[] = [];
    for (let id = 0; popular.length < 1000; id++) if (dictionary.categories[id] === 0) popular.push(dictionary.names[id]);
    const window = engine.model.contextLength;
    for (const count of [80, 300, 1000]) {
      const context = popular.slice(0, count);
      const tokens = engine.contextTokens(context);
      // As dropping the first tags one by one and encoding the rest gives (the way it was done).
      let kept = context.slice();
      let expected = engine.encodeText(kept.map((tag) => `${tag},`).join(' '));
      while (expected.length > window - 1 - 24) expected = engine.encodeText((kept = kept.slice(1)).map((tag) => `${tag},`).join(' '));
      assert.deepEqual(tokens.slice(1), expected, `${count} tags`);
    }
    const started = performance.now();
    engine.contextTokens(popular.slice(1));
    // (Quadratic, a 1,000-tag prompt took 5-10 s here; linear, a few ms.)
    assert.ok(performance.now() - started < 1000, `${(performance.now() - started).toFixed(0)} ms for 999 tags`);
    // A real general tag of 26+ tokens on this vocabulary, after 80 tags that fill the window.
    const long = 'soko_no_omae!_lemon_ikko_ni_fukumareru_vitamin_c_wa_lemon_ikkobun_da_ze_(meme)';
    assert.ok(dictionary.resolveId(long) && engine.tagTokens(long, false).length > 24);
    const context = popular.slice(0, 80);
    assert.ok(engine.contextTokens(context).length > window - 30, 'the window is full');
    const scores = await engine.scoreTags(context, [long, 'smile']);
    assert.equal(scores[0], -Infinity);
    assert.ok(Number.isFinite(scores[1]));
    for (const prefix of ['soko', 'smi', '2', 'one']) {
      const list = await engine.complete(context, prefix, { top: 5 });
      assert.ok(list.length > 0 && list.every((completion) => Number.isFinite(completion.score)), `${prefix}: ${JSON.stringify(list)}`);
    }
  });

  test('sampling: deterministic, valid dictionary tags, no repeats, bans honoured', async () => {
    const options = { prompt: ['multiple_girls'], n: 3, seed: 11, maxTags: 8, ban: ['*_background', 'smile'] };
    const first = await engine.sample(options);
    assert.deepEqual(await engine.sample(options), first);
    assert.equal(first.length, 3);
    assert.ok(first.some((tags) => tags.length > 0));
    for (const tags of first) {
      assert.ok(tags.length <= 8);
      assert.equal(new Set(tags).size, tags.length);
      for (const tag of tags) {
        assert.ok(dictionary.get(tag), `${tag} is a dictionary tag`);
        assert.ok(!tag.endsWith('_background') && tag !== 'smile' && tag !== 'multiple_girls', tag);
      }
    }
  });

  test('sampling writes general tags unless asked for other categories (a stray fragment is often some artist\'s name)', async () => {
    const categoriesOf = async (categories?: number[]): Promise<Set<number>> => {
      const found = new Set<number>();
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        for (const tags of await engine.sample({ prompt: ['1girl'], n: 20, seed, maxTags: 20, categories })) {
          for (const tag of tags) found.add(dictionary.get(tag)!.category);
        }
      }
      return found;
    };
    assert.deepEqual([...(await categoriesOf())], [0]);
    const all = await categoriesOf([0, 1, 3, 4, 5]);
    assert.ok(all.has(0) && all.size > 1, `every category allowed: ${[...all].join(', ')}`);
    for (const category of await categoriesOf([1, 4])) assert.ok(category === 1 || category === 4, String(category));
  });

  test('greedy sampling (temperature 0, top-k 1) goes on past a tag it may not write again, to min-tags, in both paths', async (t) => {
    // It drew the same rejected tag (simple_background again) every try and ended after one or two tags.
    const session = (engine as unknown as { session: object }).session;
    t.after(() => delete (session as { supportsRowLayout?: boolean }).supportsRowLayout);
    const rowByRow = t.mock.method(engine as unknown as { sampleOneByOne: () => Promise<string[][]> }, 'sampleOneByOne');
    for (const path of ['batched', 'row by row']) {
      if (path === 'row by row') Object.defineProperty(session, 'supportsRowLayout', { get: () => false, configurable: true });
      for (const settings of [{ temperature: 0 }, { topK: 1 }]) {
        const samples = await engine.sample({ prompt: ['multiple_girls'], n: 2, seed: 1, minTags: 5, maxTags: 10, ...settings });
        for (const tags of samples) {
          assert.ok(tags.length >= 5, `${path} ${JSON.stringify(settings)}: ${tags.join(', ')}`);
          assert.equal(new Set([...tags, 'multiple_girls']).size, tags.length + 1, 'no repeats');
        }
        // Alike but in length with top-k 1: the stop is drawn with the model's own probability (top-k cuts the choice of tag).
        const shorter = Math.min(samples[0]!.length, samples[1]!.length);
        assert.deepEqual(samples[1]!.slice(0, shorter), samples[0]!.slice(0, shorter), 'greedy rows are alike');
        if (settings.temperature === 0) assert.deepEqual(samples[1], samples[0]);
      }
    }
    assert.equal(rowByRow.mock.callCount(), 2);
  });

  test('the stop is drawn with the model\'s own probability: top-k 1 or a low top-p no longer ends every sample at once (both paths)', async (t) => {
    const session = (engine as unknown as { session: object }).session;
    t.after(() => delete (session as { supportsRowLayout?: boolean }).supportsRowLayout);
    // Here <|endoftext|> is the likeliest token at the next tag's start, with probability ~0.03.
    const prompt = ['solo', 'extra_eyes', 'simple_background'];
    for (const path of ['batched', 'row by row']) {
      if (path === 'row by row') Object.defineProperty(session, 'supportsRowLayout', { get: () => false, configurable: true });
      for (const settings of [{ topK: 1 }, { topK: 0, topP: 0.2 }]) {
        const samples = await engine.sample({ prompt, n: path === 'batched' ? 100 : 40, seed: 2, maxTags: 1, ...settings });
        const empty = samples.filter((tags) => tags.length === 0).length / samples.length;
        assert.ok(empty < 0.5, `${path} ${JSON.stringify(settings)}: ${empty} of the samples empty`);
      }
    }
  });

  test('a draw that can take one token only (top-p below its share) is greedy: rows go on past rejected tags as with top-k 1', async () => {
    const options = { prompt: ['solo'], n: 6, seed: 4, minTags: 10, maxTags: 10 };
    const byTopK = await engine.sample({ ...options, topK: 1 });
    const byTopP = await engine.sample({ ...options, topK: 0, topP: 0.001 });
    assert.ok(byTopK.every((tags) => tags.length >= 5), JSON.stringify(byTopK));
    assert.deepEqual(byTopP.map((tags) => tags.length), byTopK.map((tags) => tags.length));
    // Top-p cuts within the top-k: of the best two, the best always holds half.
    const byBoth = await engine.sample({ ...options, topK: 2, topP: 0.5 });
    assert.deepEqual(byBoth.map((tags) => tags.length), byTopK.map((tags) => tags.length));
  });

  test('batched rows go on past a cache full of rejected tags (one by one from their own tokens): as the row-by-row path does', async () => {
    // They ended at 34-47 tags (2 x 256 cache slots), ~45% of the window; a row may still end a few short after 32 rejected tries.
    const samples = await engine.sample({ prompt: ['solo'], n: 4, seed: 5, minTags: 60, maxTags: 60 });
    assert.ok(samples.every((tags) => tags.length >= 50) && samples.some((tags) => tags.length === 60), JSON.stringify(samples.map((tags) => tags.length)));
    for (const tags of samples) assert.equal(new Set([...tags, 'solo']).size, tags.length + 1, 'no repeats');
  });

  test('a special token written as a tag is left out of a context, not read as the token', () => {
    assert.deepEqual(engine.contextTokens(['smile', '<|endoftext|>', 'long hair']), engine.contextTokens(['smile', 'long hair']));
    assert.deepEqual(engine.contextTokens(['<|endoftext|>']), [engine.bosId]);
  });

  test('sampling drops a tag as soon as its text can become no tag, in the batched and the row-by-row paths', async (t) => {
    const ruledOut = recordRuledOut(t);
    const options = { n: 3, seed: 5, minTags: 10, maxTags: 10 };
    const check = (samples: string[][]) => {
      for (const tags of samples) {
        assert.equal(new Set(tags).size, tags.length);
        for (const tag of tags) assert.ok(dictionary.get(tag), tag);
      }
    };
    check(await engine.sample(options));
    const batched = ruledOut.length;
    // This barely trained model writes many non-tags (`long_eyes`): some are dropped part-way.
    assert.ok(batched > 0, 'the batched path ruled nothing out');
    const session = (engine as unknown as { session: object }).session;
    Object.defineProperty(session, 'supportsRowLayout', { get: () => false, configurable: true });
    const rowByRow = t.mock.method(engine as unknown as { sampleOneByOne: () => Promise<string[][]> }, 'sampleOneByOne');
    try {
      check(await engine.sample(options));
    } finally {
      delete (session as { supportsRowLayout?: boolean }).supportsRowLayout;
    }
    assert.equal(rowByRow.mock.callCount(), 1);
    assert.ok(ruledOut.length > batched, 'the row-by-row path ruled nothing out');
  });
});

test('cli complete and sample run the BPE fixture end to end', () => {
  const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');
  const complete = spawnSync(process.execPath, [cli, 'complete', '--model', fixture], {
    input: `${JSON.stringify({ context: ['multiple_girls', '2girls'], prefix: 'lo', top: 3 })}\n`,
    encoding: 'utf8',
  });
  assert.equal(complete.status, 0, complete.stderr);
  const line = JSON.parse(complete.stdout) as { completions: { tag: string }[] };
  assert.equal(line.completions.length, 3);
  assert.ok(line.completions.every((completion) => completion.tag.startsWith('lo')));
  const sample = spawnSync(process.execPath, [cli, 'sample', '--model', fixture, '--n', '2', '--seed', '3', '--json'], {
    encoding: 'utf8',
  });
  assert.equal(sample.status, 0, sample.stderr);
  assert.equal((JSON.parse(sample.stdout) as { samples: string[][] }).samples.length, 2);
});

test('a model trained on `t1,t2,` text (no space between tags) says so in config.json: the engine writes and reads that format', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-between-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(fixture, dir, { recursive: true });
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { tag_model: Record<string, unknown> };
  config.tag_model.between_tags = '';
  fs.writeFileSync(configPath, JSON.stringify(config));
  const engine = (await loadEngine({ modelDir: dir, dictionary, threads: 1 })) as BpeModelEngine;
  config.tag_model.between_tags = ', ';
  fs.writeFileSync(configPath, JSON.stringify(config));
  await assert.rejects(loadEngine({ modelDir: dir, dictionary, threads: 1 }), /config\.json: tag_model\.between_tags ", " holds the separator ","/);
  try {
    assert.equal(engine.betweenTags, '');
    assert.deepEqual(engine.contextTokens(['1girl', 'solo']), [engine.bosId, ...engine.encodeText('1girl,solo,')]);
    assert.deepEqual(engine.tagTokens('long_hair', false), engine.encodeText('long_hair,'));
    // Samples are read back in the same format: every tag a dictionary tag, none repeated.
    const samples = await engine.sample({ prompt: ['1girl'], n: 4, seed: 2, minTags: 3, maxTags: 6 });
    assert.ok(samples.every((tags) => tags.length >= 3), JSON.stringify(samples));
    for (const tags of samples) {
      assert.equal(new Set(tags).size, tags.length);
      for (const tag of tags) assert.ok(dictionary.get(tag), tag);
    }
  } finally {
    await engine.dispose();
  }
});

/** The fixture with the tokenizer's default clean-up of spaces when decoding (tokenizer_config.json leaves it unset). */
function cleanupFixture(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-cleanup-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(fixture, dir, { recursive: true });
  const configPath = path.join(dir, 'tokenizer_config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  delete config.clean_up_tokenization_spaces;
  fs.writeFileSync(configPath, JSON.stringify(config));
  return dir;
}

test('a tokenizer that cleans up spaces when decoding (the default): samples are still read back whole and non-tags dropped part-way', async (t) => {
  const engine = (await loadEngine({ modelDir: cleanupFixture(t), dictionary, threads: 1 })) as BpeModelEngine;
  const ruledOut = recordRuledOut(t);
  // Tags are judged on the raw text (clean-up could still delete a space at its end).
  let rawDecodes = 0;
  const decode = engine.tokenizer.decode.bind(engine.tokenizer);
  t.mock.method(engine.tokenizer, 'decode', (ids: number[], options?: { clean_up_tokenization_spaces?: boolean }) => {
    if (options?.clean_up_tokenization_spaces === false) rawDecodes++;
    return decode(ids, options);
  });
  try {
    assert.equal(engine.tokenizer.decode(engine.encodeText(' a .')), ' a.', 'decoding cleans up spaces');
    const samples = await engine.sample({ prompt: ['1girl'], n: 4, seed: 7, minTags: 8, maxTags: 8 });
    assert.ok(samples.every((tags) => tags.length === 8), JSON.stringify(samples));
    for (const tags of samples) {
      assert.equal(new Set(tags).size, tags.length);
      for (const tag of tags) assert.ok(dictionary.get(tag), tag);
    }
    assert.ok(ruledOut.length > 0, 'nothing ruled out');
    assert.ok(rawDecodes > 0, 'tags judged on the cleaned-up text');
  } finally {
    await engine.dispose();
  }
});

test('a tokenizer that cleans up spaces when decoding: a later tag starting with `?`, `...` or `!` is accepted, in both paths', async (t) => {
  // Clean-up deletes the space before `?`: ` ?,` read back as `?,` was rejected, so these tags (69k,
  // 52k and 38k posts) were never sampled after a sample's first tag.
  const engine = (await loadEngine({ modelDir: cleanupFixture(t), dictionary, threads: 1 })) as BpeModelEngine;
  const written = ['smile', '?', '...', '!'];
  assert.equal(engine.tokenizer.decode(engine.tagTokens('?', false)), '?,', 'decoding cleans up spaces');
  // The row draws exactly these tags' tokens, then the stop.
  let script: number[] = [];
  t.mock.method(engine as unknown as { drawToken: () => { id: number; greedy: boolean } }, 'drawToken', () => ({ id: script.shift() ?? engine.eosId, greedy: false }));
  const session = (engine as unknown as { session: object }).session;
  try {
    for (const path of ['batched', 'row by row']) {
      if (path === 'row by row') Object.defineProperty(session, 'supportsRowLayout', { get: () => false, configurable: true });
      script = written.flatMap((tag) => engine.tagTokens(tag, false));
      assert.deepEqual(await engine.sample({ prompt: ['1girl'], n: 1, seed: 1, maxTags: 10 }), [written], path);
    }
  } finally {
    delete (session as { supportsRowLayout?: boolean }).supportsRowLayout;
    await engine.dispose();
  }
});

test('an older export\'s merged decoder (onnx/decoder_model_merged.onnx, use_cache_branch) gives the same answers', async (t) => {
  // Generated from the fixture by training/make_merged_decoder.py: an If on use_cache_branch whose
  // no-cache branch ignores the past, so the flag must be false on the first run and true after.
  const python = process.env.DANBOORU_GPT_PYTHON ?? '/usr/bin/python3';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-merged-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const made = spawnSync(python, [path.join(__dirname, '..', '..', 'training', 'make_merged_decoder.py'), fixture, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  assert.ok(!fs.existsSync(path.join(dir, 'onnx', 'model.onnx')) && fs.existsSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx')));
  const plain = await loadEngine({ modelDir: fixture, dictionary, threads: 1 });
  const merged = await loadEngine({ modelDir: dir, dictionary, threads: 1 });
  try {
    const round = (list: { tag: string; score: number }[]) => list.map((c) => `${c.tag} ${c.score.toFixed(4)}`);
    // A growing context: the later ones reuse the cached past, where the flag is true.
    for (const [context, prefix] of [[[], 'lo'], [['1girl'], 'lo'], [['1girl', 'solo'], ''], [['1girl', 'solo', 'long_hair'], 'bl']] as [string[], string][]) {
      assert.deepEqual(round(await merged.complete(context, prefix, { top: 5 })), round(await plain.complete(context, prefix, { top: 5 })), `${context.join(',')} | ${prefix}`);
    }
    const options = { n: 2, seed: 3, maxTags: 8 };
    assert.deepEqual(await merged.sample(options), await plain.sample(options));
  } finally {
    await plain.dispose();
    await merged.dispose();
  }
});
