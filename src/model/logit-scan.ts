// The logits of a position at or above a threshold, found by a small WebAssembly SIMD module
// (logit-scan.wat): the one pass over the vocabulary that sampling makes at each position it checks.
import { instantiateEmbedded } from '../util/wasm';
import { LOGIT_SCAN_WASM_BASE64 } from './logit-scan-wasm';

interface LogitScanExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  at_least(logitsAt: number, count: number, threshold: number, idsAt: number): number;
}

const PAGE_BYTES = 65536;

export class LogitScanner {
  private readonly wasm = instantiateEmbedded<LogitScanExports>(LOGIT_SCAN_WASM_BASE64);
  private capacity = 0;
  private logits = new Float32Array(0);
  private ids = new Int32Array(0);

  /**
   * The i in [0, count) with logits[offset + i] >= threshold, in increasing order, as
   * `for (i...) if (logits[offset + i] >= threshold)` would find them: a view of the module's
   * memory that the next call overwrites.
   */
  atLeast(logits: Float32Array, offset: number, count: number, threshold: number): Int32Array {
    this.reserve(count);
    // Copying one position (24 KB for 6,173 logits) costs ~0.5 us; the module never sees an array
    // that JavaScript could change after the copy.
    this.logits.set(logits.subarray(offset, offset + count));
    const found = this.wasm.at_least(0, count, smallestFloat32AtLeast(threshold), this.ids.byteOffset);
    return this.ids.subarray(0, found);
  }

  private reserve(count: number): void {
    if (count <= this.capacity) return;
    const idsAt = Math.ceil((count * 4) / 16) * 16;
    const bytes = idsAt + count * 4;
    const memory = this.wasm.memory;
    const missing = Math.ceil((bytes - memory.buffer.byteLength) / PAGE_BYTES);
    if (missing > 0) memory.grow(missing);
    this.logits = new Float32Array(memory.buffer, 0, count);
    this.ids = new Int32Array(memory.buffer, idsAt, count);
    this.capacity = count;
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
