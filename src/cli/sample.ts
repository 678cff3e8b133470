// `danbooru-gpt sample`: continues a prompt with the model; one prompt a line (`tag, tag, ...`) or JSON.
import { describeUnseen } from '../model/describe';
import { MAX_SEED, sampleSettings } from '../model/model-engine';
import { parseCommandArgs, parseNumberFlag, UsageError } from './args';
import { engineFlags, loadEngineFromFlags } from './engine-options';

const help = `usage: danbooru-gpt sample [--prompt "1girl, solo"] [--n 5] [--temperature 1] [--top-k 50]
                           [--top-p 0.95] [--seed 1] [--min-tags 0] [--max-tags 40]
                           [--ban "*_background"]... [--json] [--model DIR] [--threads N]
                           [--dictionary FILE]
writes each sample as a full prompt line (the prompt's tags, then the sampled ones);
--json writes {"prompt": [...], "seed": S, "samples": [[tags...], ...]} with the same full tag lists.
--seed is an integer in 0..4294967295; without it a random seed is used and printed on stderr.
--ban takes tags (an alias bans its tag: smiling bans smile) and * globs, comma-separated or repeated.
`;

/** `1girl, solo` -> ["1girl", "solo"]. */
export function splitPrompt(prompt: string): string[] {
  return prompt
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** The sampler's PRNG takes 32 bits: a seed outside them would silently equal another one. */
function parseSeed(text: string | undefined): number | undefined {
  const seed = parseNumberFlag('seed', text);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) {
    throw new UsageError(`--seed must be an integer in 0..${MAX_SEED}, got "${text}"`);
  }
  return seed;
}

export async function runSample(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    prompt: { type: 'string' },
    n: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'min-tags': { type: 'string' },
    'max-tags': { type: 'string' },
    ban: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    ...engineFlags,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const prompt = splitPrompt(values.prompt ?? '');
  const givenSeed = parseSeed(values.seed);
  const seed = givenSeed ?? Math.floor(Math.random() * 2 ** 31);
  const options = {
    prompt,
    n: parseNumberFlag('n', values.n) ?? 5,
    temperature: parseNumberFlag('temperature', values.temperature),
    topK: parseNumberFlag('top-k', values['top-k']),
    topP: parseNumberFlag('top-p', values['top-p']),
    seed,
    minTags: parseNumberFlag('min-tags', values['min-tags']),
    maxTags: parseNumberFlag('max-tags', values['max-tags']),
    ban: (values.ban ?? []).flatMap(splitPrompt),
  };
  try {
    sampleSettings(options, Infinity); // a bad value is the command line's fault: say so before loading
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^sample: /, ''));
  }
  const engine = await loadEngineFromFlags(values);
  try {
    // Prompt tags as the dictionary spells them, once each, so output lines are canonical.
    const canonicalPrompt = [...new Set(prompt.map((tag) => engine.dictionary.resolve(tag)?.tag.name ?? tag))];
    // A character or an unknown tag in the prompt is kept in the output but steers nothing: say so,
    // or the samples look as if they ignored it.
    const unseen = engine.unseenTags(prompt);
    if (unseen.length > 0) {
      process.stderr.write(`note: the model does not read ${describeUnseen(engine.dictionary, unseen)}: the samples do not follow ${unseen.length === 1 ? 'it' : 'them'}\n`);
    }
    for (const pattern of engine.unmatchedBans(options.ban)) {
      process.stderr.write(`note: --ban "${pattern}" matches no tag in the dictionary: it bans nothing\n`);
    }
    const sampled = await engine.sample(options);
    const samples = sampled.map((tags) => [...canonicalPrompt, ...tags]);
    if (givenSeed === undefined && !values.json) process.stderr.write(`seed: ${seed}\n`);
    const short = sampled.filter((tags) => tags.length < (options.minTags ?? 0)).length;
    if (short > 0) {
      process.stderr.write(
        `note: ${short} of ${sampled.length} samples have fewer than --min-tags ${options.minTags} new tags ` +
          '(bans, the vocabulary or the model context left no valid tag)\n',
      );
    }
    // Without --min-tags the model may end a sample at once (after a whole post, often): its line is
    // the prompt alone, which looks like a failure unless said.
    const empty = (options.minTags ?? 0) === 0 ? sampled.filter((tags) => tags.length === 0).length : 0;
    if (empty > 0) {
      process.stderr.write(`note: ${empty} of ${sampled.length} samples add no tag: the model ended them right after the prompt (--min-tags 1 asks for at least one)\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ prompt: canonicalPrompt, seed, samples })}\n`);
    else process.stdout.write(samples.map((tags) => `${tags.join(', ')}\n`).join(''));
  } finally {
    await engine.dispose();
  }
  return 0;
}
