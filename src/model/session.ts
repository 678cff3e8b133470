// A GPT-2 ONNX session with an explicit KV cache: forward() takes token rows and the past of the
// tokens before them, and returns the logits and the new past. Nothing here knows about tags.
import type * as ort from 'onnxruntime-node';
import path from 'node:path';
import { checkGraph, ModelLoadError, type GraphSignature, type ModelConfig } from './model-folder';

/**
 * onnxruntime-node, required when the first session is made, not when this file loads: where its
 * native library cannot load (a platform whose binaries are not shipped, darwin-x64), importing it
 * at the top ended the language server at its start, where the dictionary alone could serve.
 */
let onnxruntime: typeof ort | undefined;
/** onnxruntime's Tensor class, once onnxruntime is loaded (every tensor here is made after that). */
let Tensor: typeof ort.Tensor;

function loadOnnxruntime(onnxPath: string): typeof ort {
  if (!onnxruntime) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      onnxruntime = require('onnxruntime-node') as typeof ort;
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new ModelLoadError(onnxPath, `onnxruntime-node cannot run on this machine (${process.platform}-${process.arch}): ${message}`);
    }
    Tensor = onnxruntime.Tensor;
  }
  return onnxruntime;
}

/**
 * onnxruntime threads at most (the editor's setting has the same range): each is a thread of its own,
 * and `--threads 4096` took minutes to create a session, saying nothing.
 */
export const MAX_THREADS = 64;

/** Keys and values of every layer for a batch of equally long token rows. */
export interface PastState {
  batch: number;
  /** Tokens already seen per row. */
  length: number;
  /** Per layer [key, value], each [batch, heads, length, headSize]; empty when the graph has no cache. */
  layers: [ort.Tensor, ort.Tensor][];
  /** Without a KV cache the whole rows are re-run: the tokens seen so far. */
  tokens?: number[][];
}

export interface ForwardResult {
  /** [batch, rows' new tokens, vocab] */
  logits: Float32Array;
  vocab: number;
  past: PastState;
}

export interface SessionOptions {
  threads?: number;
}

export class GptSession {
  readonly headSize: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private released = false;
  /** Wall time spent in session.run so far (for benchmarks: the model's share of a sampling call). */
  runMilliseconds = 0;
  /** Token positions scored by session.run so far (for benchmarks: with the runs, where model time goes). */
  positions = 0;
  /** Rows run so far (for benchmarks of the BPE scoring: with a cache, each row carries its own copy of the past). */
  rows = 0;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly config: ModelConfig,
    readonly graph: GraphSignature,
    private readonly onnxPath: string,
    private readonly configPath: string,
  ) {
    this.headSize = config.embedding / config.heads;
  }

  /** `configPath`: the config.json `config` was read from (named when a run shows it wrong). */
  static async create(onnxPath: string, configPath: string, config: ModelConfig, options: SessionOptions = {}): Promise<GptSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Failures reach the caller as errors (explained below); onnxruntime's own coloured log line of
      // each would only repeat them on stderr.
      logSeverityLevel: 4,
    };
    if (options.threads !== undefined) {
      if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > MAX_THREADS) throw new Error(`threads must be an integer in 1..${MAX_THREADS}`);
      sessionOptions.intraOpNumThreads = options.threads;
      sessionOptions.interOpNumThreads = 1;
    }
    const runtime = loadOnnxruntime(onnxPath);
    let session: ort.InferenceSession;
    try {
      session = await runtime.InferenceSession.create(onnxPath, sessionOptions);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new ModelLoadError(onnxPath, `not a valid ONNX model (corrupt or truncated?): ${message.split('\n')[0]}`);
    }
    try {
      const gpt = new GptSession(session, config, checkGraph(session, config, onnxPath), onnxPath, configPath);
      await gpt.checkLastPosition();
      return gpt;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * One token run at config.json's last position, when the graph takes positions: an n_positions larger
   * than the graph's position table is an error at load, naming config.json, not on the first context
   * that long (a CLI `complete` gave per-line errors and exit 0). Not counted in the run figures.
   */
  private async checkLastPosition(): Promise<void> {
    if (!this.graph.hasPositionIds) return;
    const one = (value: number): ort.Tensor => new Tensor('int64', BigInt64Array.of(BigInt(value)), [1, 1]);
    const feeds: Record<string, ort.Tensor> = { input_ids: one(0), position_ids: one(this.config.contextLength - 1) };
    if (this.graph.hasAttentionMask) feeds.attention_mask = one(1);
    if (this.graph.hasUseCacheBranch) feeds.use_cache_branch = new Tensor('bool', [false], [1]);
    this.graph.pastInputs.forEach(([keyName, valueName]) => {
      feeds[keyName] = this.zeroPast(1);
      feeds[valueName] = this.zeroPast(1);
    });
    const figures = { runMilliseconds: this.runMilliseconds, positions: this.positions, rows: this.rows };
    await this.run(feeds, ['logits']);
    Object.assign(this, figures);
  }

  get hasCache(): boolean {
    return this.graph.pastInputs.length > 0;
  }

  /** The past of zero tokens for `batch` rows. */
  emptyPast(batch: number): PastState {
    const layers = this.graph.pastInputs.map(
      (): [ort.Tensor, ort.Tensor] => [this.zeroPast(batch), this.zeroPast(batch)],
    );
    return this.hasCache ? { batch, length: 0, layers } : { batch, length: 0, layers, tokens: new Array(batch).fill([]) };
  }

  private zeroPast(batch: number): ort.Tensor {
    return new Tensor('float32', new Float32Array(0), [batch, this.config.heads, 0, this.headSize]);
  }

  /** The past without its last `count` tokens (a copy; the cache graph's only). */
  dropLast(past: PastState, count: number): PastState {
    if (!this.hasCache) throw new Error('dropLast needs a graph with a KV cache');
    const length = past.length - count;
    const layers = past.layers.map(([key, value]): [ort.Tensor, ort.Tensor] => [firstPositions(key, length), firstPositions(value, length)]);
    return { batch: past.batch, length, layers };
  }

  /** Copies a one-row past into `batch` identical rows. */
  expandPast(past: PastState, batch: number): PastState {
    if (past.batch !== 1) throw new Error('expandPast needs a one-row past');
    if (batch === 1) return past;
    const layers = past.layers.map(
      ([key, value]): [ort.Tensor, ort.Tensor] => [tile(key, batch), tile(value, batch)],
    );
    const expanded: PastState = { batch, length: past.length, layers };
    if (past.tokens) expanded.tokens = new Array(batch).fill(past.tokens[0]);
    return expanded;
  }

  /** Keeps the given rows of a past (for a batch whose finished rows are dropped). */
  selectRows(past: PastState, rows: number[]): PastState {
    const layers = past.layers.map(
      ([key, value]): [ort.Tensor, ort.Tensor] => [pickRows(key, rows), pickRows(value, rows)],
    );
    const selected: PastState = { batch: rows.length, length: past.length, layers };
    if (past.tokens) selected.tokens = rows.map((row) => past.tokens?.[row] ?? []);
    return selected;
  }

  /** Whether rows may carry their own attention masks and positions (see forward's `layout`). */
  get supportsRowLayout(): boolean {
    return this.hasCache && this.graph.hasAttentionMask && this.graph.hasPositionIds;
  }

  /**
   * Runs `rows` (equal lengths) after `past`; positions continue from past.length. With `layout`,
   * each row has its own attention mask over all past + new positions (0 = a position to ignore)
   * and its own position ids: rows whose sequences were cut back keep their cache and hide the rest.
   */
  async forward(
    rows: number[][],
    past: PastState,
    layout?: { attentionMask: ArrayLike<number>[]; positions: number[][] },
  ): Promise<ForwardResult> {
    if (!this.hasCache) return this.forwardWithoutCache(rows, past);
    const { feeds, total } = this.cachedFeeds(rows, past, layout);
    const batch = rows.length;
    const output = await this.run(feeds);
    const logits = output.logits;
    const layers = this.graph.presentOutputs.map(
      ([keyName, valueName]): [ort.Tensor, ort.Tensor] => [output[keyName], output[valueName]],
    );
    return {
      logits: logits.data as Float32Array,
      vocab: logits.dims[2],
      past: { batch, length: total, layers },
    };
  }

  /**
   * The logits of `rows` after `past`, without fetching the new past: for a caller that scores and
   * goes no further (in a GPT-2-small model the new past is a copy of the whole past per row).
   */
  async logitsAfter(rows: number[][], past: PastState): Promise<{ logits: Float32Array; vocab: number }> {
    if (!this.hasCache) return this.forwardWithoutCache(rows, past);
    const { feeds } = this.cachedFeeds(rows, past);
    const output = await this.run(feeds, ['logits']);
    return { logits: output.logits.data as Float32Array, vocab: output.logits.dims[2] };
  }

  /** The feeds of a run with the cache: ids, mask, positions, the past; `total` = past + new positions. */
  private cachedFeeds(
    rows: number[][],
    past: PastState,
    layout?: { attentionMask: ArrayLike<number>[]; positions: number[][] },
  ): { feeds: Record<string, ort.Tensor>; total: number } {
    const batch = rows.length;
    if (batch !== past.batch) throw new Error(`forward: ${batch} rows but a past of ${past.batch}`);
    const steps = rows[0].length;
    const total = past.length + steps;
    const lastPosition = layout ? Math.max(...layout.positions.flat()) : total - 1;
    if (lastPosition >= this.config.contextLength) {
      throw new Error(`sequence of ${lastPosition + 1} tokens exceeds the model's context length ${this.config.contextLength}`);
    }
    const feeds: Record<string, ort.Tensor> = {};
    const ids = new Int64Writer(batch * steps);
    rows.forEach((row, r) => {
      if (row.length !== steps) throw new Error('forward: rows of different lengths');
      row.forEach((id, s) => ids.set(r * steps + s, id));
    });
    feeds.input_ids = new Tensor('int64', ids.data, [batch, steps]);
    if (layout && !this.supportsRowLayout) throw new Error('forward: this graph cannot take per-row masks');
    if (this.graph.hasAttentionMask) {
      const mask = new Int64Writer(batch * total);
      for (let i = 0; i < batch * total; i++) mask.set(i, 1);
      layout?.attentionMask.forEach((rowMask, r) => {
        if (rowMask.length !== total) throw new Error('forward: a row mask of the wrong length');
        for (let i = 0; i < total; i++) if (rowMask[i] === 0) mask.set(r * total + i, 0);
      });
      feeds.attention_mask = new Tensor('int64', mask.data, [batch, total]);
    }
    if (this.graph.hasPositionIds) {
      const positions = new Int64Writer(batch * steps);
      for (let r = 0; r < batch; r++) {
        for (let s = 0; s < steps; s++) positions.set(r * steps + s, layout ? layout.positions[r][s] : past.length + s);
      }
      feeds.position_ids = new Tensor('int64', positions.data, [batch, steps]);
    }
    if (this.graph.hasUseCacheBranch) feeds.use_cache_branch = new Tensor('bool', [past.length > 0], [1]);
    this.graph.pastInputs.forEach(([keyName, valueName], layer) => {
      feeds[keyName] = past.layers[layer][0];
      feeds[valueName] = past.layers[layer][1];
    });
    return { feeds, total };
  }

  /** Graphs exported without a cache: run the whole rows and keep only the new positions' logits. */
  private async forwardWithoutCache(rows: number[][], past: PastState): Promise<ForwardResult> {
    if (rows.length !== past.batch) throw new Error(`forward: ${rows.length} rows but a past of ${past.batch}`);
    const full = rows.map((row, r) => [...(past.tokens?.[r] ?? []), ...row]);
    const total = full[0].length;
    const batch = rows.length;
    const steps = rows[0].length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(full.flat(), (id) => BigInt(id)), [batch, total]),
    };
    if (this.graph.hasAttentionMask) {
      feeds.attention_mask = new Tensor('int64', new BigInt64Array(batch * total).fill(1n), [batch, total]);
    }
    if (this.graph.hasPositionIds) {
      const positions = new BigInt64Array(batch * total);
      for (let r = 0; r < batch; r++) for (let s = 0; s < total; s++) positions[r * total + s] = BigInt(s);
      feeds.position_ids = new Tensor('int64', positions, [batch, total]);
    }
    const output = await this.run(feeds);
    const vocab = output.logits.dims[2];
    const all = output.logits.data as Float32Array;
    const logits = new Float32Array(batch * steps * vocab);
    for (let r = 0; r < batch; r++) {
      logits.set(all.subarray((r * total + total - steps) * vocab, (r * total + total) * vocab), r * steps * vocab);
    }
    return { logits, vocab, past: { batch, length: total, layers: [], tokens: full } };
  }

  /** session.run, tracked so release() never frees the native session under a running call. */
  private run(feeds: Record<string, ort.Tensor>, fetches?: string[]): Promise<ort.InferenceSession.ReturnType> {
    if (this.released) return Promise.reject(new Error('the model session was released'));
    this.rows += feeds.input_ids.dims[0];
    this.positions += feeds.input_ids.dims[0] * feeds.input_ids.dims[1];
    const start = performance.now();
    const running = (fetches ? this.session.run(feeds, fetches) : this.session.run(feeds)).catch((error: unknown) => {
      throw this.explained(error);
    });
    this.inFlight.add(running);
    const forget = (): void => {
      this.runMilliseconds += performance.now() - start;
      this.inFlight.delete(running);
    };
    running.then(forget, forget);
    return running;
  }

  /**
   * A run's error, in the user's terms where it is known: a config.json whose n_positions is larger than
   * the graph's position table (which onnxruntime reports as a Gather index out of bounds).
   */
  private explained(error: unknown): unknown {
    const message = error instanceof Error ? error.message : String(error);
    const bounds = /Gather node.*idx=-?\d+ must be within the inclusive range \[-?\d+,\s*(\d+)\]/s.exec(message);
    const positions = bounds ? Number(bounds[1]) + 1 : undefined;
    if (positions === undefined || positions >= this.config.contextLength) return error;
    return new ModelLoadError(this.configPath, `n_positions is ${this.config.contextLength}, but ${path.basename(this.onnxPath)} holds ${positions} positions: set n_positions (or n_ctx) to ${positions}`);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled([...this.inFlight]);
    await this.session.release();
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * int64 tensor data from 32-bit integers (token ids, positions, mask bits): on
 * little-endian machines each is written as the low 32-bit half, with no BigInt made per element
 * (a run feeds hundreds of them).
 */
class Int64Writer {
  readonly data: BigInt64Array;
  private readonly halves: Int32Array | undefined;

  constructor(length: number) {
    this.data = new BigInt64Array(length);
    this.halves = LITTLE_ENDIAN ? new Int32Array(this.data.buffer) : undefined;
  }

  set(index: number, value: number): void {
    if (this.halves) {
      this.halves[2 * index] = value;
      this.halves[2 * index + 1] = value < 0 ? -1 : 0; // sign extension, as BigInt would
    } else this.data[index] = BigInt(value);
  }
}

/** Bytes of a past's keys and values for each of its rows (float32). */
export function pastRowBytes(past: PastState): number {
  return past.layers.reduce((sum, [key, value]) => sum + (key.data.length + value.data.length) * 4, 0) / Math.max(1, past.batch);
}

/**
 * One-row pasts tiled into rows for batched runs after them, kept for the last few pasts tiled: a
 * completion of a sub-word model runs many batches after the same context, and so does the next
 * keystroke's (a hover or Related Tags may interleave its own context's runs). Rows are copied once
 * into memory allocated once: fresh memory costs ~4x a copy (page faults), and tiling afresh for
 * every run took ~30 % of a GPT-2-small int8 completion. Rows already handed out are never written
 * again (a run may still be reading them); a larger batch gets new memory. Released after IDLE_MS
 * without use, so that an idle editor does not hold it.
 */
export class PastTiles {
  /** Rows kept beyond a run's own when first tiled (a completion's runs take 1–22), within SPARE_BYTES. */
  private static readonly MIN_ROWS = 24;
  private static readonly SPARE_BYTES = 128 * 2 ** 20;
  /** Pasts kept: a completion's context and those of requests interleaved with it (hover, Related Tags). */
  private static readonly KEPT = 3;
  /** An entry used this recently is in use: pushing it out, a new one gets no spare rows (no churn). */
  private static readonly BUSY_MS = 50;
  private static readonly IDLE_MS = 5000;
  /** By past, least recently used first. */
  private readonly kept = new Map<PastState, { buffers: Float32Array[]; capacity: number; filled: number; used: number }>();
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly session: GptSession) {}

  /** `past` (one row) as `batch` rows: views of the kept copy. */
  tile(past: PastState, batch: number): PastState {
    if (batch === 1 || past.layers.length === 0) return this.session.expandPast(past, batch);
    if (past.batch !== 1) throw new Error('tile needs a one-row past');
    const tensors = past.layers.flat();
    const now = performance.now();
    let entry = this.kept.get(past);
    this.kept.delete(past);
    if (!entry || batch > entry.capacity) {
      const rowBytes = pastRowBytes(past);
      const oldest = this.kept.size >= PastTiles.KEPT ? this.kept.values().next().value : undefined;
      const churning = !entry && oldest !== undefined && now - oldest.used < PastTiles.BUSY_MS;
      const wanted = entry ? 2 * entry.capacity : churning ? 0 : PastTiles.MIN_ROWS;
      const capacity = Math.max(batch, Math.min(wanted, Math.floor(PastTiles.SPARE_BYTES / rowBytes)));
      entry = { buffers: tensors.map((tensor) => new Float32Array(tensor.data.length * capacity)), capacity, filled: 0, used: now };
    }
    entry.used = now;
    this.kept.set(past, entry);
    if (this.kept.size > PastTiles.KEPT) this.kept.delete(this.kept.keys().next().value as PastState);
    for (const [i, tensor] of tensors.entries()) {
      const row = tensor.data as Float32Array;
      for (let b = entry.filled; b < batch; b++) entry.buffers[i].set(row, b * row.length);
    }
    entry.filled = Math.max(entry.filled, batch);
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.clear(), PastTiles.IDLE_MS);
    this.idle.unref?.();
    const buffers = entry.buffers;
    const views = tensors.map(
      (tensor, i) => new Tensor('float32', buffers[i].subarray(0, tensor.data.length * batch), [batch, ...tensor.dims.slice(1)]),
    );
    const layers = past.layers.map((_, layer): [ort.Tensor, ort.Tensor] => [views[2 * layer], views[2 * layer + 1]]);
    return { batch, length: past.length, layers };
  }

  clear(): void {
    clearTimeout(this.idle);
    this.kept.clear();
  }
}

/** `batch` copies of a one-row tensor ([1, ...] -> [batch, ...]), as the rows of one batch. */
/** A [batch, heads, length, headSize] tensor cut to its first `length` positions. */
function firstPositions(tensor: ort.Tensor, length: number): ort.Tensor {
  const [batch, heads, had, headSize] = tensor.dims as [number, number, number, number];
  const data = tensor.data as Float32Array;
  const out = new Float32Array(batch * heads * length * headSize);
  for (let i = 0; i < batch * heads; i++) out.set(data.subarray(i * had * headSize, (i * had + length) * headSize), i * length * headSize);
  return new Tensor('float32', out, [batch, heads, length, headSize]);
}

export function tile(tensor: ort.Tensor, batch: number): ort.Tensor {
  const data = tensor.data as Float32Array;
  const out = new Float32Array(data.length * batch);
  for (let b = 0; b < batch; b++) out.set(data, b * data.length);
  return new Tensor('float32', out, [batch, ...tensor.dims.slice(1)]);
}

function pickRows(tensor: ort.Tensor, rows: number[]): ort.Tensor {
  const data = tensor.data as Float32Array;
  const rowSize = data.length / tensor.dims[0];
  const out = new Float32Array(rowSize * rows.length);
  rows.forEach((row, i) => out.set(data.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
  return new Tensor('float32', out, [rows.length, ...tensor.dims.slice(1)]);
}

/** log(sum of exp(logit)) over one row of `vocab` logits at `offset`, taken relative to its maximum so no term overflows. */
export function logSumExp(logits: Float32Array, offset: number, vocab: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  return max + Math.log(sum);
}

/**
 * The log-probabilities of one row of `vocab` logits at `offset`, as a new array (the logits are
 * left as they are); `logSum` is that row's logSumExp, for a caller that already has it.
 */
export function logSoftmaxRow(logits: Float32Array, offset: number, vocab: number, logSum = logSumExp(logits, offset, vocab)): Float32Array {
  const row = logits.slice(offset, offset + vocab);
  for (let i = 0; i < vocab; i++) row[i] -= logSum;
  return row;
}
