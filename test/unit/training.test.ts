// Training pipeline checks: the Python unit tests, then a tiny training + export whose ONNX logits
// (run here by onnxruntime-node, as the extension runs them) must equal the logits PyTorch saved,
// with and without the KV cache; and the exported/fixture tokenizer.json loads in transformers.js.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { BpeModelEngine } from '../../src/model/bpe-engine';

const root = path.join(__dirname, '..', '..');
const python = process.env.DANBOORU_GPT_PYTHON ?? '/usr/bin/python3';
const fixture = path.join(root, 'test', 'fixtures', 'models', 'tiny-tag');
const tolerance = 1e-4;

interface Parity {
  input_ids: number[];
  logits: number[][];
  steps: { input_ids: number[]; logits: number[][] }[];
  /** Vocabulary ids the logits were kept for (all when absent). */
  columns?: number[];
}

interface ModelConfig {
  model_type: string;
  vocab_size: number;
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
}

function runPython(args: string[]): void {
  const result = spawnSync(python, args, { cwd: root, encoding: 'utf8', timeout: 170_000 });
  assert.equal(result.error, undefined, `${python} ${args.join(' ')}: ${String(result.error)}`);
  assert.equal(result.status, 0, `${python} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims);
}

function emptyPast(config: ModelConfig, batch: number): Record<string, ort.Tensor> {
  const headDim = config.n_embd / config.n_head;
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < config.n_layer; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [batch, config.n_head, 0, headDim]);
    }
  }
  return feeds;
}

/** Runs batch-1 chunks through the cache; returns each chunk's logits as [position][vocab]. */
async function runChunks(session: ort.InferenceSession, config: ModelConfig, chunks: number[][]): Promise<number[][][]> {
  let past = emptyPast(config, 1);
  let position = 0;
  const results: number[][][] = [];
  for (const chunk of chunks) {
    const n = chunk.length;
    const out = await session.run({
      input_ids: int64(chunk, [1, n]),
      attention_mask: int64(new Array<number>(position + n).fill(1), [1, position + n]),
      position_ids: int64(chunk.map((_, i) => position + i), [1, n]),
      ...past,
    });
    const logits = out.logits;
    const vocab = logits.dims[2];
    const data = logits.data as Float32Array;
    results.push(chunk.map((_, t) => Array.from(data.subarray(t * vocab, (t + 1) * vocab))));
    past = {};
    for (let i = 0; i < config.n_layer; i++) {
      for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = out[`present.${i}.${kind}`];
    }
    position += n;
  }
  return results;
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let t = 0; t < a.length; t++) {
    assert.equal(a[t].length, b[t].length);
    for (let v = 0; v < a[t].length; v++) max = Math.max(max, Math.abs(a[t][v] - b[t][v]));
  }
  return max;
}

test('training: Python unit tests (tokenizer, permutation, losses, model cache, export, metrics)', { timeout: 170_000 }, () => {
  runPython(['-m', 'unittest', 'discover', '-s', 'training/tests']);
});

describe('training: tiny training + export, ONNX parity from onnxruntime-node', { timeout: 170_000 }, () => {
  let work = '';
  let modelDir = '';
  let parity: Parity;
  let config: ModelConfig;
  let session: ort.InferenceSession;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-training-'));
    const run = path.join(work, 'run');
    modelDir = path.join(work, 'tiny');
    runPython([
      'training/train.py', '--data', 'training/tests/data/posts-sample.tsv', '--out', run,
      '--min-count', '1', '--n-layer', '2', '--n-head', '2', '--n-embd', '16', '--epochs', '1', '--batch-size', '16',
      '--log-every', '1000', '--threads', '1',
    ]);
    runPython(['training/export.py', '--run', run, '--out', modelDir, '--parity', path.join(work, 'parity.json')]);
    runPython(['training/export.py', '--run', run, '--out', path.join(work, 'traced'), '--graph', 'traced']);
    parity = readJson<Parity>(path.join(work, 'parity.json'));
    config = readJson<ModelConfig>(path.join(modelDir, 'config.json'));
    session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'));
  });

  after(async () => {
    await session?.release();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the export has the Hugging Face GPT-2 layout and optimum input/output names', () => {
    for (const file of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      assert.ok(fs.existsSync(path.join(modelDir, file)), file);
    }
    assert.equal(config.model_type, 'gpt2');
    assert.equal(config.n_layer, 2);
    const pastNames = [0, 1].flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]);
    assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'position_ids', ...pastNames]);
    assert.deepEqual(session.outputNames, ['logits', ...[0, 1].flatMap((i) => [`present.${i}.key`, `present.${i}.value`])]);
  });

  test('without cache: the whole sequence at once (past length 0) equals PyTorch', async () => {
    const [logits] = await runChunks(session, config, [parity.input_ids]);
    assert.equal(logits[0].length, config.vocab_size);
    assert.ok(maxAbsDiff(logits, parity.logits) < tolerance);
  });

  test('with cache: a first step then one tag a step equals PyTorch', async () => {
    const steps = await runChunks(session, config, parity.steps.map((s) => s.input_ids));
    for (let i = 0; i < steps.length; i++) {
      const diff = maxAbsDiff(steps[i], parity.steps[i].logits);
      assert.ok(diff < tolerance, `step ${i}: max abs diff ${diff}`);
    }
    // The cached run must also reproduce the uncached logits position by position.
    assert.ok(maxAbsDiff(steps.flat(), parity.logits) < tolerance);
  });

  test('training/parity.mjs, the check a user runs on an export, passes it and fails one whose logits differ', () => {
    const check = (file: string, ...extra: string[]) => spawnSync(process.execPath, ['training/parity.mjs', modelDir, file, ...extra], { cwd: root, encoding: 'utf8' });
    const passed = check(path.join(work, 'parity.json'));
    assert.equal(passed.status, 0, passed.stderr);
    assert.match(passed.stdout, /max \|ONNX - PyTorch\| \S+ for the sequence whole, \S+ through the cache \(\d+ positions; tolerance 0\.0001\): ok\n$/);
    const changed = readJson<Parity>(path.join(work, 'parity.json'));
    changed.steps[1]!.logits[0]![5]! += 0.01;
    fs.writeFileSync(path.join(work, 'changed.json'), JSON.stringify(changed));
    const failed = check(path.join(work, 'changed.json'));
    assert.equal(failed.status, 1);
    assert.match(failed.stdout, /1\.00e-2 through the cache .*: DIFFERS/);
    assert.equal(check(path.join(work, 'changed.json'), '--tolerance', '0.1').status, 0);
    assert.equal(check(path.join(work, 'missing.json')).status, 2);
  });

  test('the traced export (torch.onnx.export) gives the same logits as the hand-written graph', async () => {
    const traced = await ort.InferenceSession.create(path.join(work, 'traced', 'onnx', 'model.onnx'));
    try {
      assert.deepEqual(traced.inputNames, session.inputNames);
      assert.deepEqual(traced.outputNames, session.outputNames);
      const chunks = parity.steps.map((s) => s.input_ids);
      const lean = await runChunks(session, config, chunks);
      const viaTorch = await runChunks(traced, config, chunks);
      assert.ok(maxAbsDiff(lean.flat(), viaTorch.flat()) < tolerance);
    } finally {
      await traced.release();
    }
  });

  test('batch of two with left padding: the padded row equals the unpadded sequence', async () => {
    const ids = parity.input_ids;
    const short = ids.slice(0, ids.length - 2);
    const n = ids.length;
    const padded = [config.pad_token_id, config.pad_token_id, ...short];
    const out = await session.run({
      input_ids: int64([...ids, ...padded], [2, n]),
      attention_mask: int64([...new Array<number>(n).fill(1), 0, 0, ...new Array<number>(n - 2).fill(1)], [2, n]),
      position_ids: int64([...ids.map((_, i) => i), 0, 0, ...short.map((_, i) => i)], [2, n]),
      ...emptyPast(config, 2),
    });
    const vocab = config.vocab_size;
    const data = out.logits.data as Float32Array;
    const row = (b: number, t: number) => Array.from(data.subarray((b * n + t) * vocab, (b * n + t + 1) * vocab));
    const first = ids.map((_, t) => row(0, t));
    const second = short.map((_, t) => row(1, t + 2));
    assert.ok(maxAbsDiff(first, parity.logits) < tolerance);
    assert.ok(maxAbsDiff(second, parity.logits.slice(0, n - 2)) < tolerance);
  });

  test('int8 (training/quantize.py, calibrated by onnxruntime-node), of the lean and the traced export: close to PyTorch, and each position depends on its own sequence only', async () => {
    for (const [name, source] of [['lean', modelDir], ['traced', path.join(work, 'traced')]]) {
      const sourcePath = path.join(source, 'onnx', 'model.onnx');
      const int8Path = path.join(work, `${name}-int8.onnx`);
      runPython(['training/quantize.py', sourcePath, int8Path, '--posts', 'training/tests/data/posts-sample.tsv', '--every', '1']);
      assert.ok(fs.statSync(int8Path).size < fs.statSync(sourcePath).size * 0.7, `${name}: int8 file smaller`);
      const int8 = await ort.InferenceSession.create(int8Path);
      try {
        assert.deepEqual(int8.inputNames, session.inputNames);
        assert.deepEqual(int8.outputNames, session.outputNames);
        const [whole] = await runChunks(int8, config, [parity.input_ids]);
        const scale = Math.max(...parity.logits.flat().map(Math.abs));
        const diff = maxAbsDiff(whole, parity.logits);
        assert.ok(diff > 0 && diff < 0.05 * scale, `${name} int8 vs PyTorch: max abs diff ${diff}, logits up to ${scale}`);
        // Fixed activation scales: the cached steps give exactly the logits of the whole sequence,
        // and a row's logits do not depend on the other row of its batch.
        const steps = await runChunks(int8, config, parity.steps.map((s) => s.input_ids));
        assert.ok(maxAbsDiff(steps.flat(), whole) < tolerance, `${name}: cached steps equal the whole sequence`);
        const ids = parity.input_ids;
        const n = ids.length;
        const other = ids.map((id, i) => (i === 0 ? id : config.vocab_size - 1 - i));
        const out = await int8.run({
          input_ids: int64([...ids, ...other], [2, n]),
          attention_mask: int64(new Array<number>(2 * n).fill(1), [2, n]),
          position_ids: int64([...ids.keys(), ...ids.keys()], [2, n]),
          ...emptyPast(config, 2),
        });
        const data = out.logits.data as Float32Array;
        const first = ids.map((_, t) => Array.from(data.subarray(t * config.vocab_size, (t + 1) * config.vocab_size)));
        assert.ok(maxAbsDiff(first, whole) < tolerance, `${name}: a row does not depend on the other rows`);
      } finally {
        await int8.release();
      }
    }
    const int8Path = path.join(work, 'lean-int8.onnx');
    const refused = spawnSync(python, ['training/quantize.py', int8Path, path.join(work, 'again.onnx'), '--posts', 'training/tests/data/posts-sample.tsv'], { cwd: root, encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /lean-int8\.onnx: no MatMul or Gemm by a float32 weight matrix \(already quantized\?\)/);
    assert.ok(!fs.existsSync(path.join(work, 'again.onnx')));
  });

  test('transformers.js AutoTokenizer loads the exported tokenizer.json: one id per tag', async () => {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = work;
    const tokenizer = await AutoTokenizer.from_pretrained('tiny', { local_files_only: true });
    const vocab = readJson<{ model: { vocab: Record<string, number> } }>(path.join(modelDir, 'tokenizer.json')).model.vocab;
    const firstPost = fs.readFileSync(path.join(root, 'training/tests/data/posts-sample.tsv'), 'utf8').split('\n')[0];
    const tags = firstPost.split('\t')[1].split(',');
    const expected = [config.bos_token_id, ...tags.map((t) => vocab[t])];
    assert.deepEqual(tokenizer.encode(tags.join(', ')), expected);
    assert.deepEqual(tokenizer.encode(tags.map((t) => t.replace(/_/g, ' ')).join(',')), expected);
    assert.deepEqual(tokenizer.encode('no_such_tag_xyz', { add_special_tokens: false }), [vocab['<|unk|>']]);
  });
});

test('int8 of a BPE model (training/quantize.py on the tiny-bpe fixture, calibrated on prompt text): the engine loads it, scores a row as it scores it alone, and completes as the float32 model does', { timeout: 170_000 }, async () => {
  const { loadDictionary, loadEngine } = await import('../../src/model/index');
  const fixture = path.join(root, 'test', 'fixtures', 'models', 'tiny-bpe');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-bpe-int8-'));
  const dictionary = loadDictionary();
  const engines: Awaited<ReturnType<typeof loadEngine>>[] = [];
  try {
    for (const file of fs.readdirSync(fixture)) if (file.endsWith('.json')) fs.copyFileSync(path.join(fixture, file), path.join(work, file));
    const int8Path = path.join(work, 'onnx', 'model.onnx');
    runPython(['training/quantize.py', path.join(fixture, 'onnx', 'model.onnx'), int8Path, '--posts', 'training/tests/data/posts-sample.tsv', '--every', '1']);
    assert.ok(fs.statSync(int8Path).size < fs.statSync(path.join(fixture, 'onnx', 'model.onnx')).size * 0.5, 'int8 file smaller');
    const float = (await loadEngine({ dictionary, modelDir: fixture })) as BpeModelEngine;
    const int8 = (await loadEngine({ dictionary, modelDir: work })) as BpeModelEngine;
    engines.push(float, int8);
    assert.equal(int8.model?.kind, 'bpe');
    // Fixed activation scales: a candidate's score does not depend on the other rows of its batch.
    const tags = ['long_hair', 'hair_ornament', 'school_uniform', 'thighhighs', 'smile', 'looking_at_viewer'];
    const batched = await int8.scoreTags(['1girl', 'solo'], tags);
    for (const [i, tag] of tags.entries()) {
      int8.forgetScores();
      const [alone] = await int8.scoreTags(['1girl', 'solo'], [tag]);
      assert.ok(Math.abs(alone - batched[i]) < 1e-4, `${tag}: ${alone} alone, ${batched[i]} batched`);
    }
    // Close to the float32 model: the same first completion and nearly the same lists, over real posts.
    const posts = fs.readFileSync(path.join(root, 'training', 'tests', 'data', 'posts-sample.tsv'), 'utf8')
      .split('\n').map((line) => (line.split('\t').pop() ?? '').split(',').filter(Boolean)).filter((post) => post.length > 8).slice(0, 30);
    let sameFirst = 0;
    let shared = 0;
    let lists = 0;
    let largest = 0;
    for (const post of posts) {
      for (const prefix of [post[8]!.slice(0, 1), post[8]!.slice(0, 2)]) {
        const [a, b] = [await float.complete(post.slice(0, 8), prefix, { top: 10 }), await int8.complete(post.slice(0, 8), prefix, { top: 10 })];
        lists++;
        if (a[0]?.tag === b[0]?.tag) sameFirst++;
        const scores = new Map(b.map((c) => [c.tag, c.score]));
        shared += a.filter((c) => scores.has(c.tag)).length / Math.max(1, a.length);
        for (const c of a) if (scores.has(c.tag)) largest = Math.max(largest, Math.abs(c.score - scores.get(c.tag)!));
      }
    }
    assert.ok(sameFirst >= 0.95 * lists, `the same first completion in ${sameFirst} of ${lists}`);
    assert.ok(shared >= 0.95 * lists, `${((shared / lists) * 100).toFixed(1)} % of the tags shared`);
    assert.ok(largest > 0 && largest < 0.5, `scores within ${largest}`);
  } finally {
    await Promise.all(engines.map((engine) => engine.dispose()));
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('tiny-tag fixture: config, tokenizer and ONNX model agree; a first step with past 0 runs', async () => {
  const config = readJson<ModelConfig>(path.join(fixture, 'config.json'));
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(fixture);
  const tokenizer = await AutoTokenizer.from_pretrained('tiny-tag', { local_files_only: true });
  const ids = tokenizer.encode('long hair, simple_background');
  assert.equal(ids.length, 3);
  assert.equal(ids[0], config.bos_token_id);
  assert.ok(!ids.includes(3), 'both tags are in the fixture vocabulary');
  const session = await ort.InferenceSession.create(path.join(fixture, 'onnx', 'model.onnx'));
  try {
    const [logits] = await runChunks(session, config, [ids]);
    assert.equal(logits.length, 3);
    assert.equal(logits[0].length, config.vocab_size);
    assert.ok(logits.flat().every(Number.isFinite));
  } finally {
    await session.release();
  }
});

test('models/default (int8): ONNX logits from onnxruntime-node are close to the PyTorch reference; the cache gives exactly the whole sequence\'s', async () => {
  const modelDir = path.join(root, 'models', 'default');
  const config = readJson<ModelConfig>(path.join(modelDir, 'config.json'));
  // Written by `training/export.py --parity ... --parity-columns 256` when the model was exported.
  const parity = readJson<Parity>(path.join(root, 'training', 'tests', 'data', 'default-parity.json'));
  const columns = parity.columns ?? [];
  assert.ok(columns.length > 0 && columns.every((c) => c < config.vocab_size));
  const keep = (rows: number[][]) => rows.map((row) => columns.map((c) => row[c]));
  const session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'));
  try {
    // The reference is the float32 model's; the shipped graph is its int8 version (training/quantize.py):
    // 0.25 at most on logits up to 11.7 when it was made, and the same validation metrics (docs/benchmarks.md).
    const [whole] = await runChunks(session, config, [parity.input_ids]);
    const scale = Math.max(...parity.logits.flat().map(Math.abs));
    const diff = maxAbsDiff(keep(whole), parity.logits);
    assert.ok(diff < 0.03 * scale, `int8 vs PyTorch: max abs diff ${diff}, logits up to ${scale}`);
    const steps = await runChunks(session, config, parity.steps.map((s) => s.input_ids));
    assert.ok(maxAbsDiff(steps.flat(), whole) < tolerance, 'cached steps equal the whole sequence');
  } finally {
    await session.release();
  }
  assert.ok(fs.statSync(path.join(modelDir, 'onnx', 'model.onnx')).size <= 50 * 1024 * 1024, 'ONNX file within 50 MB');
});
