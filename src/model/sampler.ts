// Token choice for sampling: temperature, top-k, top-p over the allowed tokens, with our own seeded
// PRNG so a seed gives the same samples on every machine and run.

import { EXP_SUM_DROPPED_TERM, EXP_SUM_RELATIVE_ERROR, sharedLogitScanner as logitScanner } from './logit-scan';
import { globMatcher } from '../util/glob';

export { createRandom } from '../util/random';

/**
 * Where the sampler's short-lived arrays come from. A typed array of a few hundred bytes costs
 * ~0.5 us to allocate (its memory is outside V8's heap) and adds to the external memory that
 * triggers garbage collection; a sampling call makes ~600 of them, so it takes slices of one
 * ArrayPool instead.
 */
export interface ArraySource {
  ints(length: number): Int32Array;
  doubles(length: number): Float64Array;
}

const freshArrays: ArraySource = { ints: (length) => new Int32Array(length), doubles: (length) => new Float64Array(length) };

/** Slices of a list of chunks, handed out in turn and again after reset(). */
class Chunks<T extends Int32Array | Float64Array> {
  private static readonly LENGTH = 8192;
  /** Chunks kept between calls: ~4 MB of doubles, what 50 rows of 40 tags with top-k 50 take. */
  private static readonly MAX_KEPT = 64;
  private readonly chunks: T[] = [];
  private index = -1;
  private used = 0;

  constructor(private readonly make: (length: number) => T) {}

  take(length: number): T {
    let chunk = this.chunks[this.index];
    if (chunk === undefined || this.used + length > chunk.length) {
      chunk = this.chunks[++this.index];
      if (chunk === undefined || chunk.length < length) {
        chunk = this.make(Math.max(Chunks.LENGTH, length));
        this.chunks.splice(this.index, 0, chunk);
      }
      this.used = 0;
    }
    return chunk.subarray(this.used, (this.used += length)) as T;
  }

  /** Hands the chunks out again, keeping at most MAX_KEPT of them (a long call's peak is not held for good). */
  reset(): void {
    this.index = -1;
    this.used = 0;
    if (this.chunks.length > Chunks.MAX_KEPT) this.chunks.length = Chunks.MAX_KEPT;
  }
}

/**
 * Slices of a few large arrays, handed out in turn: a slice stays valid until reset(), which hands
 * the same memory out again (a slice is not zeroed: every user writes what it reads). One pool
 * serves one sampling call at a time.
 */
export class ArrayPool implements ArraySource {
  private readonly intChunks = new Chunks((length) => new Int32Array(length));
  private readonly doubleChunks = new Chunks((length) => new Float64Array(length));

  ints(length: number): Int32Array {
    return this.intChunks.take(length);
  }

  doubles(length: number): Float64Array {
    return this.doubleChunks.take(length);
  }

  /** Every slice handed out so far becomes invalid; their memory is handed out again. */
  reset(): void {
    this.intChunks.reset();
    this.doubleChunks.reset();
  }
}

export interface PickOptions {
  temperature: number;
  /** 0 = no top-k cut. */
  topK: number;
  /** 1 = no nucleus cut. */
  topP: number;
}

/**
 * Picks a token from one row of logits (`vocab` entries at `offset`) among those not `blocked`
 * (1 = never); returns -1 when none is allowed. Temperature 0 is argmax.
 */
export function pickToken(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  options: PickOptions,
  random: () => number,
): number {
  if (options.temperature > 0 && !(options.topK > 0)) {
    const head = nucleusWithoutTopK(logits, offset, vocab, blocked, options);
    if (head) return drawWeighted(head.ids, head.weights, head.size, random);
  }
  const ranked = rankAllowed(logits, offset, vocab, blocked, options.temperature <= 0 ? 1 : options.topK > 0 ? options.topK : vocab);
  return pickRanked(ranked, options, random);
}

/**
 * pickToken's draw from a ranking of the allowed tokens that holds at least the top-k (or all of
 * them without top-k); entries past the k-th are ignored, so a deeper ranking kept for later
 * drafts gives the same token.
 */
export function pickRanked(ranked: RankedTokens, options: PickOptions, random: () => number, arrays: ArraySource = freshArrays): number {
  if (ranked.size === 0) return -1;
  if (options.temperature <= 0) return ranked.ids[0];
  const size = options.topK > 0 ? Math.min(options.topK, ranked.size) : ranked.size;
  const weights = arrays.doubles(size);
  for (let i = 0; i < size; i++) weights[i] = Math.exp((ranked.values[i] - ranked.values[0]) / options.temperature);
  return drawWeighted(ranked.ids, weights, nucleusSize(weights, size, options.topP), random);
}

/** pickRanked's draw among the first `size` of best-first `ids`: one random number walked over their weights. */
function drawWeighted(ids: Int32Array, weights: Float64Array, size: number, random: () => number): number {
  let kept = 0;
  for (let i = 0; i < size; i++) kept += weights[i];
  let target = random() * kept;
  for (let i = 0; i < size; i++) {
    target -= weights[i];
    if (target < 0) return ids[i];
  }
  return ids[size - 1];
}

/** The head of a ranking that a draw can pick from: best first, with weights exp((v - best) / T). */
export interface WeightedHead {
  ids: Int32Array;
  weights: Float64Array;
  /** How many entries the draw picks from (the nucleus). */
  size: number;
}

/** nucleusWithoutTopK's buckets of (max - logit) / T, a quarter wide, up to 746 (exp() is 0 past it). */
const SPAN_BUCKETS_PER_UNIT = 4;
const SPAN_BUCKETS = 746 * SPAN_BUCKETS_PER_UNIT;
const spanMass = new Float64Array(SPAN_BUCKETS + 1);
/** Reused: each allowed token's weight exp((logit - max) / T) (one sampler runs at a time per thread). */
let weightById = new Float64Array(0);

/**
 * Without top-k, pickRanked's candidates are the nucleus of the whole distribution, ~1,000 tokens
 * at top-p 0.95 for the shipped model: ranking all ~6,000 allowed tokens for them took ~1 ms a
 * draw. Here one pass takes every allowed token's weight, their sum (in id order) and their mass by
 * distance below the best logit; that gives the span that holds the nucleus, and only the tokens
 * within it are gathered and ranked (LogitScanner.topAllowed; every token left out ranks below
 * every token gathered). The same nucleus and weights as pickRanked over the full ranking; the sum is taken
 * in another order, so a draw may differ at a floating-point boundary. undefined when no token is
 * allowed or a logit is NaN or infinite (pickRanked decides those).
 */
export function nucleusWithoutTopK(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  options: PickOptions,
): WeightedHead | undefined {
  const temperature = options.temperature;
  const max = logitScanner().maxAllowed(logits, offset, vocab, blocked);
  if (weightById.length < vocab) weightById = new Float64Array(vocab);
  spanMass.fill(0);
  let total = 0;
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] !== 0) continue;
    // exp(-distance) is exp((logit - max) / T) to the bit: negating is exact.
    const distance = (max - logits[offset + token]) / temperature;
    const weight = Math.exp(-distance);
    weightById[token] = weight;
    total += weight;
    spanMass[distance < SPAN_BUCKETS / SPAN_BUCKETS_PER_UNIT ? Math.floor(distance * SPAN_BUCKETS_PER_UNIT) : SPAN_BUCKETS] += weight;
  }
  if (!(total > 0 && total < Infinity)) return undefined;
  // The nucleus's mass, with a margin so that the sum in the nucleus's own order surely reaches it
  // too; at top-p 1 it is never reached, and every allowed token is gathered.
  const goal = options.topP * total * (1 + 1e-9);
  let mass = 0;
  let bucket = 0;
  for (; bucket < SPAN_BUCKETS; bucket++) {
    mass += spanMass[bucket];
    if (mass >= goal) break;
  }
  // One bucket more than the goal needs, so that rounding cannot leave out a token of its last one.
  const threshold = bucket < SPAN_BUCKETS ? max - ((bucket + 2) / SPAN_BUCKETS_PER_UNIT) * temperature : -Infinity;
  const ids = Int32Array.from(logitScanner().topAllowed(logits, offset, vocab, blocked, threshold, vocab).ids);
  const count = ids.length;
  const weights = new Float64Array(count);
  for (let i = 0; i < count; i++) weights[i] = weightById[ids[i]];
  // pickRanked's nucleus, with the total over every allowed token.
  return { ids, weights, size: nucleusSize(weights, count, options.topP, total) };
}

/**
 * Nucleus: how many of the best-first `weights` form the smallest head whose share of `total`
 * (by default their own sum) reaches topP.
 */
function nucleusSize(weights: Float64Array, size: number, topP: number, total?: number): number {
  if (topP >= 1) return size;
  if (total === undefined) {
    total = 0;
    for (let i = 0; i < size; i++) total += weights[i];
  }
  let cumulative = 0;
  for (let i = 0; i < size; i++) {
    cumulative += weights[i] / total;
    if (cumulative >= topP) return i + 1;
  }
  return size;
}

/** `*` globs over normalized tag names, e.g. `*_background`; other characters are literal. */
export function compileBans(patterns: readonly string[], normalize: (tag: string) => string): (tag: string) => boolean {
  const exact = new Set<string>();
  const globs: ((tag: string) => boolean)[] = [];
  for (const pattern of patterns) {
    const normalized = normalize(pattern);
    if (!normalized) continue;
    if (!normalized.includes('*')) {
      exact.add(normalized);
      continue;
    }
    // (Not a RegExp: `**********q` took minutes over the dictionary's names.)
    globs.push(globMatcher(normalized, { caseSensitive: true }));
  }
  return (tag) => exact.has(tag) || globs.some((glob) => glob(tag));
}

/** What speculative sampling knows of a position before scanning it (each only saves work). */
export interface PositionHints {
  /** Rank this many entries past top-k: the next drafts come from the same position. */
  depth?: number;
  /** A value likely at or below the k-th best logit (see rankAllowed). */
  floor?: number;
}

/**
 * Like pickToken, but the stop token is drawn with the model's own probability (at the
 * temperature, among the allowed tokens) before top-k / top-p shape the choice of tag. Cutting
 * the tail first would hand the tail's mass to the stop token whenever it ranks high, so the
 * sampling settings would also shorten the samples; here they only choose among tags.
 *
 * Also returns the ranking it drew the tag from, `hints.depth` entries deeper than top-k:
 * speculative sampling drafts the next tags from the same position, and re-ranking it would be a
 * second pass over the vocabulary.
 */
export function chooseTokenOrStop(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  stopToken: number,
  options: PickOptions,
  random: () => number,
  hints: PositionHints = {},
  arrays: ArraySource = freshArrays,
): { token: number; ranked?: RankedTokens } {
  const mayStop = stopToken >= 0 && blocked[stopToken] === 0;
  if (options.temperature <= 0) return { token: pickToken(logits, offset, vocab, blocked, options, random) };
  if (mayStop && stops(logits, offset, vocab, blocked, stopToken, options.temperature, random())) return { token: stopToken };
  if (mayStop) blocked[stopToken] = 1;
  try {
    if (!(options.topK > 0)) return { token: pickToken(logits, offset, vocab, blocked, options, random) };
    const ranked = rankAllowed(logits, offset, vocab, blocked, options.topK + (hints.depth ?? 0), hints.floor, arrays);
    return { token: pickRanked(ranked, options, random, arrays), ranked };
  } finally {
    if (mayStop) blocked[stopToken] = 0;
  }
}

/**
 * Whether `draw` (uniform in [0, 1)) falls below the stop token's probability, i.e.
 * draw < w / S with w = exp((stop - max) / T) and S the sum over allowed tokens of
 * exp((logit - max) / T), max the largest allowed logit. Computed in the WebAssembly module
 * (logit-scan.wat) from bounds, and exactly in JavaScript only when they are not enough:
 * - S >= 1 + w (the best token's term and the stop token's), so a draw at or above w / (1 + w)
 *   never stops: this settles about two decisions in three from the maximum alone;
 * - otherwise the module's sum, within EXP_SUM_RELATIVE_ERROR, settles the rest but the draws
 *   within that of the boundary (about one in 10^3 of them).
 * The answer is the exact one either way.
 */
export function stops(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  stopToken: number,
  temperature: number,
  draw: number,
): boolean {
  const scanner = logitScanner();
  const max = scanner.maxAllowed(logits, offset, vocab, blocked);
  const stopLogit = logits[offset + stopToken];
  const stopWeight = Math.exp((stopLogit - max) / temperature);
  // Widened a little, here and below, so that rounding in the exact sum cannot put it outside.
  const ceiling = stopLogit === max ? 1 : stopWeight / (1 + stopWeight);
  if (draw >= ceiling * (1 + 1e-9)) return false;
  const sum = scanner.expSumAllowed(max, temperature);
  if (sum > 0 && Number.isFinite(sum)) {
    const upper = sum * (1 + EXP_SUM_RELATIVE_ERROR) + vocab * EXP_SUM_DROPPED_TERM;
    const lower = sum * (1 - EXP_SUM_RELATIVE_ERROR);
    if (draw < (stopWeight / upper) * (1 - 1e-9)) return true;
    if (draw >= (stopWeight / lower) * (1 + 1e-9)) return false;
  }
  let total = 0;
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] === 0) total += Math.exp((logits[offset + token] - max) / temperature);
  }
  return draw < stopWeight / total;
}

/** The distribution pickToken draws from: the kept tokens (best first) and their probabilities. */
export interface TokenDistribution {
  ids: Int32Array;
  probs: Float64Array;
  size: number;
}

/** The best allowed tokens of a row of logits, best first (ties: lower id first). */
export interface RankedTokens {
  ids: Int32Array;
  values: Float64Array;
  size: number;
}

/**
 * The allowed tokens, or when they are more than twice `keep` the `keep` best of them (ties to the
 * lower id, as the sort orders them), in no order: the keep-th best value found by selection (linear).
 */
function bestAllowed(logits: Float32Array, offset: number, vocab: number, blocked: Uint8Array, keep: number): number[] {
  const allowed: number[] = [];
  const values = new Float64Array(vocab);
  let sawNaN = false;
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] !== 0) continue;
    const value = logits[offset + token];
    values[allowed.length] = value;
    allowed.push(token);
    if (value !== value) sawNaN = true;
  }
  // (NaN has no place in an order: the full sort decides, as it did.)
  if (allowed.length <= 2 * keep || sawNaN) return allowed;
  const threshold = kthLargest(values.slice(0, allowed.length), keep);
  const best: number[] = [];
  for (let i = 0; i < allowed.length; i++) if (values[i] > threshold) best.push(allowed[i]);
  // Ties at the threshold: the lower ids, up to `keep` (the tokens are listed by id).
  for (let i = 0; i < allowed.length && best.length < keep; i++) if (values[i] === threshold) best.push(allowed[i]);
  return best;
}

/** The k-th largest of `values` (1-based), reordering them: Hoare's selection, middle pivot. */
function kthLargest(values: Float64Array, k: number): number {
  let low = 0;
  let high = values.length - 1;
  const target = k - 1;
  while (low < high) {
    const pivot = values[(low + high) >>> 1];
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i] > pivot) i++;
      while (values[j] < pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else return values[target];
  }
  return values[target];
}

/**
 * The `keep` best allowed tokens. With `hint` (a guess at a value at or below the keep-th best,
 * e.g. from the previous step's distribution) one pass gathers the tokens at or above it (or a
 * little lower, see rankAtLeast) and only those are ranked; if that finds too few or too many,
 * the exact scan runs instead. Either way the result is the same.
 */
export function rankAllowed(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  keep: number,
  hint = -Infinity,
  arrays: ArraySource = freshArrays,
): RankedTokens {
  keep = Math.min(keep, vocab);
  if (hint > -Infinity) {
    const found = rankAtLeast(logits, offset, vocab, blocked, hint, keep, keep);
    if (found) {
      const size = found.ids.length;
      const ranked = { ids: arrays.ints(size), values: arrays.doubles(size), size };
      ranked.ids.set(found.ids);
      ranked.values.set(found.values);
      return ranked;
    }
  }
  if (keep > 256) {
    // A long list: sort rather than insert one by one (quadratic); only the `keep` best when they are
    // a part of the allowed (a top-k of 1,000 sorted a sub-word model's 50,000 tokens at each draw).
    const order = bestAllowed(logits, offset, vocab, blocked, keep);
    order.sort((a, b) => logits[offset + b] - logits[offset + a] || a - b);
    const size = Math.min(keep, order.length);
    const ranked = { ids: Int32Array.from(order.slice(0, size)), values: new Float64Array(size), size };
    for (let i = 0; i < size; i++) ranked.values[i] = logits[offset + ranked.ids[i]];
    return ranked;
  }
  return insertBest(logits, offset, keep, vocab, blocked, arrays);
}

/**
 * The hints rankAtLeast tries, as distances below the one it is given: the second one is 1 below
 * the draft distribution's k-th logit (HINT_MARGIN + 0.7), which all but ~1 in 1,000 reach.
 */
const HINT_STEPS_DOWN = [0, 0.7, 2.7];

/**
 * The best `depth` allowed tokens, best first, ranked among those whose logit is at or above
 * `hint` (LogitScanner.topAllowed), when at least `keep` reach it: when fewer do (a hint from the
 * previous distribution is sometimes a little high), lower ones are tried. undefined when no hint
 * tried finds between `keep` and 8 × `keep` of them: the caller then scans every token.
 */
function rankAtLeast(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  hint: number,
  keep: number,
  depth: number,
): { ids: Int32Array; values: Float32Array } | undefined {
  const capacity = keep * 8;
  for (const down of HINT_STEPS_DOWN) {
    const ranked = logitScanner().topAllowed(logits, offset, vocab, blocked, hint - down, depth, capacity);
    if (ranked.found > capacity) return undefined;
    if (ranked.found >= keep) return ranked;
  }
  return undefined;
}

/**
 * The `keep` best of the tokens 0..vocab not `blocked`, by insertion into a sorted array from the
 * top: most tokens fall below the running threshold. Ties keep the lower id first.
 */
function insertBest(logits: Float32Array, offset: number, keep: number, vocab: number, blocked: Uint8Array, arrays: ArraySource): RankedTokens {
  const ids = arrays.ints(keep);
  const values = arrays.doubles(keep);
  let size = 0;
  let threshold = -Infinity;
  for (let token = 0; token < vocab; token++) {
    const value = logits[offset + token];
    if (!(value > threshold) || blocked[token] !== 0) continue;
    let i = size < keep ? size++ : keep - 1;
    while (i > 0 && values[i - 1] < value) {
      ids[i] = ids[i - 1];
      values[i] = values[i - 1];
      i--;
    }
    ids[i] = token;
    values[i] = value;
    if (size === keep) threshold = values[keep - 1];
  }
  return { ids, values, size };
}

/**
 * pickToken's distribution written out: the top-k of the ranked tokens not in `skip`, tempered,
 * cut to the nucleus, normalised. `ranked` must hold the top-k allowed tokens plus as many as `skip`
 * removes. `temperature` must be > 0.
 */
export function distributionOf(
  ranked: RankedTokens,
  skip: readonly number[],
  options: PickOptions,
  arrays: ArraySource = freshArrays,
): TokenDistribution {
  const keep = options.topK > 0 ? options.topK : ranked.size;
  const ids = arrays.ints(Math.min(keep, ranked.size));
  const probs = arrays.doubles(ids.length);
  let size = 0;
  let best = 0;
  for (let i = 0; i < ranked.size && size < ids.length; i++) {
    if (skip.length > 0 && skip.includes(ranked.ids[i])) continue;
    if (size === 0) best = ranked.values[i];
    ids[size] = ranked.ids[i];
    probs[size++] = Math.exp((ranked.values[i] - best) / options.temperature);
  }
  const cut = nucleusSize(probs, size, options.topP);
  let kept = 0;
  for (let i = 0; i < cut; i++) kept += probs[i];
  for (let i = 0; i < cut; i++) probs[i] /= kept;
  return { ids, probs, size: cut };
}

export function probabilityOf(distribution: TokenDistribution, token: number): number {
  for (let i = 0; i < distribution.size; i++) if (distribution.ids[i] === token) return distribution.probs[i];
  return 0;
}

export function drawFrom(distribution: TokenDistribution, random: () => number): number {
  let target = random();
  for (let i = 0; i < distribution.size; i++) {
    target -= distribution.probs[i];
    if (target < 0) return distribution.ids[i];
  }
  return distribution.ids[distribution.size - 1];
}

/** Reused buffer of the best candidates' weights for targetProbability (one sampler runs at a time per thread). */
let candidateWeights = new Float64Array(64);

/**
 * pickToken's probability of `token` (an allowed token), computed from the logits at or above
 * `hint` only: one WebAssembly pass gathers them and ranks the best keep + 1 of them
 * (rankAtLeast, logit-scan.wat). Returns undefined when that is not enough to be exact (too few
 * or too many reach the hints rankAtLeast tries, no top-k, or the token ties the cut-off value);
 * the caller then builds the whole distribution.
 */
export function targetProbability(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  token: number,
  options: PickOptions,
  hint: number,
): number | undefined {
  const keep = options.topK;
  if (!(keep > 0) || !(hint > -Infinity)) return undefined;
  // The keep + 1 best values, best first (one past the k-th to see a tie at the cut).
  const ranked = rankAtLeast(logits, offset, vocab, blocked, hint, keep, keep + 1);
  if (!ranked) return undefined;
  const top = ranked.values;
  const depth = top.length;
  if (candidateWeights.length < keep) candidateWeights = new Float64Array(keep);
  const weights = candidateWeights;
  for (let i = 0; i < keep; i++) weights[i] = Math.exp((top[i] - top[0]) / options.temperature);
  const cut = nucleusSize(weights, keep, options.topP);
  const cutValue = top[cut - 1];
  const value = logits[offset + token];
  // A tie with the last kept value: which of the tied tokens is kept depends on ids; let the exact path decide.
  if (value === cutValue || (cut < depth && top[cut] === cutValue)) return undefined;
  if (value < cutValue) return 0;
  let kept = 0;
  for (let i = 0; i < cut; i++) kept += weights[i];
  return Math.exp((value - top[0]) / options.temperature) / kept;
}

/**
 * One token of speculative sampling (Leviathan et al. 2023; Chen et al. 2023): `draft` was drawn
 * from `proposal`; it is kept with probability min(1, p/q), p being its probability under the
 * target distribution, else a token is drawn from the part of the target the proposal
 * under-covers, max(0, target - proposal). Either way the token returned is distributed exactly as
 * the target. The whole target is built (`target()`) only when the draft is rejected.
 */
export function verifyDraft(
  draft: number,
  draftTargetProbability: number,
  proposal: TokenDistribution,
  random: () => number,
  target: () => TokenDistribution,
): { token: number; accepted: boolean } {
  const p = draftTargetProbability;
  const q = probabilityOf(proposal, draft);
  if (random() * q < p) return { token: draft, accepted: true };
  return { token: drawResidual(target(), proposal, random), accepted: false };
}

/** A token from max(0, target - proposal), normalised (the target itself if that is empty). */
function drawResidual(target: TokenDistribution, proposal: TokenDistribution, random: () => number): number {
  const residual = new Float64Array(target.size);
  let total = 0;
  for (let i = 0; i < target.size; i++) {
    total += residual[i] = Math.max(0, target.probs[i] - probabilityOf(proposal, target.ids[i]));
  }
  if (!(total > 0)) return drawFrom(target, random);
  let point = random() * total;
  for (let i = 0; i < target.size; i++) {
    point -= residual[i];
    if (point < 0 && residual[i] > 0) return target.ids[i];
  }
  for (let i = target.size - 1; i >= 0; i--) if (residual[i] > 0) return target.ids[i];
  return drawFrom(target, random);
}
