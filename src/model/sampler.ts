// Token choice for sampling: temperature, top-k, top-p over the allowed tokens, with our own seeded
// PRNG so a seed gives the same samples on every machine and run.

export { createRandom } from '../util/random';

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
  const keep = options.temperature <= 0 ? 1 : options.topK > 0 ? options.topK : vocab;
  // A min-heap of the `keep` best allowed tokens by logit.
  const heapIds = new Int32Array(Math.min(keep, vocab));
  const heapValues = new Float64Array(heapIds.length);
  const capacity = heapIds.length;
  let size = 0;
  // Smallest value in a full heap: most tokens fall below it and cost one comparison.
  let threshold = -Infinity;
  for (let token = 0; token < vocab; token++) {
    const value = logits[offset + token];
    if (!(value > threshold) || blocked[token] !== 0) continue;
    if (size < capacity) {
      let i = size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (heapValues[parent] <= value) break;
        heapIds[i] = heapIds[parent];
        heapValues[i] = heapValues[parent];
        i = parent;
      }
      heapIds[i] = token;
      heapValues[i] = value;
      if (size === capacity) threshold = heapValues[0];
    } else {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && heapValues[right] < heapValues[left] ? right : left;
        if (heapValues[child] >= value) break;
        heapIds[i] = heapIds[child];
        heapValues[i] = heapValues[child];
        i = child;
      }
      heapIds[i] = token;
      heapValues[i] = value;
      threshold = heapValues[0];
    }
  }
  if (size === 0) return -1;
  const order = Array.from({ length: size }, (_, i) => i).sort(
    (a, b) => heapValues[b] - heapValues[a] || heapIds[a] - heapIds[b],
  );
  if (options.temperature <= 0) return heapIds[order[0]];
  const max = heapValues[order[0]];
  const weights = order.map((i) => Math.exp((heapValues[i] - max) / options.temperature));
  let total = 0;
  for (const weight of weights) total += weight;
  // Nucleus: the smallest head of the sorted list whose probability reaches topP.
  let cut = weights.length;
  if (options.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < weights.length; i++) {
      cumulative += weights[i] / total;
      if (cumulative >= options.topP) {
        cut = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < cut; i++) kept += weights[i];
  let target = random() * kept;
  for (let i = 0; i < cut; i++) {
    target -= weights[i];
    if (target < 0) return heapIds[order[i]];
  }
  return heapIds[order[cut - 1]];
}

/** `*` globs over normalized tag names, e.g. `*_background`; other characters are literal. */
export function compileBans(patterns: readonly string[], normalize: (tag: string) => string): (tag: string) => boolean {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    const normalized = normalize(pattern);
    if (!normalized) continue;
    if (!normalized.includes('*')) {
      exact.add(normalized);
      continue;
    }
    const source = normalized
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    globs.push(new RegExp(`^${source}$`));
  }
  return (tag) => exact.has(tag) || globs.some((glob) => glob.test(tag));
}

/**
 * Like pickToken, but the stop token is drawn with the model's own probability (at the
 * temperature, among the allowed tokens) before top-k / top-p shape the choice of tag. Cutting
 * the tail first would hand the tail's mass to the stop token whenever it ranks high, so the
 * sampling settings would also shorten the samples; here they only choose among tags.
 */
export function pickTokenOrStop(
  logits: Float32Array,
  offset: number,
  vocab: number,
  blocked: Uint8Array,
  stopToken: number,
  options: PickOptions,
  random: () => number,
): number {
  if (stopToken < 0 || blocked[stopToken] !== 0 || options.temperature <= 0) {
    return pickToken(logits, offset, vocab, blocked, options, random);
  }
  if (stops(logits, offset, vocab, blocked, stopToken, options.temperature, random())) return stopToken;
  blocked[stopToken] = 1;
  try {
    return pickToken(logits, offset, vocab, blocked, options, random);
  } finally {
    blocked[stopToken] = 0;
  }
}

// Buckets of (max - logit) / temperature, 1/16 wide, up to 40: a token's weight exp(-x) is known
// within a factor e^(1/16) from its bucket, without calling Math.exp.
const BUCKETS_PER_UNIT = 16;
const BUCKETS = 40 * BUCKETS_PER_UNIT;
const bucketCounts = new Int32Array(BUCKETS + 1);
const bucketUpper = Float64Array.from({ length: BUCKETS + 1 }, (_, b) => Math.exp(-b / BUCKETS_PER_UNIT));
const bucketLower = Float64Array.from({ length: BUCKETS + 1 }, (_, b) => (b === BUCKETS ? 0 : Math.exp(-(b + 1) / BUCKETS_PER_UNIT)));

/**
 * Whether `draw` (uniform in [0, 1)) falls below the stop token's probability, i.e.
 * draw < exp(stop / T) / sum over allowed tokens of exp(logit / T). The sum's ~6,000 exponentials
 * were most of a sampling step's own cost; bucket counts bound the probability first, and the
 * exact sum is computed only when the draw falls between the bounds (a few % of calls). The
 * answer is the exact one either way.
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
  let max = -Infinity;
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] === 0 && logits[offset + token] > max) max = logits[offset + token];
  }
  const stopWeight = Math.exp((logits[offset + stopToken] - max) / temperature);
  const scale = BUCKETS_PER_UNIT / temperature;
  bucketCounts.fill(0);
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] !== 0) continue;
    const distance = (max - logits[offset + token]) * scale;
    bucketCounts[distance < BUCKETS ? distance | 0 : BUCKETS]++;
  }
  let lower = 0;
  let upper = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    const count = bucketCounts[b];
    if (count === 0) continue;
    lower += count * bucketLower[b];
    upper += count * bucketUpper[b];
  }
  // Widened a little so that rounding in either sum cannot put the exact value outside.
  if (draw < (stopWeight / upper) * (1 - 1e-9)) return true;
  if (draw >= (stopWeight / lower) * (1 + 1e-9)) return false;
  let total = 0;
  for (let token = 0; token < vocab; token++) {
    if (blocked[token] === 0) total += Math.exp((logits[offset + token] - max) / temperature);
  }
  return draw < stopWeight / total;
}
