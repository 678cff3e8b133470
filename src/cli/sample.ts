// `danbooru-gpt sample`: continues a prompt with the model; one prompt a line (`tag, tag, ...`) or JSON.
import fs from 'node:fs';
import { CATEGORY_LIST, categoryId, describeUnseen } from '../model/describe';
import { NothingToSampleError, PROMPT_TAGS, type TagDictionary } from '../model/index';
import { MAX_SEED, sampleSettings } from '../model/model-engine';
import { applyLineEdits, continuationEdit, lineStyleOf } from '../prompt/insertStyle';
import { continuationColumn, parsePrompt } from '../prompt/parser';
import { knownTagSet } from '../prompt/knownTags';
import { parseCommandArgs, parseNumberFlag, UsageError } from './args';
import { engineFlags, loadEngineFromFlags } from './engine-options';
import { withoutByteOrderMark } from '../util/text';

const help = `usage: danbooru-gpt sample [--prompt "1girl, solo" | --prompt-file FILE] [--n 5] [--temperature 1] [--top-k 50]
                           [--top-p 0.95] [--seed 1] [--min-tags 0] [--max-tags 40]
                           [--ban "*_background"]... [--categories general,character] [--json]
                           [--model DIR] [--threads N] [--dictionary FILE]
writes each sample as a full prompt line (the prompt's tags, then the sampled ones);
--json writes {"prompt": [...], "seed": S, "samples": [[tags...], ...]} with the same full tag lists.
--prompt is one prompt line, read as the editor reads it: weights (blush:1.2), LoRA, BREAK,
escaped \\( \\), [a|b] are kept as written in the output lines and never sampled again.
--prompt-file reads that line from a file (a long prompt: command lines over ~24 KB are refused).
--seed is an integer in 0..4294967295; without it a random seed is used and printed on stderr
(with --json, in each line's "seed").
--ban takes tags (an alias bans its tag: smiling bans smile) and * globs, comma-separated or repeated.
--categories: the categories the sampled tags are of (names or numbers: general 0, artist 1, copyright 3,
character 4, meta 5). Default: a tag model's vocabulary (what it was trained on); a BPE model general tags.
`;

/** `1girl, solo` -> ["1girl", "solo"]. */
export function splitPrompt(prompt: string): string[] {
  return prompt
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** What a --prompt line holds: the tags the samples continue and those they must not repeat. */
interface PromptLine {
  /** The tags the model reads, left of where the samples go, in dictionary form. */
  context: string[];
  /** Every tag of the line (the JSON's "prompt"), once each: its canonical name, or as written when the dictionary does not know it. */
  tags: string[];
  /** Tags right of where the samples go (before a trailing comment, say): banned from them. */
  after: string[];
  /** The line with the sampled tags written in, or undefined for a line of plain tags (written canonically). */
  continued?: (tags: string[]) => string;
}

/**
 * Reads a --prompt line as the language server reads a document's line, so that `(blush:1.2)` is
 * the tag blush (never sampled again) and `<lora:x:1>`, BREAK and escapes are no tags. A line of
 * plain tags is written back as canonical names, as before; any other keeps its text, the samples
 * going where the editor's Sample Tags puts them (after the last tag's group, before a comment).
 */
function readPromptLine(text: string, dictionary: TagDictionary): PromptLine {
  const canonical = (name: string): string => dictionary.resolve(name)?.tag.name ?? name;
  const line = text.trim();
  const parsed = parsePrompt(line, { isTag: (name) => dictionary.resolve(name) !== undefined });
  const column = continuationColumn(line, line.length, parsed);
  // Once each by canonical name; a word the dictionary does not know (`best quality`, a LoRA's
  // trigger word) has no spelling of its own there and stays as written.
  const byName = new Map<string, string>();
  for (const tag of parsed.tags) {
    const name = canonical(tag.name);
    if (!byName.has(name)) byName.set(name, dictionary.resolve(tag.name) ? name : tag.text);
  }
  const tags = [...byName.values()];
  const context = parsed.tags.filter((tag) => tag.end <= column).map((tag) => tag.name);
  const after = parsed.tags.filter((tag) => tag.end > column).map((tag) => canonical(tag.name));
  const plain = parsed.tokens.length === 0 && parsed.groups.length === 0 && !line.includes('\\');
  if (plain) return { context, tags, after };
  // The sampled tags as the prompt writes its own (`long hair` spaces, `\(` escapes), with no `, ` after the last.
  // Escaped unless the prompt writes a tag's parentheses bare: this line is a1111's or ComfyUI's syntax,
  // which reads `watercolor (medium)` as emphasis of `medium` (the editor's default, insert.escapeParentheses).
  const style = lineStyleOf(parsed, { separator: 'underscores', escapeParentheses: true, appendComma: false });
  const continued = (sampled: string[]): string =>
    sampled.length === 0 ? line : applyLineEdits(line, [continuationEdit(line, line.length, sampled, style, parsed)]).text;
  return { context, tags, after, continued };
}

/** The sampler's PRNG takes 32 bits: a seed outside them would silently equal another one. */
function parseSeed(text: string | undefined): number | undefined {
  const seed = parseNumberFlag('seed', text);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) {
    throw new UsageError(`--seed must be an integer in 0..${MAX_SEED}, got "${text}"`);
  }
  return seed;
}

/** `general,character` or `0,4` -> [0, 4]; an unknown name is a usage error listing the known ones. */
function parseCategoryList(list: string): number[] {
  const ids = splitPrompt(list).map((name) => {
    const id = categoryId(/^\d+$/.test(name) ? Number(name) : name.toLowerCase());
    if (id === undefined) throw new UsageError(`--categories: unknown category "${name}" (known: ${CATEGORY_LIST}, or their numbers 0, 1, 3, 4, 5)`);
    return id;
  });
  if (ids.length === 0) throw new UsageError('--categories needs at least one category');
  return [...new Set(ids)];
}

/** A --prompt-file's prompt line: its text without a byte order mark and the line break that ends it. */
function readPromptFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--prompt-file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
  }
  // (Blank lines after it, as an editor may leave, are no second prompt.)
  const line = withoutByteOrderMark(text).replace(/(?:\r?\n)+$/, '');
  if (/[\r\n]/.test(line)) throw new UsageError(`--prompt-file ${file}: holds several lines; it must hold one prompt`);
  return line;
}

/** The engine's names of the sample settings, as this command's flags. */
const FLAG_NAMES: [RegExp, string][] = [[/^n /, '--n '], [/^temperature /, '--temperature '], [/^top-k /, '--top-k '], [/^top-p /, '--top-p '], [/^seed /, '--seed '], [/max tags/g, '--max-tags'], [/min tags/g, '--min-tags']];

export async function runSample(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    prompt: { type: 'string' },
    'prompt-file': { type: 'string' },
    n: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'min-tags': { type: 'string' },
    'max-tags': { type: 'string' },
    ban: { type: 'string', multiple: true },
    categories: { type: 'string' },
    json: { type: 'boolean' },
    ...engineFlags,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (values.prompt !== undefined && values['prompt-file'] !== undefined) throw new UsageError('give --prompt or --prompt-file, not both');
  if (values['prompt-file'] !== undefined) values.prompt = readPromptFile(values['prompt-file']);
  // Before the model loads (readPromptLine takes one line).
  if (/[\r\n]/.test(values.prompt ?? '')) throw new UsageError('--prompt must be one line (one prompt)');
  const givenSeed = parseSeed(values.seed);
  const seed = givenSeed ?? Math.floor(Math.random() * 2 ** 31);
  const options = {
    prompt: [] as string[],
    n: parseNumberFlag('n', values.n) ?? 5,
    temperature: parseNumberFlag('temperature', values.temperature),
    topK: parseNumberFlag('top-k', values['top-k']),
    topP: parseNumberFlag('top-p', values['top-p']),
    seed,
    minTags: parseNumberFlag('min-tags', values['min-tags']),
    maxTags: parseNumberFlag('max-tags', values['max-tags']),
    ban: (values.ban ?? []).flatMap(splitPrompt),
    categories: values.categories === undefined ? undefined : parseCategoryList(values.categories),
  };
  try {
    sampleSettings(options, Infinity); // a bad value is the command line's fault: say so before loading
  } catch (err) {
    throw new UsageError(FLAG_NAMES.reduce((message, [name, flag]) => message.replace(name, flag), (err as Error).message.replace(/^sample: /, '')));
  }
  const engine = await loadEngineFromFlags(values);
  try {
    const prompt = readPromptLine(values.prompt ?? '', engine.dictionary);
    options.prompt = prompt.context;
    // Prompt tags as the dictionary spells them, once each, so output lines are canonical.
    const canonicalPrompt = prompt.tags;
    // A character or an unknown tag in the prompt is kept in the output but steers nothing: say so,
    // or the samples look as if they ignored it.
    // (Quality tags, `masterpiece, best quality`, are in most prompts and steer nothing by design: not named.)
    const known = knownTagSet();
    const unseen = engine.unseenTags(prompt.context).filter((tag) => !known.has(tag));
    if (unseen.length > 0) {
      process.stderr.write(`note: the model does not read ${describeUnseen(engine.dictionary, unseen)}: the samples do not follow ${unseen.length === 1 ? 'it' : 'them'}\n`);
    }
    for (const pattern of engine.unmatchedBans(options.ban)) {
      process.stderr.write(`note: --ban "${pattern}" matches no tag in the dictionary: it bans nothing\n`);
    }
    const sampled = await engine.sample({ ...options, ban: [...options.ban, ...prompt.after] }).catch((error: unknown) => {
      if (!(error instanceof NothingToSampleError)) throw error;
      // The flags' fault, said in their names.
      const flags = [
        ...(options.ban.length > 0 ? [`--ban ${options.ban.map((pattern) => JSON.stringify(pattern)).join(', ')}`] : []),
        ...(options.categories ? [`--categories ${values.categories}`] : []),
      ];
      throw new UsageError(NothingToSampleError.describe([...flags, ...(error.excludedBy.prompt ? [PROMPT_TAGS] : [])]));
    });
    const samples = sampled.map((tags) => [...canonicalPrompt, ...tags]);
    if (givenSeed === undefined && !values.json) process.stderr.write(`seed: ${seed}\n`);
    const short = sampled.filter((tags) => tags.length < (options.minTags ?? 0)).length;
    if (short > 0) {
      process.stderr.write(
        `note: ${short} of ${sampled.length} samples have fewer than --min-tags ${options.minTags} new tags ` +
          '(bans, the vocabulary or the model context left no valid tag, or a sub-word model kept writing tags the sample may not hold)\n',
      );
    }
    // Without --min-tags the model may end a sample at once (after a whole post, often): its line is
    // the prompt alone, which looks like a failure unless said.
    const empty = (options.minTags ?? 0) === 0 ? sampled.filter((tags) => tags.length === 0).length : 0;
    if (empty > 0) {
      process.stderr.write(`note: ${empty} of ${sampled.length} samples add no tag: the model ended them right after the prompt (--min-tags 1 asks for at least one)\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ prompt: canonicalPrompt, seed, samples })}\n`);
    else if (prompt.continued) process.stdout.write(sampled.map((tags) => `${prompt.continued!(tags)}\n`).join(''));
    else process.stdout.write(samples.map((tags) => `${tags.join(', ')}\n`).join(''));
  } finally {
    await engine.dispose();
  }
  return 0;
}
