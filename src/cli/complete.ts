// `danbooru-gpt complete`: JSON lines on stdin -> one completions line each, in the same order.
//   in:  {"context": ["1girl", "solo"], "prefix": "lo", "top": 10}
//   out: {"completions": [{"tag": "long_hair", "score": -1.2, "category": 0, "count": 4350743}, ...]}
// or, for a front-end that has a prompt line and a cursor but no prompt parser of its own:
//   in:  {"prompt": "1girl, (solo:1.2), lo", "cursor": 21}
//   out: {"completions": [...], "replace": {"start": 19, "end": 21}}
// A bad line (an empty one too) gets {"error": "..."} on its line and the rest go on.
import { networkNameAt } from '../prompt/networks';
import { CATEGORY_LIST, categoryId } from '../model/describe';
import { exactMatchFirst } from '../model/ranking';
import type { Completion, TagEngine } from '../model/index';
import { loadTranslations, translationCandidates, type TagTranslations } from '../model/translations';
import { contextAt, isTypingWeight, normalizeTag, parsePrompt, typedTagStart, writtenTags } from '../prompt/parser';
import { parseCommandArgs } from './args';
import { engineFlags, loadEngineFromFlags } from './engine-options';
import { inputLines, NotUtf8Line } from './input-lines';

const help = `usage: danbooru-gpt complete [--model DIR] [--threads N] [--dictionary FILE] [--translations FILE]
reads JSON lines {"context": [tags], "prefix": "lo", "top": 10, "categories": [0]} on stdin
and writes one {"completions": [{"tag", "score", "category", "count"}, ...]} line for each,
in order; a bad or empty line gets {"error": "..."} on its line and the rest go on.
"categories" (default [0], general): numbers 0 general, 1 artist, 3 copyright, 4 character, 5 meta,
or those names. Tags and prefixes may be written with a1111's escaped parentheses
(ganyu_\\(genshin_impact\\)).
Instead of "context" and "prefix", a prompt line as written and the cursor in it (UTF-16 code
units, default its end): {"prompt": "1girl, (solo:1.2), lo", "cursor": 21, "top": 10}. The prompt
is read as the editor reads it (weights, LoRA, BREAK, artist: prefixes, ...); the answer adds
"replace": {"start", "end"}, the span of the prompt the chosen tag replaces, or null where the
cursor is on no tag (in a weight, a LoRA, a comment): then the list is empty.
--dictionary FILE: a danbooru-gpt dictionary (.bin) or a tag CSV as a1111 tagcomplete uses
(name,category,post_count,"alias1,alias2")
--translations FILE: a tag translation CSV as a1111 tagcomplete uses (tag,translation): a prefix
typed in its language ("长") finds the tags whose translation holds it, ranked with the others
`;

interface CompleteRequest {
  context: string[];
  prefix: string;
  top: number;
  categories?: number[];
  /** A prompt line and the cursor in it, instead of `context` and `prefix`. */
  prompt?: { text: string; cursor: number };
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
  if (request.prompt !== undefined && (request.context !== undefined || request.prefix !== undefined)) {
    throw new Error('give "prompt" (with "cursor") or "context" and "prefix", not both');
  }
  if (request.prompt === undefined && request.cursor !== undefined) throw new Error('"cursor" goes with "prompt"');
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
  if (request.prompt !== undefined) {
    const text = request.prompt;
    if (typeof text !== 'string') throw new Error('"prompt" must be a string (one prompt line)');
    if (/[\r\n]/.test(text)) throw new Error('"prompt" must be one line (one prompt)');
    const cursor = request.cursor ?? text.length;
    if (typeof cursor !== 'number' || !Number.isInteger(cursor) || cursor < 0 || cursor > text.length) {
      throw new Error(`"cursor" must be an integer in 0..${text.length} (the prompt's length in UTF-16 code units)`);
    }
    parsed.prompt = { text, cursor };
  }
  if (request.categories !== undefined) {
    const categories = request.categories;
    const ids = Array.isArray(categories) ? categories.map(categoryId) : [];
    if (!Array.isArray(categories) || ids.some((id) => id === undefined)) {
      throw new Error(`"categories" must be an array of category numbers (0, 1, 3, 4, 5) or names (${CATEGORY_LIST})`);
    }
    // An empty list would answer every line with no completion, silently.
    if (ids.length === 0) throw new Error(`"categories" must name at least one category (${CATEGORY_LIST}); leave it out for general`);
    parsed.categories = ids as number[];
  }
  return parsed;
}

/** The completion list as the output line writes it. */
function completionsJson(completions: Completion[]): object[] {
  return completions.map(({ tag, score, category, count }) => ({ tag, score: Math.round(score * 1e4) / 1e4, category, count }));
}

/**
 * Completions at a cursor in a prompt line, read as the language server reads it: the tags left of
 * the cursor are the context, the tag under it the prefix (a category prefix such as `artist:`
 * choosing the categories), and no tag written elsewhere in the prompt is offered again.
 */
async function completeInPrompt(engine: TagEngine, request: CompleteRequest & { prompt: { text: string; cursor: number } }, translations?: TagTranslations): Promise<string> {
  const { text, cursor } = request.prompt;
  const isTag = (name: string): boolean => engine.dictionary.resolve(name) !== undefined;
  const parsed = parsePrompt(text, { isTag });
  const at = contextAt(text, cursor, parsed);
  const current = at.current;
  // In a LoRA, hypernetwork or embedding name still being typed (`<lora:na|`): a file's name, no tag.
  if (!current || isTypingWeight(current.typed, isTag) || networkNameAt(text, cursor, parsed)) return JSON.stringify({ completions: [], replace: null });
  const named = at.category === undefined ? undefined : categoryId(at.category);
  const written = writtenTags(parsed, (name) => engine.dictionary.resolve(name)?.tag.name ?? name, typedTagStart(current));
  const categories = named === undefined ? request.categories : [named];
  // The engine leaves out the context itself; tags right of the cursor are filtered here.
  const completions = await engine.complete(at.before, current.prefix, {
    top: request.top + written.size,
    categories,
    ...byTranslation(engine, translations, current.typed, categories, written),
  });
  const listed = exactMatchFirst(engine.dictionary, completions.filter((c) => !written.has(c.tag)), current.prefix, categories ?? [0], written, false);
  return JSON.stringify({
    completions: completionsJson(listed.slice(0, request.top)),
    replace: { start: current.start, end: current.end },
  });
}

/**
 * A context tag as a prompt writes it (`ganyu_\(genshin_impact\)`, a1111's escapes) is read as its
 * tag; a name the dictionary knows as written (`\m/`) stays as it is.
 */
function contextTag(engine: TagEngine, tag: string): string {
  if (!tag.includes('\\') || engine.dictionary.resolve(tag) !== undefined) return tag;
  const unescaped = normalizeTag(tag);
  return engine.dictionary.resolve(unescaped) !== undefined ? unescaped : tag;
}

/**
 * Completions of a context and a prefix. A prefix with an escaped parenthesis (`ganyu_\(gen`) is
 * looked up unescaped too, and the two lists merged by score: `\(` also begins a real name
 * (`\(^o^)/`), so neither reading may replace the other.
 */
async function completeContext(engine: TagEngine, request: CompleteRequest, translations?: TagTranslations): Promise<Completion[]> {
  const context = request.context.map((tag) => contextTag(engine, tag));
  const written = new Set(context.map((tag) => engine.dictionary.resolve(tag)?.tag.name ?? tag));
  const options = { top: request.top, categories: request.categories, ...byTranslation(engine, translations, request.prefix, request.categories, written) };
  const completions = await engine.complete(context, request.prefix, options);
  // The tag typed in full first, as the editor lists it (`solo` before solo_focus).
  const typedFirst = (list: Completion[]): Completion[] => exactMatchFirst(engine.dictionary, list, request.prefix, request.categories ?? [0], written, false);
  if (!/\\[()]/.test(request.prefix)) return typedFirst(completions);
  const unescaped = await engine.complete(context, request.prefix.replace(/\\([()])/g, '$1'), options);
  const seen = new Set<string>();
  return typedFirst([...completions, ...unescaped]
    .sort((a, b) => b.score - a.score)
    .filter((completion) => !seen.has(completion.tag) && seen.add(completion.tag))
    .slice(0, request.top));
}

/** The tags whose translation holds what was typed, for the engine to rank as aliases (none without a file). */
function byTranslation(engine: TagEngine, translations: TagTranslations | undefined, typed: string, categories: number[] | undefined, written: Set<string>): { extraAliases?: Map<string, string> } {
  if (!translations || !typed.trim()) return {};
  const found = translationCandidates(translations, typed, engine.dictionary, categories ?? [0], written);
  return found.size > 0 ? { extraAliases: found } : {};
}

export async function answerLine(engine: TagEngine, line: string, translations?: TagTranslations): Promise<string> {
  try {
    const request = parseRequest(line);
    if (request.prompt) return await completeInPrompt(engine, { ...request, prompt: request.prompt }, translations);
    return JSON.stringify({ completions: completionsJson(await completeContext(engine, request, translations)) });
  } catch (err) {
    return JSON.stringify({ error: err instanceof Error ? err.message : String(err) });
  }
}

/** The --translations file; lines that are no translation are left out and named once on stderr. */
function readTranslations(file: string): TagTranslations {
  const { translations, skipped } = loadTranslations(file);
  if (skipped.count > 0) {
    process.stderr.write(`note: ${skipped.count} line${skipped.count === 1 ? ' is' : 's are'} not tag,translation and left out (the first: ${file}:${skipped.firstLine})\n`);
  }
  return translations;
}

export async function runComplete(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...engineFlags,
    translations: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const translations = values.translations === undefined ? undefined : readTranslations(values.translations);
  const engine = await loadEngineFromFlags(values);
  try {
    for await (const line of inputLines(process.stdin)) {
      const answer = line instanceof NotUtf8Line ? JSON.stringify({ error: `not valid UTF-8 (${line.bytes} bytes)` }) : await answerLine(engine, line, translations);
      if (!process.stdout.write(`${answer}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}
