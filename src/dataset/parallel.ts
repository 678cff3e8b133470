// Several files at once: each worker thread converts one file into a part (`id<TAB>line`), then the parts
// are merged in input order, so dedupe, --limit and the output are the same as with one worker.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PostIdSet } from './filters';
import { PostFormatter } from './format';
import { AtomicFile } from './output';
import { FIRST_PROBLEMS_KEPT, emptyCounts, summarize, totalBytes, writeTagCounts, type ConversionCounts, type ResolvedOptions } from './convert';
import type { InputFile } from './source';
import type { ConvertHooks, ConvertProgress, ConvertSummary, ProblemReason, SkipReason } from './types';
import { defaultWorkerScript, deserializeError, type FromWorker, type PartJob, type PartResult, type ToWorker } from './worker-protocol';

interface Part {
  job: PartJob;
  progress: { bytesRead: number; postsRead: number; postsWritten: number };
  result?: PartResult;
}

export async function convertInParallel(options: ResolvedOptions, files: InputFile[], hooks: ConvertHooks): Promise<ConvertSummary> {
  const started = performance.now();
  const script = options.workerScript ?? defaultWorkerScript();
  const stem = path.join(path.dirname(options.output), `.${path.basename(options.output)}.${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const parts: Part[] = files.map((file, index) => ({
    // A part may not stop at --limit: duplicates of earlier files could still be dropped when merging.
    job: { job: 'part', file, partPath: `${stem}.part${index}`, tempPath: `${stem}.part${index}.tmp`, options: { ...options, limit: index === 0 ? options.limit : Infinity } },
    progress: { bytesRead: 0, postsRead: 0, postsWritten: 0 },
  }));
  const bytesTotal = totalBytes(files);
  const stop = new AbortController();
  const onOuterAbort = (): void => stop.abort(hooks.signal?.reason);
  hooks.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let lastProgressAt = 0;
  const reportProgress = (force: boolean): void => {
    const now = performance.now();
    if (hooks.onProgress === undefined || (!force && now - lastProgressAt < (hooks.progressIntervalMs ?? 100))) return;
    lastProgressAt = now;
    hooks.onProgress(aggregateProgress(parts, bytesTotal, started));
  };
  try {
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < parts.length && !stop.signal.aborted) {
        const part = parts[next++];
        part.result = await runPart(script, part, hooks, stop.signal, () => reportProgress(false));
      }
    };
    const runners = Array.from({ length: Math.min(options.workers, parts.length) }, runner);
    // The first failure stops the other workers.
    await Promise.all(runners.map((run) => run.catch((error: unknown) => {
      stop.abort(error);
      throw error;
    })));
    stop.signal.throwIfAborted();
    const summary = await mergeParts(options, files, parts, started);
    reportProgress(true);
    return summary;
  } catch (error) {
    throw hooks.signal?.aborted ? hooks.signal.reason : error;
  } finally {
    hooks.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.all(parts.flatMap((part) => [fs.promises.rm(part.job.partPath, { force: true }), fs.promises.rm(part.job.tempPath, { force: true })]));
  }
}

function runPart(script: string, part: Part, hooks: ConvertHooks, signal: AbortSignal, onProgress: () => void): Promise<PartResult> {
  return new Promise<PartResult>((resolve, reject) => {
    const worker = new Worker(script, { workerData: part.job });
    let settled = false;
    const settle = (error: unknown, result?: PartResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Terminating also stops a worker that is still reading; its temp part is removed by the caller.
      void worker.terminate().finally(() => (error === undefined ? resolve(result as PartResult) : reject(error)));
    };
    const onAbort = (): void => settle(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'progress') {
        part.progress = message.progress;
        onProgress();
      } else if (message.type === 'problem') {
        hooks.onProblem?.(message.problem);
      } else if (message.type === 'part-done') {
        settle(undefined, message.result);
      } else if (message.type === 'failed') {
        settle(deserializeError(message.error));
      }
    });
    worker.on('error', (error) => settle(error));
    worker.on('exit', (code) => settle(new Error(`convert worker for ${part.job.file.path} exited (${code}) before finishing`)));
    if (signal.aborted) onAbort();
  });
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
  const bytesPerSecond = elapsedSeconds > 0 ? bytesRead / elapsedSeconds : 0;
  return {
    bytesRead,
    bytesTotal,
    postsRead,
    postsWritten,
    elapsedSeconds,
    postsPerSecond: elapsedSeconds > 0 ? postsRead / elapsedSeconds : 0,
    etaSeconds: bytesPerSecond > 0 ? Math.max(0, bytesTotal - bytesRead) / bytesPerSecond : undefined,
    currentFile: undefined,
  };
}

/** Concatenates the parts in input order, dropping posts whose id was written already, up to --limit. */
async function mergeParts(options: ResolvedOptions, files: InputFile[], parts: Part[], started: number): Promise<ConvertSummary> {
  const counts = emptyCounts();
  const formatter = new PostFormatter(options);
  // Without a limit the workers' counts are right once duplicates are taken back; with one, recount.
  const recount = Number.isFinite(options.limit);
  for (const part of parts) {
    const result = part.result as PartResult;
    addCounts(counts, result.counts);
    if (!recount) formatter.addCounts(result.tagCounts);
  }
  counts.postsWritten = 0;
  const ids = new PostIdSet();
  const output = await AtomicFile.create(options.output);
  let tagTable: AtomicFile | undefined;
  try {
    merging: for (const part of parts) {
      let carry = '';
      for await (const chunk of fs.createReadStream(part.job.partPath, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
        const text = carry + chunk;
        let from = 0;
        for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
          if (counts.postsWritten >= options.limit) {
            counts.stoppedAtLimit = true;
            break merging;
          }
          const tab = text.indexOf('\t', from);
          const line = text.slice(tab + 1, newline);
          const duplicate = options.dedupe && tab > from && !ids.add(Number(text.slice(from, tab)));
          from = newline + 1;
          if (duplicate) {
            counts.skipped.duplicate++;
            if (!recount) formatter.uncount(line);
            continue;
          }
          if (recount) formatter.countLine(line);
          output.writeLine(line);
          counts.postsWritten++;
        }
        carry = text.slice(from);
        if (output.needsDrain()) await output.drain();
      }
    }
    tagTable = await writeTagCounts(options.countsOutput, formatter.tagCounts);
    await output.commit();
    await tagTable.commit();
  } catch (error) {
    await output.discard();
    await tagTable?.discard();
    throw error;
  }
  return summarize(options, files, counts, formatter, started);
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

export type { ToWorker };
