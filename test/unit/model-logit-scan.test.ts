import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { EXP_SUM_DROPPED_TERM, EXP_SUM_RELATIVE_ERROR, LogitScanner, smallestFloat32AtLeast } from '../../src/model/logit-scan';
import { LOGIT_SCAN_WASM_BASE64 } from '../../src/model/logit-scan-wasm';
import { createRandom } from '../../src/model/sampler';
import { logSumExp } from '../../src/model/session';

/** What the module replaces: the same comparison in JavaScript, with a double threshold. */
function atLeastInJavaScript(logits: Float32Array, offset: number, count: number, threshold: number): number[] {
  const found: number[] = [];
  for (let i = 0; i < count; i++) if (logits[offset + i] >= threshold) found.push(i);
  return found;
}

/** topAllowed's ids in increasing order, and how many it found (every one of them, with a depth of `count`). */
function foundInIdOrder(scanner: LogitScanner, logits: Float32Array, offset: number, count: number, threshold: number): number[] {
  const { found, ids } = scanner.topAllowed(logits, offset, count, new Uint8Array(count), threshold, count);
  assert.equal(ids.length, found);
  return [...ids].sort((a, b) => a - b);
}

test('LogitScanner finds what the JavaScript loop finds: block edges, tails, offsets, NaN and infinities', () => {
  const random = createRandom(7);
  const scanner = new LogitScanner();
  const logits = new Float32Array(20_000);
  for (let i = 0; i < logits.length; i++) logits[i] = (random() - 0.5) * 20;
  logits[3] = NaN;
  logits[17] = Infinity;
  logits[40] = -Infinity;
  for (const count of [0, 1, 15, 16, 17, 31, 33, 6173, 17_000]) {
    for (const offset of [0, 1, 5, 2500]) {
      // Thresholds that float32 holds, that it does not (between two float32), and past the ends.
      const picked = logits[offset + Math.floor(random() * Math.max(1, count))];
      for (const threshold of [picked, picked + 1e-9, picked - 1e-9, 7.5, -Infinity, Infinity, 1e39, -1e39]) {
        const found = foundInIdOrder(scanner, logits, offset, count, threshold);
        assert.deepEqual(found, atLeastInJavaScript(logits, offset, count, threshold), `count ${count}, offset ${offset}, threshold ${threshold}`);
      }
    }
  }
});

test('LogitScanner grows its memory for long rows and keeps working on short ones after', () => {
  const scanner = new LogitScanner();
  const long = Float32Array.from({ length: 300_000 }, (_, i) => (i % 1000 === 999 ? 5 : 0));
  assert.equal(foundInIdOrder(scanner, long, 0, long.length, 1).length, 300);
  const short = Float32Array.from([0, 2, 1, 3]);
  assert.deepEqual(foundInIdOrder(scanner, short, 1, 3, 1.5), [0, 2]);
});

/** topAllowed's answer in JavaScript: the allowed tokens at or above the threshold, ranked by logit (ties: lower id first). */
function topAllowedInJavaScript(logits: Float32Array, offset: number, count: number, blocked: Uint8Array, threshold: number, depth: number) {
  const found = atLeastInJavaScript(logits, offset, count, threshold).filter((i) => blocked[i] === 0);
  const ranked = found.slice().sort((a, b) => (logits[offset + b] === logits[offset + a] ? a - b : logits[offset + b] - logits[offset + a]));
  const ids = ranked.slice(0, depth);
  return { found: found.length, ids, values: ids.map((i) => logits[offset + i]) };
}

test('topAllowed ranks what the JavaScript ranking does: ties, -0 and 0, NaN, masks, tails, depths past what is found, the limit', () => {
  const random = createRandom(11);
  const scanner = new LogitScanner();
  for (let trial = 0; trial < 300; trial++) {
    const count = [1, 15, 16, 17, 33, 200, 6173][trial % 7];
    const offset = trial % 4;
    // Few distinct values in some trials, so that ties straddle the cut; -0 beside 0, NaN, infinities.
    const levels = [3, 40, 100_000][trial % 3];
    const logits = Float32Array.from({ length: count + offset }, () => Math.floor(random() * levels) / 4 - levels / 8);
    for (let i = 0; i < logits.length; i++) if (logits[i] === 0 && random() < 0.5) logits[i] = -0;
    if (count > 20) {
      logits[offset + 3] = NaN;
      logits[offset + 9] = Infinity;
      logits[offset + 19] = -Infinity;
    }
    const blocked = Uint8Array.from({ length: count }, () => (random() < 0.3 ? 1 : 0));
    const threshold = [logits[offset + Math.floor(random() * count)], -Infinity, 1e-9, -levels][trial % 4];
    const depth = [1, 5, 51, 10_000][Math.floor(trial / 4) % 4];
    const expected = topAllowedInJavaScript(logits, offset, count, blocked, threshold, depth);
    const got = scanner.topAllowed(logits, offset, count, blocked, threshold, depth);
    const label = `trial ${trial}: count ${count}, threshold ${threshold}, depth ${depth}`;
    assert.equal(got.found, expected.found, label);
    assert.deepEqual([...got.ids], expected.ids, label);
    // Object.is: the values are the logits themselves, -0 included.
    got.values.forEach((value, i) => assert.ok(Object.is(value, expected.values[i]), `${label}: value ${i}`));
    // Over the limit: the count alone, no ranking.
    if (expected.found > 0) {
      const over = scanner.topAllowed(logits, offset, count, blocked, threshold, depth, expected.found - 1);
      assert.equal(over.found, expected.found, label);
      assert.equal(over.ids.length, 0, label);
    }
  }
});

test('maxAllowed and expSumAllowed: the maximum exactly and the sum within its stated error, over spreads, temperatures, lengths and masks', () => {
  const random = createRandom(3);
  const scanner = new LogitScanner();
  let worst = 0;
  for (let trial = 0; trial < 400; trial++) {
    const count = [1, 3, 4, 5, 17, 6173, 1000][trial % 7];
    const spread = [0.5, 5, 40, 400][trial % 4];
    const temperature = [0.02, 0.3, 1, 2.5][Math.floor(trial / 4) % 4];
    const offset = trial % 3;
    const logits = Float32Array.from({ length: count + offset }, () => (random() - 0.5) * spread);
    const blocked = Uint8Array.from({ length: count }, () => (random() < 0.2 ? 1 : 0));
    if (trial % 5 === 0) blocked.fill(0);
    let max = -Infinity;
    for (let i = 0; i < count; i++) if (!blocked[i] && logits[offset + i] > max) max = logits[offset + i];
    let exact = 0;
    for (let i = 0; i < count; i++) if (!blocked[i]) exact += Math.exp((logits[offset + i] - max) / temperature);
    assert.equal(scanner.maxAllowed(logits, offset, count, blocked), max, `trial ${trial}`);
    const sum = scanner.expSumAllowed(max, temperature);
    if (max === -Infinity) {
      assert.equal(sum, 0);
      continue;
    }
    const error = Math.abs(sum - exact) - count * EXP_SUM_DROPPED_TERM;
    worst = Math.max(worst, error / exact);
    assert.ok(error <= exact * EXP_SUM_RELATIVE_ERROR, `trial ${trial}: ${sum} vs ${exact}`);
  }
  // The stated bound keeps a margin: the module stays within half of it.
  assert.ok(worst < EXP_SUM_RELATIVE_ERROR / 2, `worst relative error ${worst}`);
});

test('expSumAllowed: NaN where a term is NaN, the blocked entries and the padding ignored; only after maxAllowed', () => {
  const scanner = new LogitScanner();
  const logits = Float32Array.from([1, NaN, 2, Infinity, 0.5]);
  const sumOf = (blocked: number[]): number => scanner.expSumAllowed(scanner.maxAllowed(logits, 0, 5, Uint8Array.from(blocked)), 1);
  assert.ok(Number.isNaN(sumOf([0, 0, 0, 1, 0])));
  assert.ok(Number.isNaN(sumOf([0, 1, 0, 0, 0]))); // inf - inf
  assert.equal(scanner.maxAllowed(logits, 0, 5, Uint8Array.from([0, 1, 0, 1, 0])), 2);
  const exact = Math.exp(-1) + 1 + Math.exp(-1.5);
  assert.ok(Math.abs(scanner.expSumAllowed(2, 1) - exact) < 1e-3 * exact);
  assert.equal(scanner.maxAllowed(logits, 0, 3, Uint8Array.from([1, 1, 1])), -Infinity);
  assert.equal(scanner.expSumAllowed(-Infinity, 1), 0);
  // topAllowed overwrites the row: the sum must not be taken from it.
  scanner.topAllowed(logits, 0, 5, new Uint8Array(5), 0, 5);
  assert.throws(() => scanner.expSumAllowed(2, 1), /maxAllowed/);
});

test('logSumExp: within 1e-6 of the JavaScript log-sum-exp over GPT-2-sized rows, spreads, tails and offsets; infinities and NaN as JavaScript', () => {
  const random = createRandom(5);
  const scanner = new LogitScanner();
  const logits = new Float32Array(3 * 50_257);
  for (const spread of [0, 1, 20, 200]) {
    for (let i = 0; i < logits.length; i++) logits[i] = (random() - 0.5) * spread + (i % 89 === 0 ? spread / 4 : 0);
    for (const count of [1, 7, 8, 9, 6173, 50_257]) {
      for (const offset of [0, 3, 50_257]) {
        const expected = logSumExp(logits, offset, count);
        const actual = scanner.logSumExp(logits, offset, count);
        assert.ok(Math.abs(actual - expected) <= 1e-6, `spread ${spread}, count ${count}, offset ${offset}: ${actual} against ${expected}`);
      }
    }
  }
  // A -Infinity logit (a token a model forbids) adds nothing; a NaN or +Infinity is as in JavaScript.
  logits.fill(0, 0, 100);
  logits[7] = -Infinity;
  assert.ok(Math.abs(scanner.logSumExp(logits, 0, 100) - Math.log(99)) <= 1e-6);
  for (const special of [NaN, Infinity]) {
    logits[7] = special;
    assert.deepEqual(scanner.logSumExp(logits, 0, 100), logSumExp(logits, 0, 100), String(special));
  }
  logits.fill(-Infinity, 0, 100);
  assert.deepEqual(scanner.logSumExp(logits, 0, 100), logSumExp(logits, 0, 100), 'a row of -Infinity');
  // The sampler's row is loaded again after it (expSumAllowed needs maxAllowed first).
  assert.throws(() => scanner.expSumAllowed(0, 1), /needs the row that maxAllowed loads/);
});

test('smallestFloat32AtLeast: a float32 is at or above a value exactly when it is at or above the result', () => {
  const random = createRandom(11);
  const above = (x: number, value: number): boolean => x >= value;
  for (let i = 0; i < 20_000; i++) {
    const value = (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6);
    const result = smallestFloat32AtLeast(value);
    assert.equal(Math.fround(result), result, 'a float32');
    assert.ok(result >= value, `${result} >= ${value}`);
    // The float32 just below the result is below the value.
    const below = new Float32Array([result]);
    const bits = new Int32Array(below.buffer);
    bits[0] += result > 0 ? -1 : result < 0 ? 1 : 0;
    if (result !== 0) assert.ok(!above(below[0], value), `${below[0]} < ${value}`);
  }
  assert.equal(smallestFloat32AtLeast(1e-50), 2 ** -149);
  assert.ok(smallestFloat32AtLeast(-1e-50) === 0); // -0, which compares as 0
  assert.equal(smallestFloat32AtLeast(-1e39), -3.4028234663852886e38);
  assert.equal(smallestFloat32AtLeast(0.5), 0.5);
  assert.ok(Number.isNaN(smallestFloat32AtLeast(NaN)));
});

test('the committed logit-scan module is assembled from logit-scan.wat as it is', () => {
  const script = path.join(__dirname, '..', '..', 'scripts', 'assemble-wasm.mjs');
  const assembled = execFileSync(process.execPath, [script, '--print', 'logit-scan'], { encoding: 'utf8' }).trim();
  assert.equal(assembled, LOGIT_SCAN_WASM_BASE64, 'run node scripts/assemble-wasm.mjs after editing logit-scan.wat');
});
