// Diagnostics: unknown tags, duplicate tags within a prompt, aliases (deprecated names). Debounced
// per document, and run in slices of a few milliseconds that yield to the event loop, so completion
// requests are answered between slices of a large file; a newer run for the same document stops
// the older one. Weights, LoRA, keywords and comments are never tags, so never flagged. The problems
// of each line are remembered by its text, so a keystroke in a dataset of a million lines checks one
// line again; and at most MAX_PUBLISHED diagnostics are sent, as VS Code shows no more per file.
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { TagDictionary } from '../model/index';
import { normalizeTag } from './parser';
import { lineText, parseLine, resolveCached, type ServerContext } from './serverContext';
import type { DiagnosticsSettings } from './settings';

export const DIAGNOSTIC_SOURCE = 'danbooru-gpt';

export const enum DiagnosticCode {
  UnknownTag = 'unknown-tag',
  DuplicateTag = 'duplicate-tag',
  AliasTag = 'alias-tag',
  /** Says how many problems were left out of a file that has more than MAX_PUBLISHED. */
  MoreProblems = 'more-problems',
}

/** Data carried by an unknown-tag diagnostic: the name the "add to known tags" fix records. */
export interface UnknownTagData {
  name: string;
}

/** Data carried by an alias diagnostic for its quick fix. */
export interface AliasData {
  canonical: string;
}

/**
 * Diagnostics sent per document at most, the last one saying how many were left out: VS Code keeps
 * 1,000 per file (ExtHostDiagnostics._maxDiagnosticsPerFile) and drops the rest after converting them
 * all; a 200k-line dataset has ~370k problems, 90 MB of JSON per check.
 */
export const MAX_PUBLISHED = 1000;

/** Work per slice before yielding to other requests. */
const SLICE_MS = 8;
/**
 * A tag still being typed at the end of the line just edited is not called unknown (or an alias:
 * `lo` is one) until typing has paused this long; then the document is checked again in full.
 */
const TYPING_GRACE_MS = 1500;

/** A tag exempt from unknown/alias checks: the one ending at this position. */
export interface TagBeingTyped {
  line: number;
  end: number;
}

/** The known-tags setting as a set of normalized names, made once per settings object. */
const knownTagSets = new WeakMap<string[], Set<string>>();
export function knownTagSet(knownTags: string[]): Set<string> {
  let set = knownTagSets.get(knownTags);
  if (!set) knownTagSets.set(knownTags, (set = new Set(knownTags.filter((tag) => typeof tag === 'string').map(normalizeTag).filter(Boolean))));
  return set;
}

/** Tag-like text that is not meant to be a Danbooru tag: wildcards, embeddings, bare numbers. */
function isNotATag(name: string): boolean {
  return /^__.+__$/.test(name) || name.startsWith('embedding:') || /^-?[\d.]+$/.test(name);
}

export class DiagnosticsScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly generations = new Map<string, number>();
  /** The text each document had at its last check (or when it was opened), to find the tag an edit touched. */
  private readonly checkedText = new Map<string, string>();
  private readonly lastEdit = new Map<string, number>();
  private readonly lineCaches = new Map<string, LineCache>();

  constructor(private readonly ctx: ServerContext) {}

  /** Checks the document after the configured delay (0: right away). */
  schedule(document: TextDocument, immediately = false): void {
    const uri = document.uri;
    // Keystrokes right after opening supersede the first check: the opened text is the baseline then.
    if (!this.checkedText.has(uri)) this.checkedText.set(uri, document.getText());
    if (!immediately) this.lastEdit.set(uri, Date.now());
    clearTimeout(this.timers.get(uri));
    const generation = (this.generations.get(uri) ?? 0) + 1;
    this.generations.set(uri, generation);
    void this.ctx.settings.forDocument(uri).then((settings) => {
      if (this.generations.get(uri) !== generation) return;
      const delay = immediately ? 0 : settings.diagnostics.delay;
      this.timers.set(uri, setTimeout(() => {
        this.timers.delete(uri);
        void this.run(uri, generation, settings.diagnostics).catch((error: unknown) => {
          this.ctx.connection.console.error(`Checking ${uri} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        });
      }, delay));
    });
  }

  /** Checks every open document again (after a settings change or a model reload). */
  scheduleAll(): void {
    for (const document of this.ctx.documents.all()) this.schedule(document, true);
  }

  clear(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.generations.set(uri, (this.generations.get(uri) ?? 0) + 1);
    this.checkedText.delete(uri);
    this.lastEdit.delete(uri);
    this.lineCaches.delete(uri);
    void this.ctx.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private async run(uri: string, generation: number, settings: DiagnosticsSettings): Promise<void> {
    const engine = await this.ctx.engines.engine();
    const document = this.ctx.documents.get(uri);
    if (!document || this.generations.get(uri) !== generation) return;
    const version = document.version;
    const text = document.getText();
    const stale = (): boolean => this.generations.get(uri) !== generation || this.ctx.documents.get(uri)?.version !== version;
    const typing = this.tagBeingTyped(uri, document, text, engine.dictionary);
    let cache = this.lineCaches.get(uri);
    if (!cache) this.lineCaches.set(uri, (cache = { lines: new Map() }));
    const diagnostics = settings.enabled
      ? await checkDocument(text, engine.dictionary, settings, stale, typing, cache)
      : [];
    if (diagnostics === undefined || stale()) return;
    this.checkedText.set(uri, text);
    await this.ctx.connection.sendDiagnostics({ uri, version, diagnostics });
    if (typing) {
      const wait = Math.max(0, (this.lastEdit.get(uri) ?? 0) + TYPING_GRACE_MS - Date.now());
      this.timers.set(uri, setTimeout(() => {
        this.timers.delete(uri);
        if (this.generations.get(uri) === generation) void this.run(uri, generation, settings).catch(() => undefined);
      }, wait));
    }
  }

  /** The tag an edit just typed into (at the end of a line or in its middle), while typing has not paused for long. */
  private tagBeingTyped(uri: string, document: TextDocument, text: string, dictionary: TagDictionary): TagBeingTyped | undefined {
    const previous = this.checkedText.get(uri);
    const editedAt = this.lastEdit.get(uri);
    if (previous === undefined || editedAt === undefined || Date.now() - editedAt >= TYPING_GRACE_MS || previous === text) return undefined;
    const index = commonPrefixLength(previous, text);
    // The changed text in the new version ends where the common suffix begins.
    const suffix = commonSuffixLength(previous, text, Math.min(previous.length, text.length) - index);
    const changedEnd = text.length - suffix;
    // A quick fix that removed `, solo` (or a line) ends next to a tag without typing in it.
    if (/[,|\r\n]/.test(previous.slice(index, previous.length - suffix))) return undefined;
    // The document's line offsets find the line without a scan of the text before it.
    const { line: number, character: to } = document.positionAt(changedEnd);
    // The edit ends in a tag: `1girl, lo|` at the end of the line, `1girl, lo|, smile` in it. A typed
    // `, ` ends after the tag, which is then finished.
    const tag = parseLine(lineText(document, number), dictionary).tags.find((t) => t.start < to && to <= t.end);
    return tag ? { line: number, end: tag.end } : undefined;
  }
}

/**
 * Strings are compared a block at a time (one native comparison each) before character by character:
 * a keystroke in a 76 MB document compared its versions in ~250 ms a character at a time.
 */
const COMPARED_BLOCK = 4096;

/** How many characters `a` and `b` have in common at their start. */
export function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let index = 0;
  while (index + COMPARED_BLOCK <= limit && a.slice(index, index + COMPARED_BLOCK) === b.slice(index, index + COMPARED_BLOCK)) index += COMPARED_BLOCK;
  while (index < limit && a.charCodeAt(index) === b.charCodeAt(index)) index++;
  return index;
}

/** How many characters, at most `limit`, `a` and `b` have in common at their end. */
export function commonSuffixLength(a: string, b: string, limit: number): number {
  let suffix = 0;
  while (suffix + COMPARED_BLOCK <= limit && a.slice(a.length - suffix - COMPARED_BLOCK, a.length - suffix) === b.slice(b.length - suffix - COMPARED_BLOCK, b.length - suffix)) suffix += COMPARED_BLOCK;
  while (suffix < limit && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  return suffix;
}

/** A line break at `index`: its length (2 for `\r\n`, 1 for `\n` or a lone `\r`, as TextDocument counts them), or 0. */
function lineBreakAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code === 10) return 1;
  if (code === 13) return text.charCodeAt(index + 1) === 10 ? 2 : 1;
  return 0;
}

/** Splits text into lines as TextDocument numbers them (`\r\n`, `\n` or a lone `\r`), with native searches. */
class LineReader {
  private start = 0;
  /** The next `\r` at or after `start`, or -1: searched again only once passed. */
  private carriageReturn = -1;

  constructor(private readonly text: string) {
    this.carriageReturn = text.indexOf('\r');
  }

  /** The next line, or undefined after the last one (an empty text has one empty line). */
  next(): string | undefined {
    const text = this.text;
    if (this.start > text.length) return undefined;
    if (this.carriageReturn >= 0 && this.carriageReturn < this.start) this.carriageReturn = text.indexOf('\r', this.start);
    const newline = text.indexOf('\n', this.start);
    let end = newline < 0 ? text.length : newline;
    if (this.carriageReturn >= 0 && this.carriageReturn < end) end = this.carriageReturn;
    const line = text.slice(this.start, end);
    this.start = end + Math.max(1, lineBreakAt(text, end));
    return line;
  }
}

/** The problems of each line by its text (ranges on line 0), valid for one dictionary and settings object. */
export interface LineCache {
  dictionary?: TagDictionary;
  settings?: DiagnosticsSettings;
  lines: Map<string, Diagnostic[]>;
}

const NO_PROBLEMS: Diagnostic[] = [];

/**
 * The diagnostics of a document's text, at most MAX_PUBLISHED. `stale` is asked between slices; when
 * it says true the check stops and undefined is returned. `cache` carries each line's problems from
 * one check to the next: only lines whose text is new are checked.
 */
export async function checkDocument(text: string, dictionary: TagDictionary, settings: DiagnosticsSettings, stale: () => boolean = () => false, typing?: TagBeingTyped, cache: LineCache = { lines: new Map() }): Promise<Diagnostic[] | undefined> {
  if (cache.dictionary !== dictionary || cache.settings !== settings) {
    cache.dictionary = dictionary;
    cache.settings = settings;
    cache.lines = new Map();
  }
  const known = cache.lines;
  // This check's lines only, so that the lines of older versions are forgotten.
  const current = new Map<string, Diagnostic[]>();
  const found: { line: number; problems: Diagnostic[] }[] = [];
  const lines = new LineReader(text);
  let lineNumber = 0;
  let sliceStart = performance.now();
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    let problems: Diagnostic[];
    if (typing?.line === lineNumber) {
      // Not remembered: the same text is checked in full once typing has paused.
      problems = lineProblems(line, dictionary, settings, typing.end);
    } else {
      problems = current.get(line) ?? known.get(line) ?? lineProblems(line, dictionary, settings);
      current.set(line, problems);
    }
    if (problems.length > 0) found.push({ line: lineNumber, problems });
    lineNumber++;
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stale()) {
        // What was checked is kept for the next check, which starts over.
        for (const [line, problems] of current) known.set(line, problems);
        return undefined;
      }
      sliceStart = performance.now();
    }
  }
  cache.lines = current;
  return publishable(found);
}

/**
 * The diagnostics to send, in document order: all of them when there are at most MAX_PUBLISHED,
 * else warnings before information (what VS Code would keep) and a last one saying how many are not shown.
 */
function publishable(found: { line: number; problems: Diagnostic[] }[]): Diagnostic[] {
  let total = 0;
  let warnings = 0;
  for (const { problems } of found) {
    total += problems.length;
    for (const problem of problems) if (problem.severity === DiagnosticSeverity.Warning) warnings++;
  }
  const room = total <= MAX_PUBLISHED ? total : MAX_PUBLISHED - 1;
  let warningRoom = Math.min(warnings, room);
  let informationRoom = room - warningRoom;
  const diagnostics: Diagnostic[] = [];
  for (const { line, problems } of found) {
    for (const problem of problems) {
      const warning = problem.severity === DiagnosticSeverity.Warning;
      if (warning ? warningRoom-- <= 0 : informationRoom-- <= 0) continue;
      diagnostics.push({ ...problem, range: { start: { line, character: problem.range.start.character }, end: { line, character: problem.range.end.character } } });
    }
  }
  if (total > room) {
    const more = total - room;
    diagnostics.push({
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: DiagnosticSeverity.Information,
      source: DIAGNOSTIC_SOURCE,
      code: DiagnosticCode.MoreProblems,
      message: `${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'} in this file not shown: the first ${room.toLocaleString('en-US')} (warnings first) are listed.`,
    });
  }
  return diagnostics;
}

/**
 * The problems of one line, with ranges on line 0. `typingEnd`: the column where a tag still being
 * typed ends; it is not called unknown or an alias yet.
 */
export function lineProblems(line: string, dictionary: TagDictionary, settings: DiagnosticsSettings, typingEnd?: number): Diagnostic[] {
  if (line.trim() === '') return NO_PROBLEMS;
  const into: Diagnostic[] = [];
  const seen = new Map<string, string>();
  for (const tag of parseLine(line, dictionary).tags) {
    if (isNotATag(tag.name)) continue;
    const range = { start: { line: 0, character: tag.start }, end: { line: 0, character: tag.end } };
    const resolved = resolveCached(dictionary, tag.name);
    const beingTyped = tag.end === typingEnd;
    if (!resolved) {
      if (settings.unknownTags && !beingTyped && !knownTagSet(settings.knownTags).has(tag.name)) {
        const data: UnknownTagData = { name: tag.name };
        into.push({ range, severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.UnknownTag, message: `Unknown tag "${tag.text}": not in the Danbooru tag dictionary.`, data });
      }
      continue;
    }
    const canonical = resolved.tag.name;
    const first = seen.get(canonical);
    if (first !== undefined) {
      if (settings.duplicateTags) {
        const same = first === tag.text ? `"${tag.text}"` : `"${tag.text}" (same tag as "${first}")`;
        into.push({ range, severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.DuplicateTag, message: `Duplicate tag ${same} in this prompt.` });
      }
      continue;
    }
    seen.set(canonical, tag.text);
    if (resolved.viaAlias !== undefined && settings.aliasTags && !beingTyped) {
      const data: AliasData = { canonical };
      into.push({ range, severity: DiagnosticSeverity.Information, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.AliasTag, message: `"${tag.text}" is an alias (deprecated name) of "${canonical}".`, data });
    }
  }
  return into.length > 0 ? into : NO_PROBLEMS;
}
