// Messages between a thread that runs a conversion and dist/convert-worker.js.
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { ConversionCounts, ResolvedOptions } from './convert';
import type { InputFile } from './source';
import { ConvertUsageError, StrictModeError, type ConvertOptions, type ConvertProgress, type ConvertSummary, type InputProblem } from './types';

/** A worker of a parallel run's pool: it converts the files sent to it (`{type: 'part'}`) one after another. */
export interface PoolJob {
  job: 'pool';
}

/** One file of a parallel run: its dataset lines go to partPath and their post ids (float64 LE, NaN: none) to idsPath. */
export interface PartJob {
  file: InputFile;
  /** The file's place among the run's inputs. */
  fileIndex: number;
  partPath: string;
  idsPath: string;
  options: ResolvedOptions;
}

/** A whole conversion off the caller's thread (the VS Code command uses it). */
export interface ConvertJob {
  job: 'convert';
  options: ConvertOptions;
  /** Problems sent one by one before only counting them (they are all in the summary's counts). */
  problemsToSend: number;
}

/** `close`: a pool worker aborts the part it is converting (its temp files are removed) and then exits. */
export type ToWorker = { type: 'abort' } | { type: 'close' } | { type: 'part'; part: PartJob };

export interface PartResult {
  counts: ConversionCounts;
  tagCounts: [string, number][];
  lines: number;
}

export interface SerializedError {
  name: string;
  message: string;
  problem?: InputProblem;
}

export type FromWorker =
  | { type: 'progress'; progress: ConvertProgress }
  | { type: 'problem'; problem: InputProblem }
  | { type: 'part-done'; result: PartResult }
  | { type: 'done'; summary: ConvertSummary }
  | { type: 'failed'; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof StrictModeError) return { name: error.name, message: error.message, problem: error.problem };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds the error a worker reported, keeping the classes callers tell apart. */
export function deserializeError(error: SerializedError): Error {
  if (error.name === 'StrictModeError' && error.problem) return new StrictModeError(error.problem);
  if (error.name === 'ConvertUsageError') return new ConvertUsageError(error.message);
  if (error.name === 'AbortError') return new DOMException(error.message, 'AbortError');
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/** dist/convert-worker.js: beside this bundle (dist/), or dist/ at the repository root (tests run src/). */
export function defaultWorkerScript(): string {
  const candidates = [path.join(__dirname, 'convert-worker.js'), path.join(__dirname, '..', '..', 'dist', 'convert-worker.js')];
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (found === undefined) throw new Error(`convert-worker.js not found (looked in ${candidates.join(', ')}); run npm run build`);
  return found;
}

/** How long a worker asked to stop has before it is terminated: an abort is seen at the next chunk read. */
export const WORKER_EXIT_GRACE_MS = 10_000;

/**
 * Stops a worker by asking it (`ask`) and waiting for it to exit by itself. worker.terminate() is only the
 * fallback for one that does not answer within graceMs: terminating a thread that is constructing a zlib
 * stream (each .gz input) aborts the whole process in Node 20 ("close before init" in node_zlib.cc).
 */
export async function stopWorker(worker: Worker, ask: () => void, graceMs = WORKER_EXIT_GRACE_MS): Promise<void> {
  // threadId is -1 once the thread has exited.
  if (worker.threadId === -1) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  ask();
  const fallback = setTimeout(() => void worker.terminate(), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(fallback);
  }
}
