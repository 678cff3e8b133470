// Worker-thread entry (bundled to dist/convert-worker.js): converts one file into a part for a parallel
// run, or runs a whole conversion off the caller's thread (the VS Code command).
import { parentPort, workerData } from 'node:worker_threads';
import { Conversion, convertMetadata, type PostSink } from './convert';
import { AtomicFile } from './output';
import { serializeError, type ConvertJob, type FromWorker, type PartJob, type PartResult, type ToWorker } from './worker-protocol';
import type { ConvertHooks } from './types';

async function convertPart(job: PartJob, hooks: ConvertHooks): Promise<PartResult> {
  const part = await AtomicFile.createAt(job.partPath, job.tempPath);
  try {
    const sink: PostSink = {
      // The id travels with the line so the merge can drop posts already written from another file.
      write: (post, line) => part.writeLine(`${post.id ?? ''}\t${line}`),
      needsDrain: () => part.needsDrain(),
      drain: () => part.drain(),
    };
    const conversion = new Conversion(job.options, sink, hooks, job.file.bytes);
    await conversion.convertFile(job.file);
    await part.commit();
    conversion.maybeReportProgress(true);
    return { counts: conversion.counts, tagCounts: conversion.formatter.tagCounts.entries() };
  } catch (error) {
    await part.discard();
    throw error;
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('convert-worker.js runs as a worker thread only');
  const job = workerData as PartJob | ConvertJob;
  const send = (message: FromWorker): void => port.postMessage(message);
  const abort = new AbortController();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'abort') abort.abort(new DOMException('conversion cancelled', 'AbortError'));
  });
  let problemsLeft = job.job === 'convert' ? job.problemsToSend : 1000;
  const hooks: ConvertHooks = {
    signal: abort.signal,
    onProgress: (progress) => send({ type: 'progress', progress }),
    onProblem: (problem) => {
      if (problemsLeft-- > 0) send({ type: 'problem', problem });
    },
  };
  const work =
    job.job === 'part'
      ? convertPart(job, hooks).then((result) => send({ type: 'part-done', result }))
      : convertMetadata(job.options, hooks).then((summary) => send({ type: 'done', summary }));
  work
    .catch((error: unknown) => send({ type: 'failed', error: serializeError(error) }))
    .finally(() => port.close());
}

main();
