// Worker-thread entry (bundled to dist/convert-worker.js): a pool worker of a parallel run (converts each
// file it is sent into a part), or a whole conversion off the caller's thread (the VS Code command).
import { parentPort, workerData } from 'node:worker_threads';
import { Conversion, convertMetadata, type PostSink } from './convert';
import { AtomicFile } from './output';
import { serializeError, type ConvertJob, type FromWorker, type PartJob, type PartResult, type PoolJob, type ToWorker } from './worker-protocol';
import type { ConvertHooks } from './types';

async function convertPart(job: PartJob, hooks: ConvertHooks): Promise<PartResult> {
  // The caller chooses the temporary paths, so it can remove them even if this thread is terminated.
  const part = await AtomicFile.createAt(job.partPath, `${job.partPath}.tmp`);
  const ids = await AtomicFile.createAt(job.idsPath, `${job.idsPath}.tmp`).catch(async (error: unknown) => {
    await part.discard();
    throw error;
  });
  try {
    // The ids go beside the lines so that the merge can drop posts already written from another file.
    const idBatch = Buffer.allocUnsafe(8 * 8192);
    let idsUsed = 0;
    let lines = 0;
    const addId = (id: number | undefined): void => {
      idBatch.writeDoubleLE(id ?? NaN, idsUsed);
      idsUsed += 8;
      lines++;
      if (idsUsed === idBatch.length) {
        ids.writeBytes(idBatch, 0, idsUsed);
        idsUsed = 0;
      }
    };
    const sink: PostSink = {
      write: (post, line) => {
        part.writeLine(line);
        addId(post.id);
      },
      writeBytes: (id, bytes, start, end) => {
        part.writeBytes(bytes, start, end);
        addId(id);
      },
      needsDrain: () => part.needsDrain() || ids.needsDrain(),
      drain: async () => {
        await part.drain();
        await ids.drain();
      },
    };
    const conversion = new Conversion(job.options, sink, hooks, job.file.bytes);
    await conversion.convertFile(job.file, job.fileIndex);
    ids.writeBytes(idBatch, 0, idsUsed);
    await AtomicFile.commitTogether([part, ids]);
    conversion.maybeReportProgress(true);
    return { counts: conversion.counts, tagCounts: conversion.formatter.tagCounts.entries(), lines };
  } catch (error) {
    await part.discard();
    await ids.discard();
    throw error;
  }
}

const PART_PROBLEMS_SENT = 1000;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('convert-worker.js runs as a worker thread only');
  const job = workerData as PoolJob | ConvertJob;
  const send = (message: FromWorker): void => port.postMessage(message);
  let abort = new AbortController();
  let problemsLeft = job.job === 'convert' ? job.problemsToSend : PART_PROBLEMS_SENT;
  const hooks = (): ConvertHooks => ({
    signal: abort.signal,
    onProgress: (progress) => send({ type: 'progress', progress }),
    onProblem: (problem) => {
      if (problemsLeft-- > 0) send({ type: 'problem', problem });
    },
  });
  const fail = (error: unknown): void => send({ type: 'failed', error: serializeError(error) });
  let running: Promise<void> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'abort' || message.type === 'close') {
      abort.abort(new DOMException('conversion cancelled', 'AbortError'));
    }
    if (message.type === 'close') {
      // With its port closed and its files closed, the thread has nothing left to do and exits.
      void running.finally(() => port.close());
    } else if (message.type === 'part') {
      // One worker converts many files: the isolate and its optimised code are made once, not per file.
      abort = new AbortController();
      // Each part sends its own first problems, as a run with one worker would report them.
      problemsLeft = PART_PROBLEMS_SENT;
      running = convertPart(message.part, hooks()).then((result) => send({ type: 'part-done', result }), fail);
    }
  });
  if (job.job === 'convert') {
    convertMetadata(job.options, hooks())
      .then((summary) => send({ type: 'done', summary }), fail)
      .finally(() => port.close());
  }
}

main();
