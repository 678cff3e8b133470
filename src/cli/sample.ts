// `danbooru-gpt sample`: continues a prompt with the model; one prompt a line (`tag, tag, ...`) or JSON.
import { parseArgs } from 'node:util';
import { engineFlags, loadEngineFromFlags } from './engine-options';

const help = `usage: danbooru-gpt sample [--prompt "1girl, solo"] [--n 5] [--temperature 1] [--top-k 50]
                           [--top-p 0.95] [--seed 1] [--min-tags 0] [--max-tags 40]
                           [--ban "*_background"]... [--json] [--model DIR] [--threads N]
writes each sample as a full prompt line (the prompt's tags, then the sampled ones);
--json writes {"prompt": [...], "seed": S, "samples": [[tags...], ...]} with the same full tag lists
`;

function parseNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`--${name} must be a number, got "${text}"`);
  return value;
}

/** `1girl, solo` -> ["1girl", "solo"]. */
export function splitPrompt(prompt: string): string[] {
  return prompt
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

export async function runSample(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
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
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const prompt = splitPrompt(values.prompt ?? '');
  const seed = parseNumber('seed', values.seed) ?? Math.floor(Math.random() * 2 ** 31);
  const options = {
    prompt,
    n: parseNumber('n', values.n) ?? 5,
    temperature: parseNumber('temperature', values.temperature),
    topK: parseNumber('top-k', values['top-k']),
    topP: parseNumber('top-p', values['top-p']),
    seed,
    minTags: parseNumber('min-tags', values['min-tags']),
    maxTags: parseNumber('max-tags', values['max-tags']),
    ban: (values.ban ?? []).flatMap(splitPrompt),
  };
  const engine = await loadEngineFromFlags(values);
  try {
    // Prompt tags as the dictionary spells them, so output lines are canonical.
    const canonicalPrompt = prompt.map((tag) => engine.dictionary.resolve(tag)?.tag.name ?? tag);
    const samples = (await engine.sample(options)).map((tags) => [...canonicalPrompt, ...tags]);
    if (values.json) process.stdout.write(`${JSON.stringify({ prompt: canonicalPrompt, seed, samples })}\n`);
    else process.stdout.write(samples.map((tags) => `${tags.join(', ')}\n`).join(''));
  } finally {
    await engine.dispose();
  }
  return 0;
}
