// Runs a whole conversion in a worker thread (dist/convert-worker.js), so the caller's thread stays
// free (the VS Code extension host). Same options, hooks and result as convertMetadata.
import { Worker } from 'node:worker_threads';
import type { ConvertHooks, ConvertOptions, ConvertSummary } from './types';
import { defaultWorkerScript, deserializeError, stopWorker, type ConvertJob, type FromWorker, type ToWorker } from './worker-protocol';

export interface WorkerHooks extends ConvertHooks {
  /** Path of convert-worker.js (default: beside this bundle, or dist/). */
  workerScript?: string;
  /** Problems forwarded one by one (default 1000); all are counted in the summary either way. */
  problemsToSend?: number;
}

export function convertInWorker(options: ConvertOptions, hooks: WorkerHooks = {}): Promise<ConvertSummary> {
  const job: ConvertJob = { job: 'convert', options, problemsToSend: hooks.problemsToSend ?? 1000 };
  const worker = new Worker(hooks.workerScript ?? defaultWorkerScript(), { workerData: job });
  return new Promise<ConvertSummary>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, summary?: ConvertSummary): void => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      // The worker closes its port once it has answered, and so exits by itself.
      void stopWorker(worker, () => undefined).finally(() => (error === undefined ? resolve(summary as ConvertSummary) : reject(error)));
    };
    // The worker removes its temporary file before it answers an abort, so wait for that answer.
    const onAbort = (): void => worker.postMessage({ type: 'abort' } satisfies ToWorker);
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'progress') hooks.onProgress?.(message.progress);
      else if (message.type === 'problem') hooks.onProblem?.(message.problem);
      else if (message.type === 'done') settle(undefined, message.summary);
      else if (message.type === 'failed') settle(deserializeError(message.error));
    });
    worker.on('error', (error) => settle(error));
    worker.on('exit', (code) => settle(new Error(`convert worker exited (${code}) before finishing`)));
    if (hooks.signal?.aborted) onAbort();
  });
}
