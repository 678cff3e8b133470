// Language server benchmark (`npm run bench:server`): completion latency through LSP while a tag is
// typed letter by letter after a 30-tag context from real posts, and the time to check a 1,000-line
// prompt file. Each figure is printed beside a baseline measured in the same run: the engine's own
// complete() on the same inputs (what LSP adds), and the parser alone on the same file.
import fs from 'node:fs';
import path from 'node:path';
import { DidChangeTextDocumentNotification } from 'vscode-languageserver-protocol/node';
import { loadEngine } from '../src/model/index';
import { parsePrompt } from '../src/server/parser';
import { LspTestClient, testModelDir } from '../test/unit/serverHarness';

const POSTS = '/work/shared/data/posts-danbooru2020-general.tsv';
const postsFile = process.env.DANBOORU_POSTS ?? (fs.existsSync(POSTS) ? POSTS : path.join(__dirname, '..', '..', 'shared', 'data', 'posts-danbooru2020-general.tsv'));
const CONTEXT_TAGS = 30;
const TYPED_TAGS = Number(process.env.BENCH_TYPED_TAGS ?? 60);
const DIAGNOSTIC_LINES = 1000;
const DIAGNOSTIC_RUNS = 7;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

async function main(): Promise<void> {
  const modelDir = testModelDir();
  if (!modelDir) throw new Error('no model: models/default or test/fixtures/models/tiny-tag is needed');
  const posts = fs.readFileSync(postsFile, 'utf8').split('\n').map((l) => l.split('\t')[1]?.split(',') ?? []).filter((tags) => tags.length > CONTEXT_TAGS);
  console.log(`model: ${modelDir}\nposts: ${postsFile} (${posts.length} with more than ${CONTEXT_TAGS} tags)`);

  // --- completion while typing, through LSP --------------------------------------------------
  const client = await LspTestClient.start({ modelFolder: modelDir, diagnostics: { delay: 300 } });
  const uri = await client.open('bench.prompt', '');
  await client.waitForStatus((s) => !s.loading, 60000);
  let version = 1;
  const lspTimes: number[] = [];
  // What each measured keystroke asked: a prefix, or '' for the request VS Code sends on the `, ` trigger.
  const cases: { context: string[]; prefix: string }[] = [];
  const warmupEnd = 5;
  for (let p = 0; p < TYPED_TAGS + warmupEnd; p++) {
    const tags = posts[(p * 37) % posts.length]!;
    const context = tags.slice(0, CONTEXT_TAGS);
    const target = tags[CONTEXT_TAGS]!.replace(/_/g, ' ');
    let line = context.map((t) => t.replace(/_/g, ' ')).join(', ');
    await client.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version: ++version }, contentChanges: [{ text: line }] });
    // `, ` then the tag, one keystroke at a time: each an incremental change, then the completion
    // request VS Code sends (`,` and ` ` are trigger characters, letters re-request an incomplete list).
    const keystrokes = [',', ' ', ...target];
    for (let k = 0; k < keystrokes.length; k++) {
      const letter = keystrokes[k]!;
      const column = line.length;
      line += letter;
      await client.connection.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version: ++version },
        contentChanges: [{ range: { start: { line: 0, character: column }, end: { line: 0, character: column } }, text: letter }],
      });
      if (k === 0) continue; // right after the comma VS Code waits for the space
      const started = performance.now();
      const items = await client.completionItems(uri, 0, line.length);
      const elapsed = performance.now() - started;
      if (items.length === 0 && letter !== ' ') throw new Error(`no completion for "${line.slice(-20)}"`);
      if (p >= warmupEnd) {
        lspTimes.push(elapsed);
        cases.push({ context, prefix: k === 1 ? '' : line.slice(line.lastIndexOf(', ') + 2).replace(/ /g, '_') });
      }
    }
  }
  await client.stop();

  // --- the same requests straight from the engine (baseline) ---------------------------------
  const engine = await loadEngine({ modelDir });
  const engineTimes: number[] = [];
  for (let i = 0; i < cases.length; i++) {
    const { context, prefix } = cases[i]!;
    const started = performance.now();
    if (prefix === '') await engine.nextTags(context, 20);
    else await engine.complete(context, prefix, { top: 20, categories: [0, 4, 3, 5] });
    engineTimes.push(performance.now() - started);
  }
  await engine.dispose();

  const lspSorted = [...lspTimes].sort((a, b) => a - b);
  const engineSorted = [...engineTimes].sort((a, b) => a - b);
  const lspP50 = percentile(lspSorted, 50);
  const lspP99 = percentile(lspSorted, 99);
  const engP50 = percentile(engineSorted, 50);
  const engP99 = percentile(engineSorted, 99);
  console.log(`\ncompletion while typing (${lspTimes.length} requests: \`, \` then ${TYPED_TAGS} tags letter by letter after ${CONTEXT_TAGS}-tag contexts)`);
  console.log(`  through LSP:        p50 ${fmt(lspP50)}  p99 ${fmt(lspP99)}  (target p99 <= 20 ms: ${lspP99 <= 20 ? 'met' : 'NOT met'})`);
  console.log(`  engine directly:    p50 ${fmt(engP50)}  p99 ${fmt(engP99)}  (baseline, same inputs, same run)`);
  console.log(`  LSP / engine:       p50 x${(lspP50 / engP50).toFixed(2)}  p99 x${(lspP99 / engP99).toFixed(2)}`);

  // --- diagnostics of a 1,000-line prompt file -----------------------------------------------
  const fileLines: string[] = [];
  for (let i = 0; fileLines.length < DIAGNOSTIC_LINES; i++) fileLines.push(posts[(i * 13) % posts.length]!.map((t) => t.replace(/_/g, ' ')).join(', '));
  const text = fileLines.join('\n');
  const checker = await LspTestClient.start({ modelFolder: modelDir, diagnostics: { delay: 0 } });
  const fileUri = await checker.open('thousand.prompt', 'warm up');
  await checker.waitForStatus((s) => !s.loading, 60000);
  await checker.waitForDiagnostics(fileUri);
  const diagnosticTimes: number[] = [];
  let published = 0;
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
    // Alternate two texts so that every run is a real change the server must check.
    const body = run % 2 === 0 ? text : `${text}\n`;
    const count = checker.diagnostics.size;
    checker.diagnostics.delete(fileUri);
    const started = performance.now();
    await checker.replace(fileUri, body);
    const diagnostics = await checker.waitForDiagnostics(fileUri, () => true, 60000);
    diagnosticTimes.push(performance.now() - started);
    published = diagnostics.length;
    void count;
  }
  await checker.stop();
  const parseTimes: number[] = [];
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
    const started = performance.now();
    for (const line of fileLines) parsePrompt(line);
    parseTimes.push(performance.now() - started);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const diagMs = median(diagnosticTimes);
  const parseMs = median(parseTimes);
  console.log(`\ndiagnostics of a ${DIAGNOSTIC_LINES}-line prompt file (${(text.length / 1024).toFixed(0)} KiB, ${published} problems), median of ${DIAGNOSTIC_RUNS}`);
  console.log(`  change -> publishDiagnostics through LSP: ${fmt(diagMs)}`);
  console.log(`  parser alone on the same lines:          ${fmt(parseMs)}  (baseline; LSP check = x${(diagMs / parseMs).toFixed(1)})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
