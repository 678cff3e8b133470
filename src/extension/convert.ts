// "Danbooru GPT: Convert Metadata to Tag Dataset": the active editor's file, or the explorer's
// (multi-)selection, converted in a worker thread (dist/convert-worker.js) with cancellable progress.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { convertInWorker } from '../dataset/worker-client';
import { describeSummary, formatProblem, problemsTotal, skippedTotal } from '../dataset/report';
import { METADATA_FILE_NAME, NOTE_REASONS, type ConvertProgress, type ConvertSummary } from '../dataset/types';
import { counted } from '../util/words';

const COMMAND = 'danbooruGpt.convertMetadata';
/** Problems written to the log one by one; the rest are counted in the summary. */
const PROBLEMS_LOGGED = 1000;

/** Conversions in progress, each with the promise of its end: a window closed or reloaded stops them. */
const running = new Map<AbortController, Promise<unknown>>();

/**
 * Stops every conversion in progress and waits (4 s at most) until each has removed its temporary
 * file: the extension host exits after deactivate, and the partial dataset (GBs of a dump) was left.
 */
export async function stopConversions(): Promise<void> {
  for (const abort of running.keys()) abort.abort();
  await Promise.race([Promise.allSettled(running.values()), new Promise((resolve) => setTimeout(resolve, 4000))]);
}

export function registerConvertCommand(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMAND, (clicked?: vscode.Uri, selection?: vscode.Uri[]) => convertMetadataCommand(context, log, clicked, selection)),
  );
}

async function convertMetadataCommand(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, clicked?: vscode.Uri, selection?: vscode.Uri[]): Promise<void> {
  const inputs = await chooseInputs(clicked, selection);
  if (inputs.length === 0 || !allLocal(inputs, log)) return;
  const target = await vscode.window.showSaveDialog({
    title: 'Save the tag dataset as',
    defaultUri: vscode.Uri.file(defaultOutputPath(inputs[0].fsPath)),
    filters: { 'Tag dataset (one post a line)': ['txt'], 'JSON lines (id, rating, score, tags by category)': ['jsonl'] },
  });
  if (target === undefined || !allLocal([target], log)) return;
  const output = target.fsPath;
  const format = output.toLowerCase().endsWith('.jsonl') ? 'jsonl' : 'txt';
  const workerScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'convert-worker.js').fsPath;
  log.info(`Converting ${inputs.map((uri) => uri.fsPath).join(', ')} -> ${output} (${format})`);

  let problemsLogged = 0;
  let summary: ConvertSummary;
  try {
    summary = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Converting Danbooru metadata', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const cancelled = token.onCancellationRequested(() => abort.abort());
        let reportedPercent = 0;
        try {
          const conversion = convertInWorker(
            // An empty dataset is of no use and reads like a success in the explorer: with nothing converted,
            // the outputs (an older dataset included) are left as they were.
            { inputs: inputs.map((uri) => uri.fsPath), output, format, writeEmpty: false },
            {
              workerScript,
              signal: abort.signal,
              problemsToSend: PROBLEMS_LOGGED,
              progressIntervalMs: 250,
              onProgress: (update) => {
                const percent = update.bytesTotal > 0 ? (100 * update.bytesRead) / update.bytesTotal : 0;
                progress.report({ increment: Math.max(0, percent - reportedPercent), message: progressMessage(update, percent) });
                reportedPercent = Math.max(reportedPercent, percent);
              },
              onProblem: (problem) => {
                problemsLogged++;
                log.warn(formatProblem(problem));
              },
            },
          );
          running.set(abort, conversion);
          return await conversion;
        } finally {
          running.delete(abort);
          cancelled.dispose();
        }
      },
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') {
      log.info('Conversion cancelled; nothing was written.');
      void vscode.window.showInformationMessage('Conversion cancelled; nothing was written.');
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    log.error(`Conversion failed: ${message}`);
    const choice = await vscode.window.showErrorMessage(`Conversion failed: ${message}`, 'Show Log');
    if (choice === 'Show Log') log.show(true);
    return;
  }

  for (const line of describeSummary(summary).trimEnd().split('\n')) log.info(line);
  if (problemsTotal(summary) > problemsLogged) {
    log.info('More problems than were logged one by one; all are counted above.');
  }
  if (!summary.outputsWritten) {
    // Nothing was written, so the outputs there now are older ones, left as they were.
    const kept = [summary.output, summary.countsOutput].filter((file) => fs.existsSync(file));
    const warning = nothingConvertedMessage(summary, inputs.map((uri) => uri.fsPath), kept);
    log.warn(warning);
    const choice = await vscode.window.showWarningMessage(warning, 'Show Log');
    if (choice === 'Show Log') log.show(true);
    return;
  }
  const show = summary.badRecords > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const choice = await show(convertedMessage(summary), 'Open Output', 'Show Log');
  if (choice === 'Open Output') await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(summary.output));
  else if (choice === 'Show Log') log.show(true);
}

/** The summary toast of a conversion that wrote posts. */
export function convertedMessage(summary: ConvertSummary): string {
  return (
    `Converted ${counted(summary.postsWritten, 'post')} to ${path.basename(summary.output)}` +
    ` (${skippedTotal(summary).toLocaleString('en-US')} skipped, ${counted(summary.badRecords, 'bad line')}` +
    `, tag counts in ${path.basename(summary.countsOutput)}).`
  );
}

/**
 * Why a conversion wrote no post: no post in the input at all (with the first problem), or all
 * skipped. `kept`: outputs of an earlier run that are there, left as they were.
 */
export function nothingConvertedMessage(summary: ConvertSummary, inputs: string[], kept: string[] = []): string {
  const what = inputs.length === 1 ? path.basename(inputs[0]!) : `the ${inputs.length} inputs`;
  const names = kept.map((file) => path.basename(file)).join(' and ');
  const files = ` No dataset was written${kept.length === 0 ? '' : `; ${names} ${kept.length === 1 ? 'was' : 'were'} left as ${kept.length === 1 ? 'it was' : 'they were'}`}.`;
  if (summary.postsRead > 0) {
    const read = summary.postsRead === 1 ? 'the only post read from' : `all ${counted(summary.postsRead, 'post')} read from`;
    return `Nothing was converted: ${read} ${what} ${summary.postsRead === 1 ? 'was' : 'were'} skipped (the log says why).${files}`;
  }
  const first = summary.firstProblems.find((problem) => !NOTE_REASONS.has(problem.reason));
  const problem = first ? ` First problem: ${shorten(formatProblem({ ...first, file: path.basename(first.file) }), 160)}` : '';
  const bad = summary.badRecords > 0 ? ` (${counted(summary.badRecords, 'bad line')})` : '';
  return `Nothing was converted: ${what} holds no Danbooru metadata posts${bad}; expected a .jsonl, .json or .gz export of Danbooru posts.${files}${problem}`;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Whether every file is on this machine's disk, which the converter streams from and to; says which
 * one is not (a virtual workspace's `vscode-vfs:` file, say: it was read as a local path, ENOENT).
 */
function allLocal(uris: vscode.Uri[], log: vscode.LogOutputChannel): boolean {
  const other = uris.find((uri) => uri.scheme !== 'file');
  if (other === undefined) return true;
  const message = `Convert Metadata reads and writes files on this machine's disk; ${other.toString()} is not one (${other.scheme}:). Copy it to a local folder, or run \`danbooru-gpt convert\` where the dump is.`;
  log.error(message);
  void vscode.window.showErrorMessage(`Danbooru GPT: ${message}`);
  return false;
}

/** The explorer's selection (or the clicked item), else the active editor's file, else an open dialog. */
async function chooseInputs(clicked?: vscode.Uri, selection?: vscode.Uri[]): Promise<vscode.Uri[]> {
  const fromExplorer = selection && selection.length > 0 ? selection : clicked ? [clicked] : [];
  // (All of them, local or not: one that is not is said, not dropped.)
  if (fromExplorer.length > 0) return fromExplorer;
  const active = vscode.window.activeTextEditor?.document.uri;
  // The active editor is taken only when it is metadata: a prompt open from the palette is not.
  if (active?.scheme === 'file' && isMetadataPath(active.fsPath)) return [active];
  return (
    (await vscode.window.showOpenDialog({
      title: 'Danbooru metadata to convert',
      defaultUri: active?.scheme === 'file' ? vscode.Uri.file(path.dirname(active.fsPath)) : undefined,
      canSelectMany: true,
      canSelectFolders: true,
      canSelectFiles: true,
      filters: { 'Danbooru metadata': ['jsonl', 'json', 'gz', 'ndjson'], 'All files': ['*'] },
    })) ?? []
  );
}

/** The names the converter reads in a folder (`.jsonl`, `.ndjson`, `.json`, each maybe `.gz`). */
export function isMetadataPath(file: string): boolean {
  return METADATA_FILE_NAME.test(file);
}

/** `NAME.tags.txt` beside the input: `posts.jsonl.gz` -> `posts.tags.txt`, a folder `dump` -> `dump.tags.txt`. */
export function defaultOutputPath(input: string): string {
  const base = path.basename(input).replace(/\.gz$/i, '').replace(/\.(jsonl|ndjson|json)$/i, '');
  return path.join(path.dirname(input), `${base}.tags.txt`);
}

function progressMessage(update: ConvertProgress, percent: number): string {
  const eta = update.etaSeconds === undefined ? '' : `, about ${Math.ceil(update.etaSeconds)} s left`;
  return `${percent.toFixed(0)}% of ${formatSize(update.bytesTotal)}, ${counted(update.postsWritten, 'post')}, ${Math.round(update.postsPerSecond).toLocaleString('en-US')} posts/s${eta}`;
}

function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
  return `${Math.ceil(bytes / 1e3)} kB`;
}
