// The parity check of an export: the model folder's ONNX graph, run by onnxruntime-node (the runtime
// the extension uses), against the logits PyTorch saved (export.py --parity FILE).
// Usage: node training/parity.mjs MODEL_DIR PARITY.json [--tolerance 1e-4]
// Runs the recorded sequence whole (no cache), then its steps through the cache, and prints the
// largest difference of each; exit 0 within the tolerance, 1 beyond it, 2 for a bad command line.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const toleranceAt = args.indexOf('--tolerance');
const tolerance = toleranceAt >= 0 ? Number(args.splice(toleranceAt, 2)[1]) : 1e-4;
const [modelDir, parityPath] = args;
if (!modelDir || !parityPath || args.length !== 2 || !(tolerance > 0)) {
  console.error('usage: node training/parity.mjs MODEL_DIR PARITY.json [--tolerance 1e-4]');
  process.exit(2);
}
const readJson = (file) => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`parity: ${file}: ${error.code === 'ENOENT' ? 'file not found' : error.message}`);
    process.exit(2);
  }
};
const config = readJson(path.join(modelDir, 'config.json'));
const parity = readJson(parityPath);
const graph = ['onnx/model.onnx', 'model.onnx'].map((file) => path.join(modelDir, file)).find((file) => fs.existsSync(file));
if (!graph) {
  console.error(`parity: ${path.join(modelDir, 'onnx', 'model.onnx')}: file not found`);
  process.exit(2);
}

const ort = require('onnxruntime-node');
const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: 1 });
const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
const headDim = config.n_embd / config.n_head;

/** Logits of each chunk of ids fed in turn through the cache (a single chunk: no cache). */
async function run(chunks) {
  let past = {};
  for (let i = 0; i < config.n_layer; i++) {
    for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, config.n_head, 0, headDim]);
  }
  let position = 0;
  const rows = [];
  for (const chunk of chunks) {
    const out = await session.run({
      input_ids: int64(chunk, [1, chunk.length]),
      attention_mask: int64(new Array(position + chunk.length).fill(1), [1, position + chunk.length]),
      position_ids: int64(chunk.map((_, i) => position + i), [1, chunk.length]),
      ...past,
    });
    const vocab = out.logits.dims[2];
    for (let t = 0; t < chunk.length; t++) rows.push(out.logits.data.subarray(t * vocab, (t + 1) * vocab));
    past = {};
    for (let i = 0; i < config.n_layer; i++) for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = out[`present.${i}.${kind}`];
    position += chunk.length;
  }
  return rows;
}

/** Largest |ONNX − PyTorch| over the recorded positions and vocabulary ids (`columns` when only some were kept). */
function maxDifference(rows, expected) {
  if (rows.length !== expected.length) throw new Error(`${rows.length} positions run, ${expected.length} recorded`);
  let max = 0;
  rows.forEach((row, t) => {
    const ids = parity.columns ?? row.map((_, v) => v);
    ids.forEach((id, k) => (max = Math.max(max, Math.abs(row[id] - expected[t][k]))));
  });
  return max;
}

const whole = maxDifference(await run([parity.input_ids]), parity.logits);
const stepped = maxDifference(await run(parity.steps.map((step) => step.input_ids)), parity.steps.flatMap((step) => step.logits));
const ok = whole <= tolerance && stepped <= tolerance;
console.log(`${graph}: max |ONNX - PyTorch| ${whole.toExponential(2)} for the sequence whole, ${stepped.toExponential(2)} through the cache (${parity.input_ids.length} positions; tolerance ${tolerance}): ${ok ? 'ok' : 'DIFFERS'}`);
await session.release();
process.exit(ok ? 0 : 1);
