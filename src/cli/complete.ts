// `danbooru-gpt complete`: JSON lines on stdin -> one completions line each, in the same order.
//   in:  {"context": ["1girl", "solo"], "prefix": "lo", "top": 10}
//   out: {"completions": [{"tag": "long_hair", "score": -1.2, "category": 0, "count": 4350743}, ...]}
// A bad line (an empty one too) gets {"error": "..."} on its line and the rest go on.
import { CATEGORY_LIST, categoryId } from '../model/describe';
import type { TagEngine } from '../model/index';
import { parseCommandArgs } from './args';
import { engineFlags, loadEngineFromFlags } from './engine-options';
import { inputLines } from './input-lines';

const help = `usage: danbooru-gpt complete [--model DIR] [--threads N] [--dictionary FILE]
reads JSON lines {"context": [tags], "prefix": "lo", "top": 10, "categories": [0]} on stdin
and writes one {"completions": [{"tag", "score", "category", "count"}, ...]} line for each,
in order; a bad or empty line gets {"error": "..."} on its line and the rest go on.
"categories" (default [0], general): numbers 0 general, 1 artist, 3 copyright, 4 character, 5 meta,
or those names.
--dictionary FILE: a danbooru-gpt dictionary (.bin) or a tag CSV as a1111 tagcomplete uses
(name,category,post_count,"alias1,alias2")
`;

interface CompleteRequest {
  context: string[];
  prefix: string;
  top: number;
  categories?: number[];
}

/** Validates one input line; throws a message for the {"error"} line. */
export function parseRequest(line: string): CompleteRequest {
  if (!line.trim()) throw new Error('empty line (expected a JSON object)');
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
  const request = value as Record<string, unknown>;
  const context = request.context ?? [];
  if (!Array.isArray(context) || !context.every((tag) => typeof tag === 'string')) {
    throw new Error('"context" must be an array of strings');
  }
  const prefix = request.prefix ?? '';
  if (typeof prefix !== 'string') throw new Error('"prefix" must be a string');
  const top = request.top ?? 10;
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > 1000) {
    throw new Error('"top" must be an integer in 1..1000');
  }
  const parsed: CompleteRequest = { context: context as string[], prefix, top };
  if (request.categories !== undefined) {
    const categories = request.categories;
    const ids = Array.isArray(categories) ? categories.map(categoryId) : [];
    if (!Array.isArray(categories) || ids.some((id) => id === undefined)) {
      throw new Error(`"categories" must be an array of category numbers (0, 1, 3, 4, 5) or names (${CATEGORY_LIST})`);
    }
    parsed.categories = ids as number[];
  }
  return parsed;
}

export async function answerLine(engine: TagEngine, line: string): Promise<string> {
  try {
    const request = parseRequest(line);
    const completions = await engine.complete(request.context, request.prefix, {
      top: request.top,
      categories: request.categories,
    });
    return JSON.stringify({
      completions: completions.map(({ tag, score, category, count }) => ({
        tag,
        score: Math.round(score * 1e4) / 1e4,
        category,
        count,
      })),
    });
  } catch (err) {
    return JSON.stringify({ error: err instanceof Error ? err.message : String(err) });
  }
}

export async function runComplete(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...engineFlags,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const engine = await loadEngineFromFlags(values);
  try {
    for await (const line of inputLines(process.stdin)) {
      const answer = await answerLine(engine, line);
      if (!process.stdout.write(`${answer}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}
