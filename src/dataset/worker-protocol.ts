// Messages between a thread that runs a conversion and dist/convert-worker.js.
import fs from 'node:fs';
import path from 'node:path';
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

export type ToWorker = { type: 'abort' } | { type: 'part'; part: PartJob };

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
