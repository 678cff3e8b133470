// Language server benchmark (`npm run bench:server`): completion latency through LSP while a tag is
// typed letter by letter after a 30-tag context from real posts, and the time to check a 1,000-line
// prompt file. Each figure is printed beside a baseline measured in the same run: the engine's own
// complete() on the same inputs (what LSP adds; and with 2,000 picked tags, what a user's picks
// add), and the parser alone on the same file. Last, a
// large file (GENERATED: the real posts repeated to BENCH_LARGE_LINES lines, 0 to skip): the first
// check, a keystroke's check, completion while it runs, Format Document, Document Highlights and
// Rename of a tag, Fix All, Tag Counts, and the server's memory; and what a check keeps of a dataset
// of distinct lines (GENERATED: the real posts' tags shuffled), beside the text's size.
// Format Document of the 1,000-line file, tidy and made untidy (GENERATED: its separators spaced
// and doubled), and its document symbols, beside the parser alone on the same lines. Last, a folder of caption files
// (GENERATED: one real post a file, BENCH_CAPTION_FILES of them, 0 to skip) with tagScope `folder`:
// Rename and Tag Counts across it, beside reading and parsing its files in the bench's process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CodeActionRequest, CodeActionResolveRequest, DidChangeTextDocumentNotification, DocumentFormattingRequest, DocumentHighlightRequest, DocumentSymbolRequest, RenameRequest, type CodeAction } from 'vscode-languageserver-protocol/node';
import { loadDictionary, loadEngine } from '../src/model/index';
import { continuationColumn, parsePrompt } from '../src/prompt/parser';
import { formatPrompt } from '../src/prompt/format';
import { TagCountsRequest } from '../src/protocol';
import type { CompactTagDictionary } from '../src/model/dictionary';
import { parseTranslations, translationCandidates } from '../src/model/translations';
import { PickedTags } from '../src/server/pickedTags';
import { DEFAULT_SETTINGS } from '../src/server/settings';
import { checkDocument, lineProblems, type LineCache } from '../src/server/diagnostics';
import { parseLine } from '../src/server/serverContext';
import { LineDocument } from '../src/server/lineDocument';
import { createRandom, shuffleInPlace } from '../src/util/random';
import { LspTestClient, testModelDir } from '../test/unit/serverHarness';

const POSTS = '/work/shared/data/posts-danbooru2020-general.tsv';
const postsFile = process.env.DANBOORU_POSTS ?? (fs.existsSync(POSTS) ? POSTS : path.join(__dirname, '..', '..', 'shared', 'data', 'posts-danbooru2020-general.tsv'));
const CONTEXT_TAGS = 30;
const TYPED_TAGS = Number(process.env.BENCH_TYPED_TAGS ?? 60);
const DIAGNOSTIC_LINES = 1000;
const DIAGNOSTIC_RUNS = 7;
const LARGE_LINES = Number(process.env.BENCH_LARGE_LINES ?? 200_000);
const CAPTION_FILES = Number(process.env.BENCH_CAPTION_FILES ?? 10_000);
/** Lines of the GENERATED translation file. */
const TRANSLATED_TAGS = 100_000;

/**
 * A GENERATED translation file: the dictionary's TRANSLATED_TAGS most popular tags, each "translated"
 * to 2-4 of 800 CJK characters picked by a hash of its name (no real translation), and what a user
 * would type in it: the first one or two characters of some of those translations.
 */
function translatedTagsText(dictionary: CompactTagDictionary): { text: string; typed: string[] } {
  const lines: string[] = [];
  const typed: string[] = [];
  for (let id = 0; id < Math.min(TRANSLATED_TAGS, dictionary.size); id++) {
    const name = dictionary.names[id]!;
    let hash = 2166136261;
    for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619) >>> 0;
    const length = 2 + (hash % 3);
    let translation = '';
    for (let i = 0; i < length; i++) translation += String.fromCharCode(0x4e00 + ((hash >>> (i * 7)) % 800));
    lines.push(`${name.includes(',') ? `"${name}"` : name},${translation}`);
    if (id % 997 === 0) typed.push(translation.slice(0, 1 + (id % 2)));
  }
  return { text: lines.join('\n'), typed };
}

/** Picked tags in the completion figure with picks: as many as the store keeps. */
const PICKED_TAGS = 2000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

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
  // The same requests with as many picked tags as the store keeps (GENERATED picks: the posts' most
  // frequent tags, the first picked most), their bonus computed per request as the server does.
  const picks = new PickedTags(undefined, (message) => console.warn(message));
  const frequency = new Map<string, number>();
  for (const tags of posts) for (const tag of tags) frequency.set(tag, (frequency.get(tag) ?? 0) + 1);
  const picked = [...frequency].sort((a, b) => b[1] - a[1]).slice(0, PICKED_TAGS);
  picked.forEach(([tag], rank) => {
    for (let i = 0; i < Math.max(1, 10 - Math.floor(rank / 200)); i++) picks.record(tag);
  });
  // Each typed case with and without the picks, in turns (which goes first alternates).
  const pickedTimes: number[] = [];
  const unpickedTimes: number[] = [];
  for (let i = 0; i < cases.length; i++) {
    const { context, prefix } = cases[i]!;
    if (prefix === '') continue;
    for (const withPicks of i % 2 === 0 ? [true, false] : [false, true]) {
      const started = performance.now();
      await engine.complete(context, prefix, { top: 20, categories: [0, 4, 3, 5], ...(withPicks ? { bonus: picks.bonus(1) } : {}) });
      (withPicks ? pickedTimes : unpickedTimes).push(performance.now() - started);
    }
  }
  // A GENERATED translation file (TRANSLATED_TAGS lines: the dictionary's most popular tags, each
  // "translated" to 2-4 CJK characters picked by a hash of its name; no real translations): its
  // parse, and a keystroke typed in it, found and ranked as completion does, beside the typed-prefix
  // requests above without translations (the same contexts).
  const generated = translatedTagsText(engine.dictionary as CompactTagDictionary);
  let started = performance.now();
  const { translations } = parseTranslations(generated.text, 'GENERATED');
  const translationParseMs = performance.now() - started;
  const translatedTimes: number[] = [];
  const searchTimes: number[] = [];
  let found = 0;
  for (let i = 0; i < cases.length; i++) {
    const { context, prefix } = cases[i]!;
    if (prefix === '') continue;
    const typed = generated.typed[i % generated.typed.length]!;
    started = performance.now();
    const extraAliases = translationCandidates(translations, typed, engine.dictionary, [0, 4, 3, 5], new Set(context));
    searchTimes.push(performance.now() - started);
    const list = await engine.complete(context, typed, { top: 20, categories: [0, 4, 3, 5], extraAliases });
    translatedTimes.push(performance.now() - started);
    found += list.length;
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
  const pickedSorted = [...pickedTimes].sort((a, b) => a - b);
  const unpickedSorted = [...unpickedTimes].sort((a, b) => a - b);
  const [pickP50, pickP99, noP50, noP99] = [percentile(pickedSorted, 50), percentile(pickedSorted, 99), percentile(unpickedSorted, 50), percentile(unpickedSorted, 99)];
  const [translatedSorted, searchSorted] = [translatedTimes, searchTimes].map((times) => [...times].sort((a, b) => a - b));
  console.log(`  a GENERATED translation file of ${translations.size.toLocaleString('en-US')} tags: parsed in ${fmt(translationParseMs)}; ${translatedTimes.length} keystrokes typed in it (1-2 characters, ${(found / translatedTimes.length).toFixed(1)} items each):`);
  console.log(`                      search + candidates p50 ${fmt(percentile(searchSorted!, 50))}  p99 ${fmt(percentile(searchSorted!, 99))}; with the engine's ranking p50 ${fmt(percentile(translatedSorted!, 50))}  p99 ${fmt(percentile(translatedSorted!, 99))}  (x${(percentile(translatedSorted!, 50) / noP50).toFixed(2)} / x${(percentile(translatedSorted!, 99) / noP99).toFixed(2)} a typed prefix without)`);
  console.log(`  engine, typed prefixes (${pickedTimes.length}), with ${picks.size} picked tags (GENERATED picks) / without, in turns:`);
  console.log(`                      p50 ${fmt(pickP50)} / ${fmt(noP50)}  p99 ${fmt(pickP99)} / ${fmt(noP99)}  (x${(pickP50 / noP50).toFixed(2)} / x${(pickP99 / noP99).toFixed(2)})`);

  // --- diagnostics of a 1,000-line prompt file -----------------------------------------------
  const fileLines: string[] = [];
  for (let i = 0; fileLines.length < DIAGNOSTIC_LINES; i++) fileLines.push(posts[(i * 13) % posts.length]!.map((t) => t.replace(/_/g, ' ')).join(', '));
  const text = fileLines.join('\n');
  const checker = await LspTestClient.start({ modelFolder: modelDir, diagnostics: { delay: 0 } });
  const fileUri = await checker.open('thousand.prompt', 'warm up');
  await checker.waitForStatus((s) => !s.loading, 60000);
  await checker.waitForDiagnostics(fileUri);
  const diagnosticTimes: number[] = [];
  let published = '';
  const check = async (body: string): Promise<number> => {
    checker.diagnostics.delete(fileUri);
    const started = performance.now();
    await checker.replace(fileUri, body);
    const diagnostics = await checker.waitForDiagnostics(fileUri, () => true, 60000);
    const more = diagnostics.find((d) => d.code === 'more-problems');
    const total = diagnostics.length - (more ? 1 : 0) + Number(more?.message.replace(/ .*/s, '').replace(/,/g, '') ?? 0);
    published = `${total} problems, ${diagnostics.length} published`;
    return performance.now() - started;
  };
  // Every line of every run is new to the server (its problems are remembered by its text): each
  // run gets its own number of trailing spaces, which change no problem.
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) diagnosticTimes.push(await check(fileLines.map((l) => l + ' '.repeat(run)).join('\n')));
  // A keystroke's check: one line changed, the others known from the check before.
  const keystrokeTimes: number[] = [];
  const middle = Math.floor(fileLines.length / 2);
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
    keystrokeTimes.push(await check(fileLines.map((l, i) => (i === middle ? l + ' '.repeat(run + 1) : l)).join('\n')));
  }
  // Format Document: the file as it is (tidy, every line passed over) and untidy (every line changes).
  const untidyLines = fileLines.map((l) => l.replace(/, /g, (_, i: number) => (i % 3 === 0 ? ' ,,  ' : ' , ')));
  const formatTimes = async (body: string[]): Promise<{ ms: number; edits: number }> => {
    await checker.replace(fileUri, body.join('\n'));
    const times: number[] = [];
    let edits = 0;
    for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
      const started = performance.now();
      const result = await checker.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri: fileUri }, options: { tabSize: 2, insertSpaces: true } });
      times.push(performance.now() - started);
      edits = result?.length ?? 0;
    }
    return { ms: median(times), edits };
  };
  const tidyFormat = await formatTimes(fileLines);
  const untidyFormat = await formatTimes(untidyLines);
  // Document symbols (the Outline), asked on every change: the file as 5 sections of 200 prompts.
  checker.diagnostics.delete(fileUri);
  await checker.replace(fileUri, fileLines.map((line, i) => (i % 200 === 0 ? `# section ${i / 200 + 1}\n${line}` : line)).join('\n'));
  // After the check the change starts: the request alone is timed.
  await checker.waitForDiagnostics(fileUri, () => true, 60000);
  const symbolTimes: number[] = [];
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
    const started = performance.now();
    await checker.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: fileUri } });
    symbolTimes.push(performance.now() - started);
  }
  await checker.stop();
  const parseTimes: number[] = [];
  for (let run = 0; run < DIAGNOSTIC_RUNS; run++) {
    const started = performance.now();
    for (const line of fileLines) parsePrompt(line);
    parseTimes.push(performance.now() - started);
  }
  const diagMs = median(diagnosticTimes);
  const parseMs = median(parseTimes);
  console.log(`\ndiagnostics of a ${DIAGNOSTIC_LINES}-line prompt file (${(text.length / 1024).toFixed(0)} KiB, ${published}), median of ${DIAGNOSTIC_RUNS}`);
  console.log(`  change -> publishDiagnostics through LSP: ${fmt(diagMs)}`);
  console.log(`  parser alone on the same lines:          ${fmt(parseMs)}  (baseline; LSP check = x${(diagMs / parseMs).toFixed(1)})`);
  console.log(`  one line changed -> publishDiagnostics:  ${fmt(median(keystrokeTimes))}`);
  console.log(`  Format Document, tidy (${tidyFormat.edits} edits):      ${fmt(tidyFormat.ms)}  (x${(tidyFormat.ms / parseMs).toFixed(2)} the parser alone)`);
  console.log(`  Format Document, GENERATED untidy (${untidyFormat.edits} edits): ${fmt(untidyFormat.ms)}  (x${(untidyFormat.ms / parseMs).toFixed(2)} the parser alone)`);
  console.log(`  document symbols (5 sections, 1000 prompts): ${fmt(median(symbolTimes))}  (x${(median(symbolTimes) / parseMs).toFixed(2)} the parser alone)`);

  if (LARGE_LINES > 0) await largeFile(modelDir);
  if (LARGE_LINES > 0) await keptProblems();
  longLines();
  if (CAPTION_FILES > 0) await captionFolder(modelDir);
}

/** The constructs of a long line (GENERATED: one written again and again) whose checks (or formatting) once grew with the square of its length. */
const LONG_LINE_CONSTRUCTS = { weights: '(smile:1.2)', alternation: '[cat|dog] ears', choice: '{red|blue} dress', 'AND segments': 'smile AND 1girl', plain: 'long hair', 'nested emphasis': 'smile (' };
const LONG_LINE_KB = 256;

/** The line of a construct: written again and again with `, `; emphasis nested instead (`smile (smile (… blush))`). */
function longLineOf(name: string, construct: string): string {
  const times = Math.ceil((LONG_LINE_KB * 1024) / (construct.length + 2));
  if (name === 'nested emphasis') return construct.repeat(times) + 'blush' + ')'.repeat(times);
  return Array.from({ length: times }, () => construct).join(', ');
}

/**
 * One LONG_LINE_KB line of each construct, in this process: its check (lineProblems), where Sample
 * Tags continues it at its end (continuationColumn) and Format Document's text for it, beside the
 * parser alone on it.
 */
function longLines(): void {
  const dictionary = loadDictionary();
  const check = { ...DEFAULT_SETTINGS.diagnostics, parentheses: true };
  console.log(`\none ${LONG_LINE_KB} KB line of each construct, GENERATED (written again and again), in this process, median of 3:`);
  for (const [name, construct] of Object.entries(LONG_LINE_CONSTRUCTS)) {
    const line = longLineOf(name, construct);
    const timed = (run: () => unknown): number => median([0, 1, 2].map(() => {
      const started = performance.now();
      run();
      return performance.now() - started;
    }));
    const parseMs = timed(() => parsePrompt(line));
    const parsed = parseLine(line, dictionary);
    const checkMs = timed(() => lineProblems(line, dictionary, check));
    const continueMs = timed(() => continuationColumn(line, line.length, parsed));
    const formatMs = timed(() => formatPrompt(line, { separator: 'commaSpace', tagWords: 'keep' }));
    console.log(`  ${`${name} \`${construct}\``.padEnd(34)} check ${fmt(checkMs)} (x${(checkMs / parseMs).toFixed(1)}), where sampling continues ${fmt(continueMs)} (x${(continueMs / parseMs).toFixed(2)}), formatted ${fmt(formatMs)} (x${(formatMs / parseMs).toFixed(1)}); parser alone ${fmt(parseMs)}`);
  }
}

/**
 * What a document's check keeps between keystrokes (each line's problems) on a dataset of distinct
 * lines, in this process: GENERATED, LARGE_LINES lines, each a real post (in file order, repeated)
 * with its tags shuffled by a seeded generator. The heap it grows by, beside the text's own size.
 */
async function keptProblems(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('\nproblems kept by a check: skipped (run with --expose-gc)');
    return;
  }
  const real = fs.readFileSync(postsFile, 'utf8').split('\n').filter(Boolean).map((l) => (l.split('\t')[1] ?? '').split(','));
  const random = createRandom(1);
  const lines = Array.from({ length: LARGE_LINES }, (_, i) => {
    const tags = [...real[i % real.length]!];
    shuffleInPlace(tags, random);
    return tags.join(', ');
  });
  const document = LineDocument.create('file:///bench/distinct.tags', 'danbooru-tags', 1, lines.join('\n'));
  lines.length = 0;
  const dictionary = loadDictionary();
  const settings = DEFAULT_SETTINGS.diagnostics;
  const cache: LineCache = { lines: new Map() };
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const published = await checkDocument(document, dictionary, settings, undefined, undefined, cache);
  const checkMs = performance.now() - started;
  gc();
  const kept = process.memoryUsage().heapUsed - before;
  const problems = cache.checked!.byLine.reduce((sum, line) => sum + line.length, 0);
  const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
  console.log(`\nproblems kept by a check, GENERATED distinct lines (${postsFile}, each post's tags shuffled): ${LARGE_LINES.toLocaleString('en-US')} lines, ${mib(document.length)} of text`);
  console.log(`  check in this process:  ${fmt(checkMs)} (${problems.toLocaleString('en-US')} problems, ${published!.length} published)`);
  console.log(`  heap kept after it:     ${mib(kept)} (${(kept / problems).toFixed(0)} bytes a problem; x${(kept / document.length).toFixed(2)} the text's length in bytes, baseline)`);
}

/** A LoRA training set's captions, one file per image. GENERATED: the real posts, one a file, in file order. */
async function captionFolder(modelDir: string): Promise<void> {
  const real = fs.readFileSync(postsFile, 'utf8').split('\n').filter(Boolean).map((l) => (l.split('\t')[1] ?? '').split(',').map((t) => t.replace(/_/g, ' ')).join(', '));
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-bench-captions-'));
  try {
    const files = Array.from({ length: CAPTION_FILES }, (_, i) => path.join(folder, `${String(i).padStart(6, '0')}.txt`));
    files.forEach((file, i) => fs.writeFileSync(file, `${real[i % real.length]}\n`));
    const client = await LspTestClient.start({ modelFolder: modelDir, tagScope: 'folder' });
    const uri = await client.openUri(pathToFileURL(files[0]!).href, real[0]!);
    await client.waitForStatus((s) => !s.loading, 60000);
    await client.waitForDiagnostics(uri);
    const position = { line: 0, character: real[0]!.indexOf(', ') + 2 };
    const tag = real[0]!.slice(position.character, real[0]!.indexOf(',', position.character));
    let started = performance.now();
    const renamed = await client.connection.sendRequest(RenameRequest.type, { textDocument: { uri }, position, newName: 'renamed tag' });
    const renameMs = performance.now() - started;
    started = performance.now();
    const counts = await client.connection.sendRequest(TagCountsRequest, { textDocument: { uri } });
    const countsMs = performance.now() - started;
    await client.stop();
    started = performance.now();
    for (const file of files) for (const line of fs.readFileSync(file, 'utf8').split('\n')) parsePrompt(line);
    const baselineMs = performance.now() - started;
    console.log(`\ncaption folder, GENERATED (${postsFile}, one post a file): ${CAPTION_FILES.toLocaleString('en-US')} files, tagScope "folder"`);
    console.log(`  Rename of "${tag}":  ${fmt(renameMs)} (${Object.keys(renamed?.changes ?? {}).length.toLocaleString('en-US')} files changed; x${(renameMs / baselineMs).toFixed(2)} reading and parsing every file here)`);
    console.log(`  Tag Counts:          ${fmt(countsMs)} (${counts.distinct.toLocaleString('en-US')} tags in ${counts.files.toLocaleString('en-US')} files; x${(countsMs / baselineMs).toFixed(2)})`);
    console.log(`  baseline:            ${fmt(baselineMs)} (readFileSync and the parser alone on every file, in this process)`);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** The server's resident memory now and at its peak (Linux /proc), in MB. */
function serverMemory(pid: number): string {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const mb = (key: string): string => (Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024).toFixed(0);
    return `RSS ${mb('VmRSS')} MB, peak ${mb('VmHWM')} MB`;
  } catch {
    return 'RSS unknown';
  }
}

/**
 * A converted dataset opened as a `.tags` file, one post a line. GENERATED: the real posts repeated
 * (in file order) to LARGE_LINES lines, so 15,596 distinct lines at most.
 */
async function largeFile(modelDir: string): Promise<void> {
  const real = fs.readFileSync(postsFile, 'utf8').split('\n').filter(Boolean).map((l) => (l.split('\t')[1] ?? '').split(',').map((t) => t.replace(/_/g, ' ')).join(', '));
  const lines = Array.from({ length: LARGE_LINES }, (_, i) => real[i % real.length]!);
  const text = lines.join('\n');
  const client = await LspTestClient.start({ modelFolder: modelDir });
  const pid = client.process.pid!;
  const warm = await client.open('warm.prompt', '1girl');
  await client.waitForStatus((s) => !s.loading, 60000);
  await client.waitForDiagnostics(warm);
  let started = performance.now();
  const uri = await client.open('dataset.tags', text);
  let diagnostics = await client.waitForDiagnostics(uri, () => true, 600000);
  const firstMs = performance.now() - started;
  const firstCount = diagnostics.length;
  const firstMemory = serverMemory(pid);
  // One keystroke in the middle of the file, inside a tag (default 300 ms debounce), then `, ` and a
  // completion request once the check has started.
  const line = Math.floor(lines.length / 2);
  const column = lines[line]!.indexOf(',');
  let version = 1;
  const type = (character: number, letters: string): Promise<void> => client.connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: ++version },
    contentChanges: [{ range: { start: { line, character }, end: { line, character } }, text: letters }],
  });
  client.diagnostics.delete(uri);
  started = performance.now();
  await type(column, 'x');
  diagnostics = await client.waitForDiagnostics(uri, () => true, 600000);
  const keystrokeMs = performance.now() - started;
  client.diagnostics.delete(uri);
  started = performance.now();
  await type(column + 1, ', ');
  await new Promise((resolve) => setTimeout(resolve, 320));
  const asked = performance.now();
  const items = await client.completionItems(uri, line, column + 3);
  const completionMs = performance.now() - asked;
  await client.waitForDiagnostics(uri, () => true, 600000);
  const secondKeystrokeMs = performance.now() - started;
  started = performance.now();
  const formatEdits = await client.connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
  const formatMs = performance.now() - started;
  // The cursor on the second tag of a line: its highlights (the lines around it), then its rename
  // across the whole file.
  const second = lines[0]!.indexOf(', ') + 2;
  const position = { textDocument: { uri }, position: { line: 0, character: second } };
  const renamedTag = lines[0]!.slice(second, lines[0]!.indexOf(',', second));
  started = performance.now();
  const highlights = await client.connection.sendRequest(DocumentHighlightRequest.type, position);
  const highlightMs = performance.now() - started;
  started = performance.now();
  const renamed = await client.connection.sendRequest(RenameRequest.type, { ...position, newName: 'renamed tag' });
  const renameMs = performance.now() - started;
  const renameEdits = Object.values(renamed?.changes ?? {})[0]?.length ?? 0;
  // Fix All: the file's every alias and duplicate (on the text before the rename, which was not applied).
  started = performance.now();
  const [fixAll] = (await client.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [], only: ['source.fixAll'] } })) as CodeAction[];
  const fixed = await client.connection.sendRequest(CodeActionResolveRequest.type, fixAll!);
  const fixAllMs = performance.now() - started;
  const fixedLines = Object.values(fixed.edit?.changes ?? {})[0]?.length ?? 0;
  // VS Code applies that edit and sends it back as one didChange (last change first): the next request
  // waits until the server has taken it in.
  const applied = [...(fixed.edit?.changes?.[uri] ?? [])].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character);
  started = performance.now();
  await client.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version: ++version }, contentChanges: applied.map((each) => ({ range: each.range, text: each.newText })) });
  await client.connection.sendRequest(DocumentHighlightRequest.type, position);
  const applyMs = performance.now() - started;
  started = performance.now();
  const counts = await client.connection.sendRequest(TagCountsRequest, { textDocument: { uri } });
  const countsMs = performance.now() - started;
  const lastMemory = serverMemory(pid);
  await client.stop();
  started = performance.now();
  for (const each of lines) parsePrompt(each);
  const parseAllMs = performance.now() - started;
  console.log(`\nlarge file, GENERATED (${postsFile} repeated): ${LARGE_LINES.toLocaleString('en-US')} lines, ${(text.length / 1048576).toFixed(1)} MiB`);
  console.log(`  open -> first publishDiagnostics:  ${fmt(firstMs)} (${firstCount} diagnostics; ${firstMemory})`);
  console.log(`  keystroke -> publishDiagnostics:   ${fmt(keystrokeMs)}, then ${fmt(secondKeystrokeMs)} (300 ms debounce included)`);
  console.log(`  completion while that check runs:  ${fmt(completionMs)} (${items.length} items)`);
  console.log(`  Format Document:                   ${fmt(formatMs)} (${formatEdits?.length ?? 0} edits: the line typed into; parser alone on every line ${fmt(parseAllMs)}, baseline)`);
  console.log(`  Document Highlights:               ${fmt(highlightMs)} (of "${renamedTag}": ${highlights?.length ?? 0} in the 1,001 lines from the cursor)`);
  console.log(`  Rename:                            ${fmt(renameMs)} (of "${renamedTag}": ${renameEdits.toLocaleString('en-US')} edits; parser alone on every line, above, is the baseline)`);
  console.log(`  Fix All (aliases, dup., parens):   ${fmt(fixAllMs)} (${fixedLines.toLocaleString('en-US')} lines changed; x${(fixAllMs / parseAllMs).toFixed(1)} the parser alone on every line)`);
  console.log(`  Fix All applied (one didChange):   ${fmt(applyMs)} to the next answer (${applied.length.toLocaleString('en-US')} changes; x${(applyMs / parseAllMs).toFixed(2)} the parser alone on every line)`);
  console.log(`  Tag Counts:                        ${fmt(countsMs)} (${counts.distinct.toLocaleString('en-US')} tags in ${counts.prompts.toLocaleString('en-US')} prompts; x${(countsMs / parseAllMs).toFixed(2)} the parser alone on every line)`);
  console.log(`  server memory at the end:          ${lastMemory}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
