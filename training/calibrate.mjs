// Activation ranges for training/quantize.py, measured by onnxruntime-node, the runtime that will
// run the quantized model. Usage: node training/calibrate.mjs PROBE.onnx REQUEST.json
// REQUEST: {heads, headSize, outputs: [names], sequences: [[token ids], ...]}, or for a sub-word
// model {..., texts: [prompt text, ...], tokenizer: tokenizer.json, tokenizerConfig, bos, positions}
// (each text tokenized by @huggingface/tokenizers as the runtime does, after `bos`, cut to
// `positions`); each sequence runs alone, from an empty cache. Prints {name: max |value| over every
// sequence and position}.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const [graphPath, requestPath] = process.argv.slice(2);
if (!graphPath || !requestPath) {
  console.error('usage: node training/calibrate.mjs PROBE.onnx REQUEST.json');
  process.exit(2);
}
const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
const session = await ort.InferenceSession.create(graphPath, { intraOpNumThreads: 2, interOpNumThreads: 1 });
const pastNames = session.inputNames.filter((name) => name.startsWith('past_key_values.'));
const ranges = Object.fromEntries(request.outputs.map((name) => [name, 0]));
const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
let sequences = request.sequences;
if (request.texts) {
  const { Tokenizer } = require('@huggingface/tokenizers');
  const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
  const tokenizer = new Tokenizer(readJson(request.tokenizer), request.tokenizerConfig ? readJson(request.tokenizerConfig) : {});
  sequences = request.texts.map((text) => [request.bos, ...tokenizer.encode(text, { add_special_tokens: false }).ids].slice(0, request.positions));
}
for (const ids of sequences) {
  const n = ids.length;
  const feeds = {
    input_ids: int64(ids, [1, n]),
    attention_mask: int64(new Array(n).fill(1), [1, n]),
    position_ids: int64(ids.map((_, i) => i), [1, n]),
  };
  for (const name of pastNames) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, request.heads, 0, request.headSize]);
  const outputs = await session.run(feeds, request.outputs);
  for (const name of request.outputs) {
    let max = ranges[name];
    for (const value of outputs[name].data) if (Math.abs(value) > max) max = Math.abs(value);
    ranges[name] = max;
  }
}
await session.release();
console.log(JSON.stringify(ranges));
