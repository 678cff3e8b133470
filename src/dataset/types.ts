// Shared vocabulary of the converter: options, problems, progress and the summary it returns.

/** Danbooru tag categories by name, with the numeric ids the metadata uses. */
export const TAG_CATEGORIES = { general: 0, artist: 1, copyright: 3, character: 4, meta: 5 } as const;
export type TagCategory = keyof typeof TAG_CATEGORIES;

export type OutputFormat = 'txt' | 'jsonl';
export type TagOrder = 'keep' | 'shuffle' | 'sort';

export interface ConvertOptions {
  /** Files or folders (searched recursively for .jsonl/.json and their .gz). */
  inputs: string[];
  /** The dataset file to write (through a temporary file beside it). */
  output: string;
  /** Where the `name,count` table goes; default `OUTPUT.counts.csv`. */
  countsOutput?: string;
  format?: OutputFormat;
  /** Categories kept, in output order; default ['general']. */
  categories?: TagCategory[];
  order?: TagOrder;
  /** Seed for `order: 'shuffle'`; the shuffle of a post depends only on the seed and its id. */
  seed?: number;
  /** Posts with fewer kept tags are skipped (default 1: a post with no kept tag is skipped). */
  minTags?: number;
  /** Ratings kept as written in the metadata (g/s/q/e; older dumps: s/q/e). */
  ratings?: string[];
  excludeDeleted?: boolean;
  minScore?: number;
  /** Stop after writing this many posts. */
  limit?: number;
  /** Skip a post whose id was already written (default true). */
  dedupe?: boolean;
  /** The first problem that loses data ends the run with a StrictModeError. */
  strict?: boolean;
  /** Worker threads for converting several files at once (default 1: on this thread). */
  workers?: number;
  /** A line longer than this is skipped and reported (default 64 MiB), so memory stays bounded. */
  maxLineBytes?: number;
  /** Path of dist/convert-worker.js when the default lookup beside this bundle does not fit. */
  workerScript?: string;
  /**
   * Read JSONL through the WebAssembly fast path where it applies (default true); false sends every
   * line through JSON.parse. The output is the same either way (tests compare the two).
   */
  fastJsonLines?: boolean;
  /**
   * Whether a run that wrote no post still writes its (empty) outputs (default true: the dataset is
   * what the input held). false leaves both files as they were, an older dataset included.
   */
  writeEmpty?: boolean;
}

/** Why an input line (or a whole file) could not be used as it is. */
export type ProblemReason =
  | 'invalid-json'
  | 'truncated-json'
  | 'not-an-object'
  | 'missing-tags'
  | 'wrong-type'
  | 'invalid-utf8'
  | 'line-too-long'
  | 'truncated-gzip'
  | 'corrupt-gzip'
  | 'unsupported-compression'
  | 'bom'
  | 'crlf'
  | 'empty-line';

/** The file names the converter reads in a folder (`.jsonl`, `.ndjson`, `.json`, each maybe `.gz`). */
export const METADATA_FILE_NAME = /\.(jsonl|ndjson|json)(\.gz)?$/i;
/** The files a folder's conversion takes: metadata files, and those in a compression not read (reported, not left out silently). */
export const FOLDER_FILE_NAME = /\.(jsonl|ndjson|json)(\.(gz|xz|zst|bz2))?$/i;

/** Problems that only note something about the input; the post on that line is still converted. */
export const NOTE_REASONS: ReadonlySet<ProblemReason> = new Set<ProblemReason>(['bom', 'crlf', 'empty-line']);

export interface InputProblem {
  file: string;
  /** 1-based line for JSONL; for a JSON array, the 1-based item number (see `unit`). */
  line: number;
  unit: 'line' | 'item';
  /** For an item: the file line it starts on, or where its syntax error is. */
  fileLine?: number;
  reason: ProblemReason;
  detail: string;
}

/** Why a well-formed post was not written. */
export type SkipReason = 'no-kept-tags' | 'too-few-tags' | 'rating' | 'deleted' | 'score' | 'duplicate';

export interface ConvertProgress {
  /** Bytes read from disk (compressed bytes for .gz) and their total. */
  bytesRead: number;
  bytesTotal: number;
  postsRead: number;
  postsWritten: number;
  elapsedSeconds: number;
  postsPerSecond: number;
  /** Seconds left at the rate so far; undefined in the first seconds (see etaSeconds). */
  etaSeconds: number | undefined;
  currentFile: string | undefined;
}

/** Counters and problems of a conversion (or of one worker's share of it). */
export interface ConversionCounts {
  bytesRead: number;
  /** Uncompressed bytes parsed (equals bytesRead for plain files). */
  bytesParsed: number;
  /** Well-formed posts read. */
  postsRead: number;
  postsWritten: number;
  skipped: Record<SkipReason, number>;
  /** Every problem, counted by reason (bad lines and notes). */
  problems: Partial<Record<ProblemReason, number>>;
  /** Problems that lost the record (all reasons except notes). */
  badRecords: number;
  /** The first problems, in the order met (at most 20). */
  firstProblems: InputProblem[];
  stoppedAtLimit: boolean;
}

export interface ConvertSummary extends ConversionCounts {
  output: string;
  countsOutput: string;
  /** False when nothing was written (`writeEmpty: false` and no post passed): the outputs are as they were. */
  outputsWritten: boolean;
  files: string[];
  /** How many of `files` were read: fewer when --limit was reached before the last. */
  filesRead: number;
  tagsWritten: number;
  distinctTags: number;
  seconds: number;
  /** Temporary files of the outputs that a run of this machine left when its process went, removed. */
  staleTempFilesRemoved?: string[];
}

export interface ConvertHooks {
  signal?: AbortSignal;
  onProgress?: (progress: ConvertProgress) => void;
  /** Called for every problem, notes included. */
  onProblem?: (problem: InputProblem) => void;
  /** Minimum milliseconds between two onProgress calls (default 100). */
  progressIntervalMs?: number;
}

/** The input broke a rule the caller chose to enforce (`--strict`); the output was not written. */
export class StrictModeError extends Error {
  constructor(readonly problem: InputProblem) {
    super(`strict mode: ${formatProblem(problem)}`);
    this.name = 'StrictModeError';
  }
}

/** The request cannot be run as given (bad option, missing input, output = input). */
export class ConvertUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertUsageError';
  }
}

export function formatProblem(problem: InputProblem): string {
  if (problem.unit === 'line') return `${problem.file}:${problem.line}: ${problem.reason}: ${problem.detail}`;
  // FILE:LINE: reason: first, like a JSONL line, so that one pattern reads both.
  if (problem.fileLine !== undefined) return `${problem.file}:${problem.fileLine}: ${problem.reason}: item ${problem.line}: ${problem.detail}`;
  return `${problem.file}: item ${problem.line}: ${problem.reason}: ${problem.detail}`;
}

export function isNote(reason: ProblemReason): boolean {
  return NOTE_REASONS.has(reason);
}

/** Seconds of a conversion before its time left is estimated. */
export const ETA_AFTER_SECONDS = 2;

/**
 * The seconds left at the rate so far; undefined in the first ETA_AFTER_SECONDS or before anything
 * was read: the first reports come after the first slices, read ahead of their decompression (a 6 GB
 * gzipped input said "about 1 s left" at its start, 20 s before its end).
 */
export function etaSeconds(bytesRead: number, bytesTotal: number, elapsedSeconds: number): number | undefined {
  if (bytesRead >= bytesTotal && bytesTotal > 0) return 0;
  if (elapsedSeconds < ETA_AFTER_SECONDS || bytesRead <= 0) return undefined;
  return (Math.max(0, bytesTotal - bytesRead) * elapsedSeconds) / bytesRead;
}
