// The sampler's passes over a position's logits, in a small WebAssembly SIMD module
// (logit-scan.wat): the allowed logits at or above a threshold, ranked (at each position
// speculative sampling checks, and a nucleus without top-k), the softmax's maximum and
// denominator over a row's allowed tokens (the stop decision), and a sub-word model's log-sum-exp.
import { instantiateEmbedded } from '../util/wasm';
import { LOGIT_SCAN_WASM_BASE64 } from './logit-scan-wasm';
import { logSumExp } from './session';

interface LogitScanExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  max_allowed(logitsAt: number, blockedAt: number, count: number): number;
  max_of(logitsAt: number, count: number): number;
  exp_sum(logitsAt: number, count: number, max: number): number;
  exp_sum_allowed(logitsAt: number, blockedAt: number, count: number, max: number, scale: number): number;
  top_allowed(
    logitsAt: number,
    blockedAt: number,
    count: number,
    threshold: number,
    depth: number,
    limit: number,
    keysAt: number,
    rankedAt: number,
    valuesAt: number,
  ): number;
}

/**
 * How far expSumAllowed's `sum` may be from the exact sum, relative to it, plus an absolute
 * EXP_SUM_DROPPED_TERM per token for the terms it leaves out. logit-scan.wat's terms are within
 * 1e-3 (8e-4 from its polynomial, about 1e-6 from float32 rounding); twice that leaves a margin.
 */
export const EXP_SUM_RELATIVE_ERROR = 2e-3;
export const EXP_SUM_DROPPED_TERM = 2 ** -100;

const PAGE_BYTES = 65536;

let shared: LogitScanner | undefined;
/** The thread's scanner, made on first use (each one holds a WebAssembly instance and its memory). */
export const sharedLogitScanner = (): LogitScanner => (shared ??= new LogitScanner());

export class LogitScanner {
  private readonly wasm = instantiateEmbedded<LogitScanExports>(LOGIT_SCAN_WASM_BASE64);
  private capacity = 0;
  private logits = new Float32Array(0);
  private blocked = new Uint8Array(0);
  private rankedIds = new Int32Array(0);
  private rankedValues = new Float32Array(0);
  private keysAt = 0;
  /** The padded length of the row maxAllowed loaded; -1 once topAllowed has overwritten it. */
  private loadedRow = -1;

  /**
   * The allowed tokens (`blocked` 0) of a row of logits whose logit is at or above `threshold`: how
   * many there are (`found`), and, unless that is over `limit`, the best `depth` of them, best first
   * (ties: lower id first), in `ids` and `values` (views of the module's memory that the next call
   * overwrites; empty when `found` is over `limit`).
   */
  topAllowed(
    logits: Float32Array,
    offset: number,
    count: number,
    blocked: Uint8Array,
    threshold: number,
    depth: number,
    limit = count,
  ): { found: number; ids: Int32Array; values: Float32Array } {
    this.load(logits, offset, count, blocked);
    this.loadedRow = -1;
    depth = Math.max(0, Math.min(depth, count));
    const found = this.wasm.top_allowed(
      0,
      this.blocked.byteOffset,
      count,
      smallestFloat32AtLeast(threshold),
      depth,
      limit,
      this.keysAt,
      this.rankedIds.byteOffset,
      this.rankedValues.byteOffset,
    );
    const size = found > limit ? 0 : Math.min(found, depth);
    return { found, ids: this.rankedIds.subarray(0, size), values: this.rankedValues.subarray(0, size) };
  }

  /**
   * Copies a row of logits, [offset, offset + count), and its `blocked` bytes into the module and
   * returns the largest logit among the tokens not blocked (-Infinity if none; NaN ignored).
   * expSumAllowed then works on this row.
   */
  maxAllowed(logits: Float32Array, offset: number, count: number, blocked: Uint8Array): number {
    this.loadedRow = this.load(logits, offset, count, blocked);
    return this.wasm.max_allowed(0, this.blocked.byteOffset, this.loadedRow);
  }

  /**
   * For the row maxAllowed loaded, whose largest allowed logit is `max`: the sum over its allowed
   * tokens of exp((logit - max) / temperature), within EXP_SUM_RELATIVE_ERROR and
   * EXP_SUM_DROPPED_TERM per token; NaN where one of the exact terms would be (the caller then
   * computes it exactly).
   */
  expSumAllowed(max: number, temperature: number): number {
    if (this.loadedRow < 0) throw new Error('expSumAllowed needs the row that maxAllowed loads');
    if (max === -Infinity) return 0;
    return this.wasm.exp_sum_allowed(0, this.blocked.byteOffset, this.loadedRow, max, Math.LOG2E / temperature);
  }

  /**
   * log(sum of exp(logit)) over a row of logits, [offset, offset + count), within ~2e-7 of
   * session.ts' logSumExp (which it falls back to for a row holding an infinity or a NaN): ~6x faster
   * on GPT-2's 50,257 logits.
   */
  logSumExp(logits: Float32Array, offset: number, count: number): number {
    this.reserve(count);
    this.loadedRow = -1;
    this.logits.set(logits.subarray(offset, offset + count));
    const padded = Math.ceil(count / 8) * 8;
    this.logits.fill(-Infinity, count, padded);
    const max = this.wasm.max_of(0, padded);
    const sum = Number.isFinite(max) ? this.wasm.exp_sum(0, padded, max) : NaN;
    // NaN where a term is (a NaN logit), and exactly as JavaScript computes it then.
    return Number.isFinite(sum) ? max + Math.log(sum) : logSumExp(logits, offset, count);
  }

  /**
   * Copies a row of logits, [offset, offset + count), and its `blocked` bytes into the module, the
   * mask padded with blocked entries to a multiple of 16 (the module reads whole groups of 16);
   * returns that padded length. Copying one position (24 KB for 6,173 logits) costs ~0.5 us; the
   * module never sees an array that JavaScript could change after the copy.
   */
  private load(logits: Float32Array, offset: number, count: number, blocked: Uint8Array): number {
    this.reserve(count);
    this.logits.set(logits.subarray(offset, offset + count));
    this.blocked.set(blocked.subarray(0, count));
    const padded = Math.ceil(count / 16) * 16;
    this.blocked.fill(1, count, padded);
    return padded;
  }

  /**
   * Memory for `count` logits, their blocked bytes, a ranking's ids and values, and its i64 keys,
   * each area padded to 16 entries.
   */
  private reserve(count: number): void {
    if (count <= this.capacity) return;
    const padded = Math.ceil(count / 16) * 16;
    const blockedAt = padded * 4;
    const rankedIdsAt = blockedAt + padded; // 4-byte aligned: padded is a multiple of 16
    const rankedValuesAt = rankedIdsAt + padded * 4;
    const keysAt = rankedValuesAt + padded * 4; // 8-byte aligned: padded is a multiple of 16
    const bytes = keysAt + padded * 8;
    const memory = this.wasm.memory;
    const missing = Math.ceil((bytes - memory.buffer.byteLength) / PAGE_BYTES);
    if (missing > 0) memory.grow(missing);
    this.logits = new Float32Array(memory.buffer, 0, padded);
    this.blocked = new Uint8Array(memory.buffer, blockedAt, padded);
    this.rankedIds = new Int32Array(memory.buffer, rankedIdsAt, padded);
    this.rankedValues = new Float32Array(memory.buffer, rankedValuesAt, padded);
    this.keysAt = keysAt;
    this.capacity = count;
    this.loadedRow = -1;
  }
}

const float32 = new Float32Array(1);
const float32Bits = new Int32Array(float32.buffer);

/**
 * The smallest float32 at or above `value`: for a float32 x, x >= value exactly when
 * x >= smallestFloat32AtLeast(value), so the module's float32 comparison matches JavaScript's
 * comparison of the same logits with a double.
 */
export function smallestFloat32AtLeast(value: number): number {
  const rounded = Math.fround(value);
  if (!(rounded < value)) return rounded; // exact, rounded up, or NaN
  float32[0] = rounded;
  if (rounded === 0) float32Bits[0] = 1; // the smallest positive subnormal
  else float32Bits[0] += rounded > 0 ? 1 : -1; // one unit of the last place towards +infinity
  return float32[0];
}
