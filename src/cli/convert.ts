// `danbooru-gpt convert INPUT... -o OUT`: metadata dumps -> tag dataset, with a progress bar on a TTY.
import os from 'node:os';
import { convertMetadata } from '../dataset/convert';
import { parseCommandArgs } from './args';
import { describeSummary, formatProblem, problemsTotal } from '../dataset/report';
import { ConvertUsageError, StrictModeError, TAG_CATEGORIES, type ConvertOptions, type ConvertProgress, type TagCategory } from '../dataset/types';

export const convertUsage = `usage: danbooru-gpt convert INPUT... -o OUT [options]

Converts Danbooru metadata (gwern "tags":[{name,category}] or API "tag_string_*" posts; JSONL or a JSON
array; .gz accepted; folders searched recursively) into a tag dataset: one post a line, its tags joined
by "," in the metadata's order. Also writes OUT.counts.csv: "name,count" (header line, then tags by
count, most frequent first): the vocabulary the dataset offers, to choose training's --min-count by
(training counts its vocabulary over its own training split, so validation posts stay out of it).

options:
  -o, --output OUT        dataset file to write (written to a temporary file, renamed when complete)
  --format txt|jsonl      txt (default): tags only; jsonl: {"id","rating","score","tags":{category:[...]}}
  --categories LIST       categories kept, in output order: general (default), artist, copyright,
                          character, meta (names or numbers 0,1,3,4,5)
  --order keep|shuffle|sort   tag order in a post (default keep); shuffle depends on --seed and the post id
  --seed N                seed for --order shuffle, 0..4294967295 (default 0)
  --min-tags N            skip posts with fewer kept tags, at least 1 (default 1: posts with no kept
                          tag are skipped)
  --rating LIST           keep only these ratings, as written in the metadata (g,s,q,e; older dumps s,q,e)
  --exclude-deleted       skip posts marked is_deleted
  --min-score N           skip posts with a lower score, or none (negative too: --min-score -5)
  --limit N               stop after writing N posts
  --no-dedupe             keep posts whose id was already written (default: dumps overlap, so drop them)
  --strict                stop at the first bad line (exit 1, nothing written)
  --workers N             convert up to N files at once in worker threads (default 1; at most the
                          CPUs there are; with --limit, one: the files are read in order, and only
                          until the limit)
  --counts FILE           where the tag-count table goes (default OUT.counts.csv)
  --quiet                 no progress bar, no problem lines; the summary only
  -h, --help              this text

Bad lines never stop the run: each is counted by reason and the first 20 are printed as
FILE:LINE: reason: detail. Exit code: 0 done (even with bad lines), 1 --strict failure or I/O error,
2 usage error, 130 interrupted (Ctrl-C, SIGTERM), 129 SIGHUP (both remove the temporary output).
`;

const CATEGORY_BY_NUMBER = new Map<string, TagCategory>(Object.entries(TAG_CATEGORIES).map(([name, id]) => [String(id), name as TagCategory]));
const PRINTED_PROBLEMS = 20;

export async function runConvert(args: string[]): Promise<number> {
  let options: ConvertOptions;
  let quiet: boolean;
  try {
    const parsed = parseCommandLine(args);
    if (parsed === 'help') {
      process.stdout.write(convertUsage);
      return 0;
    }
    ({ options, quiet } = parsed);
  } catch (error) {
    return usageError(error);
  }

  const bar = !quiet && process.stderr.isTTY ? new ProgressBar() : undefined;
  let printed = 0;
  // Ctrl-C, kill and a closed terminal cancel: the engine removes its temporary files before the process exits.
  const cancel = new AbortController();
  let exitCode = 130;
  const onInterrupt = (signal: NodeJS.Signals): void => {
    if (cancel.signal.aborted) return;
    exitCode = signal === 'SIGHUP' ? 129 : 130;
    cancel.abort(new DOMException('interrupted', 'AbortError'));
  };
  // Every signal, not once: a second Ctrl-C while the temporary files are removed would kill the
  // process (Node's default) and leave them.
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  process.on('SIGHUP', onInterrupt);
  try {
    const summary = await convertMetadata(options, {
      signal: cancel.signal,
      onProgress: bar ? (progress) => bar.update(progress) : undefined,
      onProblem: (problem) => {
        if (quiet) return;
        if (printed >= PRINTED_PROBLEMS) return;
        printed++;
        bar?.clear();
        process.stderr.write(`${formatProblem(problem)}\n`);
      },
      progressIntervalMs: 200,
    });
    bar?.clear();
    // Counted from the summary: with --workers, problems past a file's first 1,000 are counted, not passed on.
    const unprinted = quiet ? 0 : problemsTotal(summary) - printed;
    if (unprinted > 0) process.stderr.write(`... and ${unprinted} more problems (counted below)\n`);
    process.stdout.write(describeSummary(summary));
    return 0;
  } catch (error) {
    bar?.clear();
    if (cancel.signal.aborted) {
      process.stderr.write('danbooru-gpt convert: interrupted; nothing was written\n');
      return exitCode;
    }
    if (error instanceof ConvertUsageError) return usageError(error);
    if (error instanceof StrictModeError) {
      process.stderr.write(`danbooru-gpt convert: ${error.message}\nnothing was written (--strict)\n`);
      return 1;
    }
    process.stderr.write(`danbooru-gpt convert: ${error instanceof Error ? error.message : String(error)}\nnothing was written\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onInterrupt);
    process.removeListener('SIGHUP', onInterrupt);
  }
}

function usageError(error: unknown): number {
  process.stderr.write(`danbooru-gpt convert: ${error instanceof Error ? error.message : String(error)}\n(see: danbooru-gpt convert --help)\n`);
  return 2;
}

function parseCommandLine(args: string[]): { options: ConvertOptions; quiet: boolean } | 'help' {
  // (`--min-score -5` is the number, as the model commands read `--temperature -1`.)
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    format: { type: 'string' },
    categories: { type: 'string' },
    order: { type: 'string' },
    seed: { type: 'string' },
    'min-tags': { type: 'string' },
    rating: { type: 'string' },
    'exclude-deleted': { type: 'boolean' },
    'min-score': { type: 'string' },
    limit: { type: 'string' },
    'no-dedupe': { type: 'boolean' },
    strict: { type: 'boolean' },
    workers: { type: 'string' },
    counts: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (values.help) return 'help';
  if (positionals.length === 0) throw new ConvertUsageError('no INPUT given');
  if (values.output === undefined) throw new ConvertUsageError('no output given: -o OUT is required');
  const format = values.format ?? 'txt';
  if (format !== 'txt' && format !== 'jsonl') throw new ConvertUsageError(`--format must be txt or jsonl, got "${format}"`);
  const order = values.order ?? 'keep';
  if (order !== 'keep' && order !== 'shuffle' && order !== 'sort') throw new ConvertUsageError(`--order must be keep, shuffle or sort, got "${order}"`);
  const quiet = values.quiet ?? false;
  // The editor takes the format from such a name; here txt stays the default (the dataset's), said.
  if (values.format === undefined && /\.(?:jsonl|ndjson)$/i.test(values.output) && !quiet) {
    process.stderr.write(`danbooru-gpt convert: note: ${values.output} gets comma-separated tags (--format txt, the default); pass --format jsonl for JSON lines\n`);
  }
  return {
    quiet,
    options: {
      inputs: positionals,
      output: values.output,
      countsOutput: values.counts,
      format,
      order,
      categories: values.categories === undefined ? undefined : parseCategories(values.categories),
      seed: integerOption(values.seed, '--seed'),
      minTags: integerOption(values['min-tags'], '--min-tags'),
      ratings: values.rating === undefined ? undefined : parseRatings(values.rating),
      excludeDeleted: values['exclude-deleted'] ?? false,
      minScore: integerOption(values['min-score'], '--min-score'),
      limit: integerOption(values.limit, '--limit'),
      dedupe: !(values['no-dedupe'] ?? false),
      strict: values.strict ?? false,
      workers: workersOption(values.workers, quiet),
    },
  };
}

/**
 * --workers, at most the CPUs there are: each thread takes ~7 MB, and more than the CPUs are slower
 * (64 on 2 CPUs: 4.5 times as long as 2, 576 MB). Lowered with a note rather than refused, so a script
 * written on a larger machine still runs.
 */
function workersOption(value: string | undefined, quiet: boolean): number | undefined {
  const workers = integerOption(value, '--workers');
  const cpus = os.availableParallelism();
  if (workers === undefined || workers <= cpus) return workers;
  if (!quiet) process.stderr.write(`danbooru-gpt convert: --workers ${workers}: this machine has ${cpus} CPUs; using ${cpus} workers\n`);
  return cpus;
}

function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new ConvertUsageError(`${name} needs a whole number, got "${value}"`);
  return Number(value);
}

function parseCategories(list: string): TagCategory[] {
  return list.split(',').map((item) => {
    const name = item.trim().toLowerCase();
    if (Object.hasOwn(TAG_CATEGORIES, name)) return name as TagCategory;
    const byNumber = CATEGORY_BY_NUMBER.get(name);
    if (byNumber !== undefined) return byNumber;
    throw new ConvertUsageError(`unknown tag category "${item}" (known: ${Object.keys(TAG_CATEGORIES).join(', ')} or 0,1,3,4,5)`);
  });
}

function parseRatings(list: string): string[] {
  const ratings = list.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '');
  for (const rating of ratings) {
    if (!['g', 's', 'q', 'e'].includes(rating)) throw new ConvertUsageError(`--rating takes g, s, q, e; got "${rating}"`);
  }
  if (ratings.length === 0) throw new ConvertUsageError('--rating needs at least one rating');
  return ratings;
}

/** One self-rewriting stderr line: percent, MB read, posts/s, ETA. */
class ProgressBar {
  private shown = false;

  update(progress: ConvertProgress): void {
    const width = 24;
    const fraction = progress.bytesTotal > 0 ? Math.min(1, progress.bytesRead / progress.bytesTotal) : 0;
    const filled = Math.round(fraction * width);
    const eta = progress.etaSeconds === undefined ? '--:--' : formatDuration(progress.etaSeconds);
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}% ` +
      `${(progress.bytesRead / 1e6).toFixed(1)}/${(progress.bytesTotal / 1e6).toFixed(1)} MB  ` +
      `${Math.round(progress.postsPerSecond).toLocaleString('en-US')} posts/s  ETA ${eta}`;
    process.stderr.write(`\r${line}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}
