// The converter: source (file, gunzip) -> records (JSONL lines or a JSON array) -> schema adapter ->
// filters -> writer. Each stage lives in its own module; this one wires them per file, counts what
// happened, and owns the run (temporary output, strict mode, cancellation, progress).
import { PostIdSet, skipReason, skipReasonOf, type FilterOptions } from './filters';
import { PostFormatter, formatTagCounts, type TagCounter } from './format';
import { isJsonSpace, JsonArraySplitter } from './json-array';
import { JsonLinesScanner, type FastRecord } from './json-lines';
import { LineSplitter } from './lines';
import { AtomicFile, removeStaleTempFiles } from './output';
import { PostAdapter, isRecordProblem, type Post } from './schema';
import { checkOutputPath, findInputFiles, isGzipError, isSamePath, isTruncatedGzipError, openInput, throughLink, type InputFile } from './source';
import {
  ConvertUsageError,
  StrictModeError,
  TAG_CATEGORIES,
  etaSeconds,
  isNote,
  type ConversionCounts,
  type ConvertHooks,
  type ConvertOptions,
  type ConvertProgress,
  type ConvertSummary,
  type InputProblem,
  type OutputFormat,
  type ProblemReason,
  type SkipReason,
  type TagCategory,
  type TagOrder,
} from './types';

export const FIRST_PROBLEMS_KEPT = 20;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Options with every default filled in and every value checked; plain data, so it can go to a worker. */
export interface ResolvedOptions {
  output: string;
  countsOutput: string;
  format: OutputFormat;
  categories: TagCategory[];
  order: TagOrder;
  seed: number;
  minTags: number;
  ratings: string[] | undefined;
  excludeDeleted: boolean;
  minScore: number | undefined;
  limit: number;
  dedupe: boolean;
  strict: boolean;
  workers: number;
  maxLineBytes: number;
  workerScript: string | undefined;
  fastJsonLines: boolean;
  writeEmpty: boolean;
}

export function resolveOptions(options: ConvertOptions): ResolvedOptions {
  const format = options.format ?? 'txt';
  if (format !== 'txt' && format !== 'jsonl') throw new ConvertUsageError(`--format must be txt or jsonl, got "${String(format)}"`);
  const order = options.order ?? 'keep';
  if (order !== 'keep' && order !== 'shuffle' && order !== 'sort') {
    throw new ConvertUsageError(`--order must be keep, shuffle or sort, got "${String(order)}"`);
  }
  const categories = options.categories ?? ['general'];
  if (categories.length === 0) throw new ConvertUsageError('--categories needs at least one category');
  for (const category of categories) {
    if (!Object.hasOwn(TAG_CATEGORIES, category)) {
      throw new ConvertUsageError(`unknown tag category "${category}" (known: ${Object.keys(TAG_CATEGORIES).join(', ')})`);
    }
  }
  const wholeNumber = (value: number | undefined, name: string, min: number, fallback: number, max?: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
      const range = max === undefined ? `a whole number >= ${min}` : `an integer in ${min}..${max}`;
      const why = Number.isInteger(value) && !Number.isSafeInteger(value) ? ' (too large to be counted exactly)' : '';
      throw new ConvertUsageError(`${name} must be ${range}, got ${value}${why}`);
    }
    return value;
  };
  if (!options.output) throw new ConvertUsageError('no output given (-o OUT)');
  if (options.countsOutput === '') throw new ConvertUsageError('no tag-count table given (--counts FILE)');
  if (options.minScore !== undefined && !Number.isFinite(options.minScore)) throw new ConvertUsageError('--min-score must be a number');
  return {
    output: options.output,
    countsOutput: options.countsOutput ?? `${options.output}.counts.csv`,
    format,
    categories: [...new Set(categories)],
    order,
    // 32 bits, as `sample`'s (the PRNG's): a larger seed would wrap onto a smaller one (2^32 shuffled as 0 does).
    seed: wholeNumber(options.seed, '--seed', 0, 0, 2 ** 32 - 1),
    // 0 would keep nothing more: a post with no kept tag is an empty line, which no trainer reads.
    minTags: wholeNumber(options.minTags, '--min-tags', 1, 1),
    ratings: options.ratings?.length ? options.ratings : undefined,
    excludeDeleted: options.excludeDeleted ?? false,
    minScore: options.minScore,
    limit: options.limit === undefined ? Infinity : wholeNumber(options.limit, '--limit', 1, 1),
    dedupe: options.dedupe ?? true,
    strict: options.strict ?? false,
    workers: wholeNumber(options.workers, '--workers', 1, 1),
    maxLineBytes: wholeNumber(options.maxLineBytes, 'max line bytes', 1024, DEFAULT_MAX_LINE_BYTES),
    workerScript: options.workerScript,
    fastJsonLines: options.fastJsonLines ?? true,
    writeEmpty: options.writeEmpty ?? true,
  };
}

/** Where the posts that pass go: the dataset file, or a worker's part file. */
export interface PostSink {
  write(post: Post, line: string): void;
  /** A line already encoded, its "\n" included: bytes[start, end). */
  writeBytes(id: number | undefined, bytes: Buffer, start: number, end: number): void;
  needsDrain(): boolean;
  drain(): Promise<void>;
}

export function datasetSink(file: AtomicFile): PostSink {
  return {
    write: (_post, line) => file.writeLine(line),
    writeBytes: (_id, bytes, start, end) => file.writeBytes(bytes, start, end),
    needsDrain: () => file.needsDrain(),
    drain: () => file.drain(),
  };
}

export type { ConversionCounts };

export function emptyCounts(): ConversionCounts {
  return {
    bytesRead: 0,
    bytesParsed: 0,
    postsRead: 0,
    postsWritten: 0,
    skipped: { 'no-kept-tags': 0, 'too-few-tags': 0, rating: 0, deleted: 0, score: 0, duplicate: 0 },
    problems: {},
    badRecords: 0,
    firstProblems: [],
    stoppedAtLimit: false,
  };
}

/** Runs files through the stages into one sink, counting everything. */
export class Conversion {
  readonly counts = emptyCounts();
  readonly formatter: PostFormatter;
  private readonly adapter: PostAdapter;
  private readonly filter: FilterOptions;
  private readonly seenIds = new PostIdSet();
  private scanner: JsonLinesScanner | undefined;
  private readonly started = performance.now();
  private lastProgressAt = 0;
  private completedFileBytes = 0;
  private current: { file: InputFile; bytesRead: () => number } | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly sink: PostSink,
    private readonly hooks: ConvertHooks,
    private readonly bytesTotal: number,
  ) {
    this.adapter = new PostAdapter(options.categories, options.format === 'txt');
    this.formatter = new PostFormatter(options);
    this.filter = {
      minTags: options.minTags,
      ratings: options.ratings ? new Set(options.ratings) : undefined,
      excludeDeleted: options.excludeDeleted,
      minScore: options.minScore,
    };
  }

  get stopped(): boolean {
    return this.counts.stoppedAtLimit;
  }

  /** Converts one file; `fileIndex`: its place among the run's inputs (a post without an id is shuffled by it and its place in the file). */
  async convertFile(file: InputFile, fileIndex: number): Promise<void> {
    this.hooks.signal?.throwIfAborted();
    this.formatter.startFile(fileIndex);
    const input = await openInput(file.path).catch((error: unknown) => {
      throw withFileName(error, `cannot read ${file.path}`);
    });
    this.current = { file, bytesRead: input.bytesRead };
    const iterator = input.chunks[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    // Lines/items reached, so that a gzip error can say where the data stopped.
    const position: Position = { value: 0, unit: 'line', fileLine: undefined, onTruncatedTail: undefined };
    try {
      if (input.unsupportedCompression !== undefined) {
        this.problem(file.path, 1, 'line', 'unsupported-compression', `unsupported compression (${input.unsupportedCompression}); decompress it first (file skipped)`);
        return;
      }
      const head = await readHead(iterator, this.options.maxLineBytes, !nameDecidesFormat(file.path));
      if (isJsonArray(file.path, head) || head.firstLineOpensObject) {
        position.unit = 'item';
        await this.convertJsonArray(file.path, head, iterator, position, head.firstLineOpensObject);
      } else {
        await this.convertJsonLines(file.path, head, iterator, position);
      }
    } catch (error) {
      if (!isGzipError(error)) throw withFileName(error, `cannot read ${file.path}`);
      if (isTruncatedGzipError(error)) {
        const tailReported = position.onTruncatedTail?.() ?? false;
        if (!tailReported) this.problem(file.path, position.value + 1, position.unit, 'truncated-gzip', 'the gzip data ends early (file cut short?); everything before is kept', position.fileLine);
      } else {
        this.problem(file.path, position.value + 1, position.unit, 'corrupt-gzip', `cannot decompress from here on (${(error as Error).message}); everything before is kept`, position.fileLine);
      }
    } finally {
      this.completedFileBytes += input.bytesRead();
      input.close();
      this.counts.bytesRead = this.completedFileBytes;
      this.current = undefined;
    }
  }

  private async convertJsonLines(file: string, head: Head, iterator: AsyncIterator<Buffer>, position: Position): Promise<void> {
    let inTruncatedTail = false;
    let tailReported = false;
    // The fast path writes txt lines of one category in metadata order (the default); other formats,
    // orders and several categories need the tag lists, which the ordinary path builds.
    const options = this.options;
    const fast = options.fastJsonLines && options.format === 'txt' && options.order === 'keep' && options.categories.length === 1;
    const splitter = new LineSplitter(
      {
        fastLine: (record) => this.convertFastRecord(record),
        line: (text, lineNumber) => {
          if (this.counts.stoppedAtLimit) return;
          let record: unknown;
          try {
            record = JSON.parse(text);
          } catch (error) {
            if (inTruncatedTail) {
              tailReported = true;
              this.problem(file, lineNumber, 'line', 'truncated-gzip', 'the gzip data ends in the middle of this line (skipped); everything before is kept');
            } else this.problem(file, lineNumber, 'line', jsonErrorReason(text, error), (error as Error).message);
            return;
          }
          this.convertRecord(record, file, lineNumber, 'line');
        },
        problem: (lineNumber, reason, detail) => this.problem(file, lineNumber, 'line', reason, detail),
      },
      options.maxLineBytes,
      fast ? (this.scanner ??= new JsonLinesScanner(options.categories[0], options.maxLineBytes)) : undefined,
    );
    position.onTruncatedTail = () => {
      inTruncatedTail = true;
      splitter.end();
      position.value = splitter.lineNumber;
      return tailReported;
    };
    const signal = this.hooks.signal;
    for await (const chunk of remainingChunks(head, iterator)) {
      signal?.throwIfAborted();
      splitter.push(chunk);
      position.value = splitter.lineNumber;
      this.counts.bytesParsed += chunk.length;
      if (this.counts.stoppedAtLimit) return;
      this.maybeReportProgress();
      if (this.sink.needsDrain()) await this.sink.drain();
    }
    splitter.end();
    position.value = splitter.lineNumber;
  }

  /** `values`: JSON values one after another (posts saved pretty-printed), not an array (JsonArraySplitter). */
  private async convertJsonArray(file: string, head: Head, iterator: AsyncIterator<Buffer>, position: Position, values = false): Promise<void> {
    if (head.bom) {
      head.chunks[0] = head.chunks[0].subarray(3);
      this.problem(file, 1, 'line', 'bom', 'byte-order mark at the start of the file (removed)');
    }
    const splitter = new JsonArraySplitter(
      {
        item: (value, itemNumber, line) => this.convertRecord(value, file, itemNumber, 'item', line),
        problem: (itemNumber, line, reason, detail) => {
          if (itemNumber === undefined) this.problem(file, line, 'line', reason, detail);
          else this.problem(file, itemNumber, 'item', reason, detail, line);
        },
      },
      this.options.maxLineBytes,
      values,
    );
    const signal = this.hooks.signal;
    for await (const chunk of remainingChunks(head, iterator)) {
      signal?.throwIfAborted();
      splitter.push(chunk);
      position.value = splitter.itemsDone;
      position.fileLine = splitter.line;
      this.counts.bytesParsed += chunk.length;
      if (this.counts.stoppedAtLimit || splitter.stopped) return;
      this.maybeReportProgress();
      if (this.sink.needsDrain()) await this.sink.drain();
    }
    splitter.end();
  }

  /** convertRecord for a line the fast path read: same filters, dedupe, counts and output, from bytes. */
  private convertFastRecord(record: FastRecord): void {
    const counts = this.counts;
    if (counts.stoppedAtLimit) return;
    counts.postsRead++;
    if (this.skipped(skipReasonOf(record, record.tagCount, this.filter)) || this.isDuplicate(record.id)) return;
    this.formatter.tagCounts.addJoinedBytes(record.bytes, record.start, record.end - 1, record.tagCount);
    this.sink.writeBytes(record.id, record.bytes, record.start, record.end);
    this.countWritten();
  }

  /** Counts a filter's reason to skip a post; true when there is one. */
  private skipped(reason: SkipReason | undefined): boolean {
    if (reason === undefined) return false;
    this.counts.skipped[reason]++;
    return true;
  }

  /** Whether a post with this id was written already (counted as a duplicate); otherwise notes the id. */
  private isDuplicate(id: number | undefined): boolean {
    if (!this.options.dedupe || id === undefined || this.seenIds.add(id)) return false;
    this.counts.skipped.duplicate++;
    return true;
  }

  private countWritten(): void {
    if (++this.counts.postsWritten >= this.options.limit) this.counts.stoppedAtLimit = true;
  }

  private convertRecord(record: unknown, file: string, line: number, unit: 'line' | 'item', fileLine?: number): void {
    if (this.counts.stoppedAtLimit) return;
    const post = this.adapter.adapt(record);
    if (isRecordProblem(post)) {
      this.problem(file, line, unit, post.reason, post.detail, fileLine);
      return;
    }
    const counts = this.counts;
    counts.postsRead++;
    if (this.skipped(skipReason(post, this.filter))) return;
    const text = this.formatter.format(post);
    if (this.isDuplicate(post.id)) return;
    this.formatter.count(post, text);
    this.sink.write(post, text);
    this.countWritten();
  }

  problem(file: string, line: number, unit: 'line' | 'item', reason: ProblemReason, detail: string, fileLine?: number): void {
    // Past --limit the splitters still go through the rest of their chunk: what is there was not asked for.
    if (this.counts.stoppedAtLimit) return;
    const problem: InputProblem = fileLine === undefined ? { file, line, unit, reason, detail } : { file, line, unit, fileLine, reason, detail };
    const counts = this.counts;
    counts.problems[reason] = (counts.problems[reason] ?? 0) + 1;
    const note = isNote(reason);
    if (!note) counts.badRecords++;
    if (counts.firstProblems.length < FIRST_PROBLEMS_KEPT) counts.firstProblems.push(problem);
    this.hooks.onProblem?.(problem);
    if (this.options.strict && !note) throw new StrictModeError(problem);
  }

  progress(): ConvertProgress {
    const elapsedSeconds = (performance.now() - this.started) / 1000;
    const bytesRead = this.completedFileBytes + (this.current?.bytesRead() ?? 0);
    const postsPerSecond = elapsedSeconds > 0 ? this.counts.postsRead / elapsedSeconds : 0;
    return {
      bytesRead,
      bytesTotal: this.bytesTotal,
      postsRead: this.counts.postsRead,
      postsWritten: this.counts.postsWritten,
      elapsedSeconds,
      postsPerSecond,
      etaSeconds: etaSeconds(bytesRead, this.bytesTotal, elapsedSeconds),
      currentFile: this.current?.file.path,
    };
  }

  maybeReportProgress(force = false): void {
    const onProgress = this.hooks.onProgress;
    if (onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - this.lastProgressAt < (this.hooks.progressIntervalMs ?? 100)) return;
    this.lastProgressAt = now;
    onProgress(this.progress());
  }
}

/** A system error (EIO, EACCES…) says which call failed but not on which file: prefix it. */
export function withFileName(error: unknown, prefix: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (!(error instanceof Error) || typeof code !== 'string' || code.startsWith('Z_')) return error;
  const wrapped = new Error(`${prefix}: ${error.message}`, { cause: error });
  (wrapped as Error & { code: string }).code = code;
  return wrapped;
}

interface Position {
  value: number;
  unit: 'line' | 'item';
  /** For an array: the file line reached. */
  fileLine: number | undefined;
  onTruncatedTail: (() => boolean) | undefined;
}

/** The chunks read while looking at the file's start, then the rest of the file. */
async function* remainingChunks(head: Head, iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (let chunk = head.chunks.shift(); chunk !== undefined; chunk = head.chunks.shift()) yield chunk;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
}

interface Head {
  /** Chunks read while looking at the start of the file. */
  chunks: Buffer[];
  firstByte: number | undefined;
  bom: boolean;
  /** When the file opens with "[": whether its first line is on its own a JSON value with more lines after it. */
  firstLineIsValue: boolean;
  /**
   * Whether the first line is a "{" alone: an object written over several lines (a post saved
   * pretty-printed), never a JSON line, which holds a whole object.
   */
  firstLineOpensObject: boolean;
}

const JSON_LINES_NAME = /\.(jsonl|ndjson)(\.gz)?$/i;
const JSON_NAME = /\.json(\.gz)?$/i;
/** How far to look for the end of the first line when telling a JSON array from JSON lines by content. */
const SNIFF_BYTES = 1 << 20;

/** A .jsonl/.ndjson file is JSON lines whatever its first line holds; a .json one opening with "[" is an
 * array; any other name opening with "[" is an array unless its first line is a whole value with more after. */
function isJsonArray(file: string, head: Head): boolean {
  if (head.firstByte !== 0x5b /* [ */ || JSON_LINES_NAME.test(file)) return false;
  return JSON_NAME.test(file) || !head.firstLineIsValue;
}

/** Whether the file's name alone says JSON lines or JSON (only other names are told apart by content). */
function nameDecidesFormat(file: string): boolean {
  return JSON_LINES_NAME.test(file) || JSON_NAME.test(file);
}

/**
 * Reads up to the first byte that is not whitespace (and, when it is "[" and `sniffFirstLine`, a
 * little further: see Head).
 */
async function readHead(iterator: AsyncIterator<Buffer>, maxLineBytes: number, sniffFirstLine: boolean): Promise<Head> {
  const chunks: Buffer[] = [];
  let bom = false;
  let first = -1;
  while (first === -1) {
    const next = await iterator.next();
    if (next.done) return { chunks, firstByte: undefined, bom, firstLineIsValue: false, firstLineOpensObject: false };
    const chunk = next.value;
    if (chunks.length === 0 && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) bom = true;
    chunks.push(chunk);
    for (let i = chunks.length === 1 && bom ? 3 : 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (!isJsonSpace(byte)) {
        first = byte;
        break;
      }
    }
  }
  const head: Head = { chunks, firstByte: first, bom, firstLineIsValue: false, firstLineOpensObject: false };
  if (first === 0x7b /* { */) {
    head.firstLineOpensObject = await opensLineAlone(head, iterator);
    return head;
  }
  if (first !== 0x5b || !sniffFirstLine) return head;
  // The JSON-array reader is given the file without its BOM; the JSONL reader notes the BOM itself.
  const data = (): Buffer => Buffer.concat(chunks);
  let text = data();
  const start = text.indexOf(0x5b);
  let newline = text.indexOf(0x0a, start);
  while (newline === -1 && text.length < Math.min(SNIFF_BYTES, maxLineBytes)) {
    const next = await iterator.next();
    if (next.done) break;
    chunks.push(next.value);
    text = data();
    newline = text.indexOf(0x0a, start);
  }
  if (newline !== -1) {
    let rest = text.subarray(newline + 1).findIndex((byte) => !isJsonSpace(byte));
    while (rest === -1) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
      text = data();
      rest = text.subarray(newline + 1).findIndex((byte) => !isJsonSpace(byte));
    }
    head.firstLineIsValue = rest !== -1 && parsesAsJson(text.toString('utf8', start, newline));
  }
  return head;
}

/** Whether the head's first "{" is followed by nothing but spaces up to the line's end (reads on as needed). */
async function opensLineAlone(head: Head, iterator: AsyncIterator<Buffer>): Promise<boolean> {
  let text = Buffer.concat(head.chunks);
  for (let at = text.indexOf(0x7b) + 1; ; at++) {
    while (at >= text.length) {
      const next = await iterator.next();
      if (next.done) return false;
      head.chunks.push(next.value);
      text = Buffer.concat(head.chunks);
    }
    if (text[at] === 0x0a) return true;
    if (!isJsonSpace(text[at]!)) return false;
  }
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A line that opens like JSON and fails only where it ends was cut short; anything else is not JSON. */
function jsonErrorReason(text: string, error: unknown): ProblemReason {
  const message = error instanceof Error ? error.message : '';
  const opensLikeJson = text.charCodeAt(0) === 0x7b || text.charCodeAt(0) === 0x5b;
  const position = /at position (\d+)/.exec(message);
  const failsAtEnd = /Unexpected end of JSON input|Unterminated string/.test(message) || (position !== null && Number(position[1]) >= text.trimEnd().length);
  return opensLikeJson && failsAtEnd ? 'truncated-json' : 'invalid-json';
}

/** Converts the inputs into the dataset and its tag-count table; see ConvertOptions. */
export async function convertMetadata(options: ConvertOptions, hooks: ConvertHooks = {}): Promise<ConvertSummary> {
  const resolved = resolveOptions(options);
  // An output that is a link is written through (as `>` does): renamed over, the link became a file
  // and the dataset it points to stayed as it was. (The count table's name is the typed output's.)
  resolved.output = await throughLink(resolved.output);
  resolved.countsOutput = await throughLink(resolved.countsOutput);
  const files = await findInputFiles(options.inputs);
  await checkOutputPath(resolved.output, files, 'output');
  await checkOutputPath(resolved.countsOutput, files, 'tag-count table');
  if (await isSamePath(resolved.countsOutput, resolved.output)) throw new ConvertUsageError('the tag-count table cannot be the output itself');
  hooks.signal?.throwIfAborted();
  // What an earlier run of this machine left when its process went (said in the summary).
  const staleRemoved = [...await removeStaleTempFiles(resolved.output), ...await removeStaleTempFiles(resolved.countsOutput)];
  // Under --limit the files are read in order until the limit: parallel parts would read (and report,
  // and fail --strict on) posts past it.
  let summary: ConvertSummary;
  if (resolved.workers > 1 && files.length > 1 && resolved.limit === Infinity) {
    const { convertInParallel } = await import('./parallel');
    summary = await convertInParallel(resolved, files, hooks);
  } else {
    summary = await convertSerially(resolved, files, hooks);
  }
  return staleRemoved.length > 0 ? { ...summary, staleTempFilesRemoved: staleRemoved } : summary;
}

async function convertSerially(options: ResolvedOptions, files: InputFile[], hooks: ConvertHooks): Promise<ConvertSummary> {
  const started = performance.now();
  const output = await AtomicFile.create(options.output);
  let counts: AtomicFile | undefined;
  try {
    const conversion = new Conversion(options, datasetSink(output), hooks, totalBytes(files));
    let filesRead = 0;
    for (const [fileIndex, file] of files.entries()) {
      await conversion.convertFile(file, fileIndex);
      filesRead++;
      if (conversion.stopped) break;
    }
    conversion.maybeReportProgress(true);
    if (!writesOutputs(options, conversion.counts)) {
      await output.discard();
      return summarize(options, files, conversion.counts, conversion.formatter, started, false, filesRead);
    }
    counts = await writeTagCounts(options.countsOutput, conversion.formatter.tagCounts);
    await AtomicFile.commitTogether([output, counts]);
    return summarize(options, files, conversion.counts, conversion.formatter, started, true, filesRead);
  } catch (error) {
    await output.discard();
    await counts?.discard();
    throw error;
  }
}

export async function writeTagCounts(target: string, tagCounts: TagCounter): Promise<AtomicFile> {
  const file = await AtomicFile.create(target);
  try {
    for (const line of formatTagCounts(tagCounts)) {
      file.writeLine(line);
      if (file.needsDrain()) await file.drain();
    }
    return file;
  } catch (error) {
    await file.discard();
    throw error;
  }
}

/** Whether the run's outputs replace the targets: always, unless it wrote no post and was told to keep them then. */
export function writesOutputs(options: ResolvedOptions, counts: ConversionCounts): boolean {
  return options.writeEmpty || counts.postsWritten > 0;
}

export function totalBytes(files: readonly InputFile[]): number {
  return files.reduce((sum, file) => sum + file.bytes, 0);
}

export function summarize(options: ResolvedOptions, files: InputFile[], counts: ConversionCounts, formatter: PostFormatter, started: number, outputsWritten = true, filesRead = files.length): ConvertSummary {
  return {
    output: options.output,
    countsOutput: options.countsOutput,
    outputsWritten,
    files: files.map((file) => file.path),
    filesRead,
    bytesRead: counts.bytesRead,
    bytesParsed: counts.bytesParsed,
    postsRead: counts.postsRead,
    postsWritten: counts.postsWritten,
    skipped: counts.skipped,
    problems: counts.problems,
    badRecords: counts.badRecords,
    firstProblems: counts.firstProblems,
    tagsWritten: formatter.tagCounts.total,
    distinctTags: formatter.tagCounts.distinct,
    stoppedAtLimit: counts.stoppedAtLimit,
    seconds: (performance.now() - started) / 1000,
  };
}
