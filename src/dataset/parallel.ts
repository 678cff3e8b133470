// Several files at once: a pool of worker threads converts each file into a part (its dataset lines, and
// their post ids in a side file), then the parts are merged in input order, so dedupe, the output
// and the count table are the same as with one worker. A run under --limit never comes here
// (convertMetadata reads its files in order, and only until the limit).
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { PostIdSet } from './filters';
import { PostFormatter } from './format';
import { AtomicFile, tempStem } from './output';
import { FIRST_PROBLEMS_KEPT, emptyCounts, writesOutputs, summarize, totalBytes, writeTagCounts, type ConversionCounts, type ResolvedOptions } from './convert';
import type { InputFile } from './source';
import { etaSeconds, type ConvertHooks, type ConvertProgress, type ConvertSummary, type InputProblem, type ProblemReason, type SkipReason } from './types';
import { defaultWorkerScript, deserializeError, stopWorker, type FromWorker, type PartJob, type PartResult, type PoolJob, type ToWorker } from './worker-protocol';

const POOL_YOUNG_GENERATION_MB = 4;

interface Part {
  index: number;
  job: PartJob;
  progress: { bytesRead: number; postsRead: number; postsWritten: number };
  result?: PartResult;
}

export async function convertInParallel(options: ResolvedOptions, files: InputFile[], hooks: ConvertHooks): Promise<ConvertSummary> {
  const started = performance.now();
  const script = options.workerScript ?? defaultWorkerScript();
  const stem = tempStem(options.output);
  const parts: Part[] = files.map((file, index) => ({
    index,
    job: { file, fileIndex: index, partPath: `${stem}.part${index}`, idsPath: `${stem}.part${index}.ids`, options },
    progress: { bytesRead: 0, postsRead: 0, postsWritten: 0 },
  }));
  const bytesTotal = totalBytes(files);
  const stop = new AbortController();
  const problems = new ProblemsInOrder(hooks.onProblem);
  const onOuterAbort = (): void => stop.abort(hooks.signal?.reason);
  hooks.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // Each runner's own controller, stopped by one listener (one a runner passed Node's limit of 10,
  // which warns of a leak on stderr with 11 workers).
  const runnerStops: { stop: AbortController; part: number }[] = [];
  stop.signal.addEventListener('abort', () => {
    for (const runner of runnerStops) runner.stop.abort(stop.signal.reason);
  }, { once: true });
  let lastProgressAt = 0;
  const reportProgress = (force: boolean): void => {
    const now = performance.now();
    if (hooks.onProgress === undefined || (!force && now - lastProgressAt < (hooks.progressIntervalMs ?? 100))) return;
    lastProgressAt = now;
    hooks.onProgress(aggregateProgress(parts, bytesTotal, started));
  };
  try {
    let next = 0;
    // A part that fails (a --strict problem, an unreadable file) stops the parts after it, not those
    // before: the failure reported is the first in input order, as with one worker, whichever worker
    // met its own first.
    const failures = new Map<number, unknown>();
    const firstFailed = (): number => Math.min(Infinity, ...failures.keys());
    const runner = async (): Promise<void> => {
      const own = { stop: new AbortController(), part: -1 };
      if (stop.signal.aborted) own.stop.abort(stop.signal.reason);
      runnerStops.push(own);
      const worker = new PoolWorker(script, problems, own.stop.signal, () => reportProgress(false));
      try {
        while (next < parts.length && next < firstFailed() && !own.stop.signal.aborted) {
          const part = parts[next++];
          own.part = part.index;
          try {
            part.result = await worker.convert(part);
          } catch (error) {
            // Stopped (an earlier part failed, or the run was cancelled): nothing of this part's own to report.
            if (!own.stop.signal.aborted) {
              failures.set(part.index, error);
              for (const other of runnerStops) if (other.part > part.index) other.stop.abort(error);
            }
            break;
          }
          problems.partDone(part.index);
        }
      } finally {
        await worker.close();
      }
    };
    // All workers have exited before the parts are removed.
    await Promise.all(Array.from({ length: Math.min(options.workers, parts.length) }, runner));
    stop.signal.throwIfAborted();
    if (failures.size > 0) throw failures.get(firstFailed());
    // (A merge of a large output takes seconds: Ctrl-C or Cancel stops it too.)
    const summary = await mergeParts(options, files, parts, started, stop.signal);
    reportProgress(true);
    return summary;
  } catch (error) {
    throw hooks.signal?.aborted ? hooks.signal.reason : error;
  } finally {
    hooks.signal?.removeEventListener('abort', onOuterAbort);
    const leftovers = parts.flatMap((part) => [part.job.partPath, part.job.idsPath, `${part.job.partPath}.tmp`, `${part.job.idsPath}.tmp`]);
    await Promise.all(leftovers.map((file) => fs.promises.rm(file, { force: true })));
  }
}

/** One long-lived worker thread of the pool; converts the parts given to it one at a time. */
class PoolWorker {
  private readonly worker: Worker;
  private current: { part: Part; resolve: (result: PartResult) => void; reject: (error: unknown) => void } | undefined;
  private failure: unknown;

  constructor(
    script: string,
    private readonly problems: ProblemsInOrder,
    private readonly signal: AbortSignal,
    private readonly onProgress: () => void,
  ) {
    // A small young generation per worker keeps a 2-worker run at ~150-165 MB RSS (V8's default: ~210 MB;
    // 8 MB: ~185 MB) at the same speed: the JSONL fast path makes little garbage, and the ordinary path
    // (other formats) ran as fast with 4 MB as with 8 MB and ~10 % slower with 2 MB.
    this.worker = new Worker(script, { workerData: { job: 'pool' } satisfies PoolJob, resourceLimits: { maxYoungGenerationSizeMb: POOL_YOUNG_GENERATION_MB } });
    this.worker.on('message', (message: FromWorker) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`convert worker exited (${code}) before finishing`)));
    this.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  convert(part: Part): Promise<PartResult> {
    return new Promise<PartResult>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      if (this.signal.aborted) return reject(this.signal.reason);
      this.current = { part, resolve, reject };
      this.worker.postMessage({ type: 'part', part: part.job } satisfies ToWorker);
    });
  }

  /** A worker still converting a part aborts it and removes its temp files before it exits. */
  async close(): Promise<void> {
    this.signal.removeEventListener('abort', this.onAbort);
    this.failure ??= new Error('convert worker closed');
    await stopWorker(this.worker, () => this.worker.postMessage({ type: 'close' } satisfies ToWorker));
  }

  private readonly onAbort = (): void => this.fail(this.signal.reason);

  private receive(message: FromWorker): void {
    const current = this.current;
    if (current === undefined) return;
    if (message.type === 'progress') {
      current.part.progress = message.progress;
      this.onProgress();
    } else if (message.type === 'problem') {
      this.problems.add(current.part.index, message.problem);
    } else if (message.type === 'part-done') {
      this.current = undefined;
      current.resolve(message.result);
    } else if (message.type === 'failed') {
      this.fail(deserializeError(message.error));
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    const current = this.current;
    this.current = undefined;
    current?.reject(error);
  }
}

/** Passes problems on in input order, as one worker would: a part's wait until every part before it is done. */
class ProblemsInOrder {
  /** The first part not done yet: its problems go straight on. */
  private next = 0;
  private readonly held = new Map<number, InputProblem[]>();
  private readonly done = new Set<number>();

  constructor(private readonly onProblem: ConvertHooks['onProblem']) {}

  add(part: number, problem: InputProblem): void {
    if (this.onProblem === undefined) return;
    if (part === this.next) this.onProblem(problem);
    else {
      const held = this.held.get(part);
      if (held === undefined) this.held.set(part, [problem]);
      else held.push(problem);
    }
  }

  partDone(part: number): void {
    this.done.add(part);
    while (this.done.has(this.next)) {
      this.next++;
      for (const problem of this.held.get(this.next) ?? []) this.onProblem?.(problem);
      this.held.delete(this.next);
    }
  }
}

function aggregateProgress(parts: Part[], bytesTotal: number, started: number): ConvertProgress {
  let bytesRead = 0;
  let postsRead = 0;
  let postsWritten = 0;
  for (const part of parts) {
    bytesRead += part.progress.bytesRead;
    postsRead += part.progress.postsRead;
    postsWritten += part.progress.postsWritten;
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    bytesRead,
    bytesTotal,
    postsRead,
    postsWritten,
    elapsedSeconds,
    postsPerSecond: elapsedSeconds > 0 ? postsRead / elapsedSeconds : 0,
    etaSeconds: etaSeconds(bytesRead, bytesTotal, elapsedSeconds),
    currentFile: undefined,
  };
}

/** Concatenates the parts in input order, dropping posts whose id was written already. */
async function mergeParts(options: ResolvedOptions, files: InputFile[], parts: Part[], started: number, signal: AbortSignal): Promise<ConvertSummary> {
  const counts = emptyCounts();
  const formatter = new PostFormatter(options);
  for (const part of parts) addCounts(counts, (part.result as PartResult).counts);
  const ids = new PostIdSet();
  const output = await AtomicFile.create(options.output);
  let tagTable: AtomicFile | undefined;
  try {
    for (const part of parts) {
      const result = part.result as PartResult;
      // The worker counted every tag of its part; lines dropped here are taken back one by one.
      formatter.addCounts(result.tagCounts);
      const keep = await linesToKeep(part.job.idsPath, result.lines, options, ids, counts);
      if (keep === 'all') await copyWhole(part.job.partPath, output, signal);
      else await copyKept(part.job.partPath, keep, output, formatter, signal);
    }
    if (!writesOutputs(options, counts)) {
      await output.discard();
      return summarize(options, files, counts, formatter, started, false);
    }
    signal.throwIfAborted();
    tagTable = await writeTagCounts(options.countsOutput, formatter.tagCounts);
    signal.throwIfAborted();
    await AtomicFile.commitTogether([output, tagTable]);
  } catch (error) {
    await output.discard();
    await tagTable?.discard();
    throw error;
  }
  return summarize(options, files, counts, formatter, started);
}

/** Reads a part's ids: which of its lines are written ('all' in the usual case of no duplicate). */
async function linesToKeep(idsPath: string, lines: number, options: ResolvedOptions, ids: PostIdSet, counts: ConversionCounts): Promise<Uint8Array | 'all'> {
  const keep = new Uint8Array(lines);
  let dropped = 0;
  const handle = await fs.promises.open(idsPath, 'r');
  try {
    const block = Buffer.allocUnsafe(8 * 8192);
    let line = 0;
    while (line < lines) {
      const { bytesRead } = await handle.read(block, 0, Math.min(block.length, (lines - line) * 8), line * 8);
      if (bytesRead === 0) throw new Error(`part ids file is short: ${idsPath}`);
      for (let offset = 0; offset + 8 <= bytesRead; offset += 8, line++) {
        const id = block.readDoubleLE(offset);
        if (options.dedupe && !Number.isNaN(id) && !ids.add(id)) {
          counts.skipped.duplicate++;
          dropped++;
        } else {
          keep[line] = 1;
          counts.postsWritten++;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return dropped === 0 ? 'all' : keep;
}

async function copyWhole(partPath: string, output: AtomicFile, signal: AbortSignal): Promise<void> {
  for await (const chunk of fs.createReadStream(partPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    signal.throwIfAborted();
    output.writeBytes(chunk, 0, chunk.length);
    if (output.needsDrain()) await output.drain();
  }
}

async function copyKept(partPath: string, keep: Uint8Array, output: AtomicFile, formatter: PostFormatter, signal: AbortSignal): Promise<void> {
  let line = 0;
  let carry: Buffer | undefined;
  for await (const chunk of fs.createReadStream(partPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    signal.throwIfAborted();
    const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    let from = 0;
    for (let newline = data.indexOf(10); newline !== -1; newline = data.indexOf(10, from), line++) {
      if (keep[line]) output.writeBytes(data, from, newline + 1);
      else formatter.uncount(data.toString('utf8', from, newline));
      from = newline + 1;
    }
    carry = from < data.length ? data.subarray(from) : undefined;
    if (output.needsDrain()) await output.drain();
  }
}

function addCounts(total: ConversionCounts, part: ConversionCounts): void {
  total.bytesRead += part.bytesRead;
  total.bytesParsed += part.bytesParsed;
  total.postsRead += part.postsRead;
  total.badRecords += part.badRecords;
  for (const [reason, count] of Object.entries(part.skipped)) total.skipped[reason as SkipReason] += count;
  for (const [reason, count] of Object.entries(part.problems)) {
    total.problems[reason as ProblemReason] = (total.problems[reason as ProblemReason] ?? 0) + (count ?? 0);
  }
  for (const problem of part.firstProblems) if (total.firstProblems.length < FIRST_PROBLEMS_KEPT) total.firstProblems.push(problem);
}

