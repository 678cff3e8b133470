import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTag } from '../../src/model/dictionary';
import { PrefixCache } from '../../src/model/prefix-cache';
import {
  ArrayPool,
  chooseTokenOrStop,
  compileBans,
  createRandom,
  distributionOf,
  drawFrom,
  nucleusWithoutTopK,
  pickRanked,
  pickToken,
  probabilityOf,
  rankAllowed,
  stops,
  targetProbability,
  verifyDraft,
  type TokenDistribution,
} from '../../src/model/sampler';

const none = new Uint8Array(8);
const logits = Float32Array.from([0, 5, 1, 4, 2, 3, -1, 0.5]);

test('PRNG: same seed, same stream; values in [0, 1)', () => {
  const a = createRandom(123);
  const b = createRandom(123);
  const c = createRandom(124);
  const first = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(first, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(first.slice(0, 10), Array.from({ length: 10 }, () => c()));
  assert.ok(first.every((value) => value >= 0 && value < 1));
  const mean = first.reduce((sum, value) => sum + value, 0) / first.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
});

test('PRNG: the first value of consecutive seeds (0, 1, 2, …) is uniform at fine scale, as one stream is', () => {
  const bins = 4096;
  const seeds = 200_000;
  const counts = new Float64Array(bins);
  for (let seed = 0; seed < seeds; seed++) counts[Math.floor(createRandom(seed)() * bins)]++;
  const expected = seeds / bins;
  let chiSquared = 0;
  for (const count of counts) chiSquared += (count - expected) ** 2 / expected;
  // Wilson–Hilferty: about standard normal for a uniform draw (15.6 when the seed started the stream as it was).
  const df = bins - 1;
  const z = (Math.cbrt(chiSquared / df) - (1 - 2 / (9 * df))) / Math.sqrt(2 / (9 * df));
  assert.ok(Math.abs(z) < 4, `chi-squared z ${z.toFixed(2)}`);
});

test('pickToken: temperature 0 is argmax over the allowed tokens', () => {
  assert.equal(pickToken(logits, 0, 8, none, { temperature: 0, topK: 0, topP: 1 }, createRandom(1)), 1);
  const blocked = new Uint8Array(8);
  blocked[1] = 1;
  assert.equal(pickToken(logits, 0, 8, blocked, { temperature: 0, topK: 0, topP: 1 }, createRandom(1)), 3);
  assert.equal(pickToken(logits, 0, 8, new Uint8Array(8).fill(1), { temperature: 1, topK: 0, topP: 1 }, createRandom(1)), -1);
});

test('pickToken: top-k keeps only the k best, top-p the smallest head reaching p', () => {
  const random = createRandom(9);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(pickToken(logits, 0, 8, none, { temperature: 1, topK: 2, topP: 1 }, random));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // Token 1 alone holds exp(5) / sum ~ 0.64 of the mass: top-p 0.5 keeps only it, 0.9 adds 3 and 5.
  const nucleus = new Set<number>();
  for (let i = 0; i < 2000; i++) nucleus.add(pickToken(logits, 0, 8, none, { temperature: 1, topK: 0, topP: 0.5 }, random));
  assert.deepEqual([...nucleus], [1]);
  const wider = new Set<number>();
  for (let i = 0; i < 3000; i++) wider.add(pickToken(logits, 0, 8, none, { temperature: 1, topK: 0, topP: 0.9 }, random));
  assert.deepEqual([...wider].sort(), [1, 3, 5]);
});

test('pickToken: frequencies follow the softmax at temperature 1 and flatten at high temperature', () => {
  const two = Float32Array.from([Math.log(3), 0]);
  const random = createRandom(5);
  let first = 0;
  for (let i = 0; i < 20000; i++) if (pickToken(two, 0, 2, new Uint8Array(2), { temperature: 1, topK: 0, topP: 1 }, random) === 0) first++;
  assert.ok(Math.abs(first / 20000 - 0.75) < 0.02, `${first / 20000}`);
  let hot = 0;
  for (let i = 0; i < 20000; i++) if (pickToken(two, 0, 2, new Uint8Array(2), { temperature: 100, topK: 0, topP: 1 }, random) === 0) hot++;
  assert.ok(Math.abs(hot / 20000 - 0.5) < 0.02);
});

test('chooseTokenOrStop: the stop token keeps its model probability under top-k / top-p', () => {
  // stop = token 0 with probability 0.2; four tags share the rest. Top-k 1 alone would stop half
  // the time (the stop token is the single best), top-p 0.5 every time.
  const row = Float32Array.from([Math.log(0.2), Math.log(0.25), Math.log(0.2), Math.log(0.2), Math.log(0.15)]);
  const allowed = new Uint8Array(5);
  const random = createRandom(11);
  // among tags, top-k 1 keeps token 1; top-p 0.5 keeps 1 and 2 (0.25 / 0.8 + 0.2 / 0.8 >= 0.5)
  const cases = [
    { options: { temperature: 1, topK: 1, topP: 1 }, kept: [1] },
    { options: { temperature: 1, topK: 0, topP: 0.5 }, kept: [1, 2] },
  ];
  for (const { options, kept } of cases) {
    let stops = 0;
    const tags = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      const { token } = chooseTokenOrStop(row, 0, 5, allowed, 0, options, random);
      if (token === 0) stops++;
      else tags.add(token);
    }
    assert.ok(Math.abs(stops / 20000 - 0.2) < 0.015, `stop share ${stops / 20000}`);
    // the tag choice is still cut
    assert.deepEqual([...tags].sort(), kept);
    assert.equal(allowed[0], 0, 'the caller\'s mask is left as it was');
  }
  // a blocked stop token (minTags not reached) is never drawn; temperature 0 stays argmax
  const blocked = new Uint8Array(5);
  blocked[0] = 1;
  for (let i = 0; i < 1000; i++) assert.notEqual(chooseTokenOrStop(row, 0, 5, blocked, 0, { temperature: 1, topK: 0, topP: 1 }, random).token, 0);
  assert.equal(chooseTokenOrStop(row, 0, 5, allowed, 0, { temperature: 0, topK: 0, topP: 1 }, random).token, 1);
});

test('chooseTokenOrStop: a ranking kept deeper for drafts draws the same token, stop included, and holds the depth', () => {
  const vocab = 300;
  const source = createRandom(7);
  for (let trial = 0; trial < 200; trial++) {
    const row = Float32Array.from({ length: vocab }, () => source() * 8);
    const blocked = new Uint8Array(vocab);
    for (let token = 0; token < vocab; token++) if (source() < 0.1) blocked[token] = 1;
    blocked[0] = trial % 2; // the stop token: allowed in even trials
    const options = { temperature: 0.5 + source(), topK: 1 + Math.floor(source() * 40), topP: 0.5 + source() / 2 };
    const depth = Math.floor(source() * 6);
    const expected = chooseTokenOrStop(row, 0, vocab, blocked, 0, options, createRandom(trial)).token; // no hints, top-k deep
    // Hints change the work, not the answer: a floor near, above or below the truth.
    const floor = trial % 3 === 0 ? undefined : 8 - (trial % 5);
    const chosen = chooseTokenOrStop(row, 0, vocab, blocked, 0, options, createRandom(trial), { depth, floor });
    assert.equal(chosen.token, expected, `trial ${trial}`);
    if (chosen.token === 0) continue;
    const exact = rankAllowed(row, 0, vocab, blocked.map((value, token) => (token === 0 ? 1 : value)), options.topK + depth);
    assert.deepEqual(Array.from(chosen.ranked?.ids ?? []), Array.from(exact.ids.subarray(0, exact.size)));
  }
});

/** The stop decision as the full softmax in doubles gives it (what stops must answer). */
function stopsExactly(row: Float32Array, blocked: Uint8Array, stopToken: number, temperature: number, draw: number): boolean {
  let max = -Infinity;
  for (let t = 0; t < row.length; t++) if (!blocked[t] && row[t] > max) max = row[t];
  let total = 0;
  for (let t = 0; t < row.length; t++) if (!blocked[t]) total += Math.exp((row[t] - max) / temperature);
  return draw < Math.exp((row[stopToken] - max) / temperature) / total;
}

test('stops: the decision of the full softmax, at and around the boundary, for spreads, temperatures and lengths', () => {
  const random = createRandom(5);
  for (let trial = 0; trial < 120; trial++) {
    const vocab = [3000, 6173, 7, 50, 1001][trial % 5];
    const temperature = [0.05, 0.3, 0.7, 1, 1.5, 4][trial % 6];
    const spread = [2, 16, 60, 300][trial % 4];
    const row = Float32Array.from({ length: vocab }, () => -spread * random() + 3);
    const blocked = new Uint8Array(vocab);
    for (let i = 0; i < vocab; i += 7) blocked[i] = 1;
    const stopToken = 1 + (trial % Math.min(50, vocab - 1));
    // Allowed, as every caller has it when it asks (chooseTokenOrStop, stopsHere): 49 is a multiple of 7.
    blocked[stopToken] = 0;
    row[stopToken] = 3 - spread * random() * (trial % 4 === 0 ? 0.05 : 1);
    let max = -Infinity;
    for (let t = 0; t < vocab; t++) if (!blocked[t]) max = Math.max(max, row[t]);
    let total = 0;
    for (let t = 0; t < vocab; t++) if (!blocked[t]) total += Math.exp((row[t] - max) / temperature);
    const probability = Math.exp((row[stopToken] - max) / temperature) / total;
    // Draws at the boundary (the exact sum decides), within the module's error of it, and away; and
    // around the ceiling w / (1 + w) that settles a decision from the maximum alone.
    const near = [1 - 1e-12, 1 + 1e-12, 1 - 1e-6, 1 + 1e-6, 1 - 1e-3, 1 + 1e-3, 0.97, 1.05, 0.5];
    const weight = Math.exp((row[stopToken] - max) / temperature);
    const ceiling = row[stopToken] === max ? 1 : weight / (1 + weight);
    const draws = [0, probability, random(), 0.999999, ...near.map((factor) => probability * factor), ...near.map((factor) => ceiling * factor)];
    for (const draw of draws) {
      assert.equal(stops(row, 0, vocab, blocked, stopToken, temperature, draw), draw < probability, `trial ${trial}, draw ${draw} vs ${probability}`);
    }
  }
});

test('stops: with only the stop token and one other allowed, the probability is the ceiling itself', () => {
  const row = Float32Array.from([0.3, -1.2, 5, 2.5]);
  const blocked = Uint8Array.from([1, 0, 1, 0]); // the stop token 1 and token 3
  const weight = Math.exp((row[1] - row[3]) / 0.9);
  const ceiling = weight / (1 + weight);
  for (const factor of [0, 0.5, 1 - 1e-15, 1 - 1e-9, 1, 1 + 1e-15, 1 + 1e-9, 1 + 1e-6, 2]) {
    const draw = ceiling * factor;
    assert.equal(stops(row, 0, 4, blocked, 1, 0.9, draw), stopsExactly(row, blocked, 1, 0.9, draw), `draw ${factor} x the ceiling`);
  }
  // The stop token as the best: the ceiling is 1, the sum decides.
  const best = Float32Array.from([0.3, 6, 5, 2.5]);
  for (const draw of [0, 0.3, 0.7, 0.8, 0.9, 0.99]) assert.equal(stops(best, 0, 4, blocked, 1, 0.9, draw), stopsExactly(best, blocked, 1, 0.9, draw));
});

test('stops: logits at an offset, NaN and infinite logits decide as the full softmax does', () => {
  const random = createRandom(9);
  const vocab = 517;
  const rows = new Float32Array(3 * vocab).map(() => random() * 10 - 5);
  const blocked = new Uint8Array(vocab);
  blocked[3] = 1;
  const cases: [string, (row: Float32Array) => void][] = [
    ['plain', () => {}],
    ['a NaN logit', (row) => (row[40] = NaN)],
    ['a blocked NaN logit', (row) => (row[3] = NaN)],
    ['+Infinity', (row) => (row[41] = Infinity)],
    ['-Infinity', (row) => (row[42] = -Infinity)],
    ['a logit 1000 below the rest', (row) => (row[43] = -1000)],
  ];
  for (const [name, change] of cases) {
    const row = rows.slice(vocab, 2 * vocab);
    change(row);
    const shifted = rows.slice();
    shifted.set(row, vocab);
    for (const draw of [0, 0.001, 0.01, 0.1, 0.5, 0.99]) {
      assert.equal(stops(shifted, vocab, vocab, blocked, 1, 0.8, draw), stopsExactly(row, blocked, 1, 0.8, draw), `${name}, draw ${draw}`);
    }
  }
});

function distribution(entries: [number, number][]): TokenDistribution {
  return { ids: Int32Array.from(entries.map(([id]) => id)), probs: Float64Array.from(entries.map(([, p]) => p)), size: entries.length };
}

test('verifyDraft: a draft from the proposal, kept or replaced, is distributed exactly as the target', () => {
  const random = createRandom(21);
  const cases = [
    // the proposal over- and under-covers; token 4 is missing from it, token 9 from the target
    { target: distribution([[1, 0.4], [2, 0.3], [3, 0.2], [4, 0.1]]), proposal: distribution([[2, 0.5], [1, 0.3], [9, 0.15], [3, 0.05]]) },
    // identical: every draft is kept
    { target: distribution([[5, 0.7], [6, 0.3]]), proposal: distribution([[5, 0.7], [6, 0.3]]) },
    // disjoint: every draft is replaced
    { target: distribution([[7, 1]]), proposal: distribution([[8, 1]]) },
  ];
  for (const { target, proposal } of cases) {
    const draws = 200_000;
    const counts = new Map<number, number>();
    let kept = 0;
    for (let i = 0; i < draws; i++) {
      const draft = drawFrom(proposal, random);
      const { token, accepted } = verifyDraft(draft, probabilityOf(target, draft), proposal, random, () => target);
      if (accepted) kept++;
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    for (let k = 0; k < target.size; k++) {
      const share = (counts.get(target.ids[k]) ?? 0) / draws;
      assert.ok(Math.abs(share - target.probs[k]) < 0.005, `token ${target.ids[k]}: ${share} vs ${target.probs[k]}`);
    }
    assert.equal([...counts.keys()].filter((token) => probabilityOf(target, token) === 0).length, 0, 'only target tokens come out');
    // the share kept is the overlap sum(min(p, q))
    let overlap = 0;
    for (let k = 0; k < target.size; k++) overlap += Math.min(target.probs[k], probabilityOf(proposal, target.ids[k]));
    assert.ok(Math.abs(kept / draws - overlap) < 0.005, `kept ${kept / draws} vs overlap ${overlap}`);
  }
});

test('ArrayPool: slices that never overlap and stay valid across chunks; rankings and distributions from it equal fresh ones', () => {
  const pool = new ArrayPool();
  const slices = Array.from({ length: 600 }, (_, i) => pool.doubles(50 + (i % 7)));
  slices.forEach((slice, i) => slice.fill(i));
  slices.forEach((slice, i) => assert.ok(slice.every((value) => value === i), `slice ${i} was overwritten`));
  assert.equal(pool.ints(20_000).length, 20_000); // longer than a chunk
  const random = createRandom(5);
  const vocab = 3000;
  const options = { temperature: 0.9, topK: 30, topP: 0.9 };
  for (let trial = 0; trial < 50; trial++) {
    const logits = Float32Array.from({ length: vocab }, () => -10 * random());
    const blocked = Uint8Array.from({ length: vocab }, () => (random() < 0.1 ? 1 : 0));
    for (const hint of [-Infinity, -1]) {
      const fresh = rankAllowed(logits, 0, vocab, blocked, options.topK + 4, hint);
      const pooled = rankAllowed(logits, 0, vocab, blocked, options.topK + 4, hint, pool);
      assert.deepEqual([...pooled.ids.subarray(0, pooled.size)], [...fresh.ids.subarray(0, fresh.size)]);
      assert.deepEqual([...pooled.values.subarray(0, pooled.size)], [...fresh.values.subarray(0, fresh.size)]);
      const skip = [fresh.ids[0], fresh.ids[3]];
      const a = distributionOf(fresh, skip, options);
      const b = distributionOf(pooled, skip, options, pool);
      assert.deepEqual([...b.ids.subarray(0, b.size)], [...a.ids.subarray(0, a.size)]);
      assert.deepEqual([...b.probs.subarray(0, b.size)], [...a.probs.subarray(0, a.size)]);
    }
  }
});

test('rankAllowed past 256: the k best by selection are the full sort\'s first k (ties to the lower id, blocks, k near the allowed count)', () => {
  const random = createRandom(7);
  for (let trial = 0; trial < 60; trial++) {
    const vocab = [600, 3000, 6173, 50257][trial % 4]!;
    // Every third row in whole numbers: many ties at the k-th value.
    const logits = Float32Array.from({ length: vocab }, () => (trial % 3 === 0 ? Math.round(random() * 20) : random() * 30 - 15));
    const blocked = new Uint8Array(vocab);
    for (let i = 0; i < vocab; i++) if (random() < 0.1) blocked[i] = 1;
    const order: number[] = [];
    for (let token = 0; token < vocab; token++) if (!blocked[token]) order.push(token);
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    for (const keep of [257, 300, 1000, 2999]) {
      const ranked = rankAllowed(logits, 0, vocab, blocked, keep);
      assert.deepEqual(Array.from(ranked.ids.subarray(0, ranked.size)), order.slice(0, keep), `trial ${trial}, keep ${keep}`);
      assert.deepEqual(Array.from(ranked.values.subarray(0, ranked.size)), order.slice(0, keep).map((token) => logits[token]!));
    }
  }
});

test('rankAllowed and targetProbability: the hint changes the work, never the answer', () => {
  const random = createRandom(8);
  const vocab = 2000;
  const options = { temperature: 0.8, topK: 40, topP: 0.9 };
  let quick = 0;
  let lowered = 0;
  for (let trial = 0; trial < 40; trial++) {
    const logits = Float32Array.from({ length: vocab }, () => Math.round(-12 * random() * 64) / 64); // some exact ties
    const blocked = new Uint8Array(vocab);
    for (let t = 0; t < vocab; t += 5) blocked[t] = 1;
    const exact = rankAllowed(logits, 0, vocab, blocked, options.topK);
    const kth = exact.values[options.topK - 1];
    const full = distributionOf(exact, [], options); // pickToken's distribution
    for (const hint of [kth - 0.5, kth - 3, kth + 0.01, kth + 2, kth + 20, kth - 40, -Infinity]) {
      const hinted = rankAllowed(logits, 0, vocab, blocked, options.topK, hint);
      assert.deepEqual([...hinted.ids], [...exact.ids], `trial ${trial}, hint ${hint}`);
      assert.deepEqual([...hinted.values], [...exact.values], `trial ${trial}, hint ${hint}`);
      for (let k = 0; k < full.size + 3 && k < exact.size; k++) {
        const token = exact.ids[k];
        const p = targetProbability(logits, 0, vocab, blocked, token, options, hint);
        if (p === undefined) continue;
        quick++;
        assert.ok(Math.abs(p - probabilityOf(full, token)) < 1e-12, `trial ${trial}, token ${token}: ${p} vs ${probabilityOf(full, token)}`);
      }
      // A hint a little above the k-th value is lowered (0.7, then 2.7 below it) and still answers,
      // as exactly as the loop above checks; one far above cannot, and leaves it to the caller.
      const best = targetProbability(logits, 0, vocab, blocked, exact.ids[0], options, hint);
      if (hint > kth && best !== undefined) lowered++;
      if (hint - 2.7 > kth) assert.equal(best, undefined);
    }
  }
  assert.ok(quick > 500, `the quick path answered ${quick} times`);
  assert.ok(lowered >= 20, `a lowered hint answered ${lowered} times`);
  // no top-k: the whole allowed list, sorted the same way as the short one
  const logits = Float32Array.from({ length: vocab }, () => Math.round(-12 * random() * 64) / 64);
  const blocked = new Uint8Array(vocab);
  blocked[3] = 1;
  const all = rankAllowed(logits, 0, vocab, blocked, vocab);
  const short = rankAllowed(logits, 0, vocab, blocked, 200);
  assert.equal(all.size, vocab - 1);
  assert.deepEqual([...all.ids.subarray(0, 200)], [...short.ids]);
  for (let i = 1; i < all.size; i++) assert.ok(all.values[i - 1] > all.values[i] || (all.values[i - 1] === all.values[i] && all.ids[i - 1] < all.ids[i]));
});

test('bans: exact tags and * globs, in any spelling', () => {
  const banned = compileBans(['*_background', 'Long Hair', 'hair*ornament'], normalizeTag);
  assert.ok(banned('simple_background'));
  assert.ok(banned('white_background'));
  assert.ok(!banned('background'));
  assert.ok(banned('long_hair'));
  assert.ok(!banned('long_hair_between_eyes'));
  assert.ok(banned('hair_ornament'));
  assert.ok(banned('hairornament'));
  assert.ok(!banned('solo'));
  assert.ok(compileBans(['(azur_lane)*'], normalizeTag)('(azur_lane)_x'));
});

test('prefix cache: longest cached prefix, least recently used evicted', () => {
  const cache = new PrefixCache<string>(2);
  cache.set([0, 5], 'a');
  cache.set([0, 5, 7], 'b');
  assert.deepEqual(cache.longestPrefix([0, 5, 7, 9]), { length: 3, value: 'b' });
  assert.deepEqual(cache.longestPrefix([0, 5, 8]), { length: 2, value: 'a' });
  cache.set([1], 'c'); // evicts [0, 5, 7], the least recently used
  assert.equal(cache.longestPrefix([0, 5, 7])?.length, 2);
  assert.equal(cache.longestPrefix([2, 3]), undefined);
  assert.equal(cache.longestPrefix([0, 55]), undefined, 'keys are whole tokens, not digits');
});

test('without top-k: the nucleus and the draws of the full ranking, from the tokens near the best only', () => {
  const random = createRandom(17);
  let compared = 0;
  for (let trial = 0; trial < 300; trial++) {
    const vocab = [50, 700, 6173][trial % 3];
    const spread = [3, 12, 40][Math.floor(trial / 3) % 3];
    // Rounded to 1/64 in some trials: exact ties, which the ranking orders by id.
    const logits = Float32Array.from({ length: vocab + 3 }, () => {
      const value = -spread * random() + 2;
      return trial % 2 === 0 ? Math.round(value * 64) / 64 : value;
    });
    const blocked = Uint8Array.from({ length: vocab }, () => (random() < 0.15 ? 1 : 0));
    const options = { temperature: [0.3, 0.8, 1, 1.7][trial % 4], topK: 0, topP: [0.5, 0.9, 0.95, 1][Math.floor(trial / 4) % 4] };
    const full = distributionOf(rankAllowed(logits, 3, vocab, blocked, vocab), [], options);
    const head = nucleusWithoutTopK(logits, 3, vocab, blocked, options);
    assert.ok(head, `trial ${trial}`);
    assert.deepEqual([...head.ids.subarray(0, head.size)], [...full.ids.subarray(0, full.size)], `trial ${trial}: the nucleus`);
    let kept = 0;
    for (let i = 0; i < head.size; i++) kept += head.weights[i];
    for (let i = 0; i < head.size; i++) assert.ok(Math.abs(head.weights[i] / kept - full.probs[i]) < 1e-12);
    // The same draws as the full ranking's pickRanked, seed for seed.
    for (let seed = 0; seed < 5; seed++) {
      const expected = pickRanked(rankAllowed(logits, 3, vocab, blocked, vocab), options, createRandom(seed));
      assert.equal(pickToken(logits, 3, vocab, blocked, options, createRandom(seed)), expected);
      compared++;
    }
  }
  assert.equal(compared, 1500);
  // NaN or infinite logits, or nothing allowed: left to the full ranking.
  const row = Float32Array.from([1, 2, NaN, 0]);
  assert.equal(nucleusWithoutTopK(row, 0, 4, new Uint8Array(4), { temperature: 1, topK: 0, topP: 0.9 }), undefined);
  assert.equal(nucleusWithoutTopK(row, 0, 4, Uint8Array.from([1, 1, 1, 1]), { temperature: 1, topK: 0, topP: 0.9 }), undefined);
  assert.equal(pickToken(row, 0, 4, Uint8Array.from([1, 1, 1, 1]), { temperature: 1, topK: 0, topP: 0.9 }, createRandom(1)), -1);
});
