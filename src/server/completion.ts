// Tag completion: candidates for the tag being typed, ranked by the engine from the tags left of the
// cursor. The item range is the current tag span only; filterText is what was typed and sortText the
// engine's rank, so VS Code neither filters the list further nor reorders it. The list is incomplete:
// each keystroke asks again, and a newer request for a document cancels the older one. A tag started
// with `_` completes the names of wildcard files instead (wildcards.ts), and `<lora:` or `embedding:` the
// names of LoRA and embedding files (networks.ts); a word begun with `<`, the keywords `<lora:`… Tags the user picked before rank higher
// (pickedTags.ts): each tag item's command tells the server it was picked. With a translation file,
// typing a translation proposes its tags, and every tag shows its translation (translations.ts).
import {
  CompletionItemKind,
  MarkupKind,
  type CancellationToken,
  type CompletionItem,
  type CompletionList,
  type CompletionParams,
  type Position,
  type Range,
} from 'vscode-languageserver/node';
import type { Completion, TagDictionary, TagEngine, TagInfo } from '../model/index';
import { categoryName } from '../model/describe';
import { exactMatchFirst } from '../model/ranking';
import { bannedTagTest } from './bannedTags';
import { cancellable } from './cancellation';
import { formatTag, separatorAfter, type InsertStyle } from '../prompt/insertStyle';
import { knownTagSet } from '../prompt/knownTags';
import type { LineDocument } from './lineDocument';
import { contextAt, isTypingWeight, normalizeTag, typedTagStart, type CurrentTag } from '../prompt/parser';
import { TAG_PICKED_COMMAND } from '../protocol';
import { translationCandidates } from '../model/translations';
import { times } from '../util/words';
import { compactCount, parseLine, postCount, tagMarkdown, type ServerContext } from './serverContext';
import { contextBefore, tagsJoinedToGroups, tagsOfPrompt } from './lineTags';
import { categoriesAt, insertStyleOf, type ServerSettings } from './settings';
import { loraCards, networkFiles, networkItems, networkMarkdown, networkMatches, type NetworkData } from './networks';
import { networkKeywordAt, networkNameAt, type NetworkKeywordAt } from '../prompt/networks';
import type { FolderFile } from './folderFiles';
import { matchWildcards, wildcardFiles, wildcardMarkdown, withEntries, type WildcardFile } from './wildcards';

export const COMPLETION_TRIGGER_CHARACTERS = [',', ' ', '(', '[', '{', '|', ':'];

const KIND_OF_CATEGORY: Record<number, CompletionItemKind> = {
  0: CompletionItemKind.Value,
  1: CompletionItemKind.Constructor,
  3: CompletionItemKind.Module,
  4: CompletionItemKind.Class,
  5: CompletionItemKind.Property,
};

export async function provideCompletion(ctx: ServerContext, params: CompletionParams, token: CancellationToken): Promise<CompletionList | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  // (A line past the end: no prompt there, and an edit there would be out of the document.)
  if (!document || !document.holds(params.position)) return null;
  // A newer completion of the same document aborts this one.
  return cancellable(token, (signal) => completionList(ctx, document, params, signal), `completion ${document.uri}`);
}

async function completionList(ctx: ServerContext, document: LineDocument, params: CompletionParams, signal: AbortSignal): Promise<CompletionList | null> {
  const uri = document.uri;
  const line = document.line(params.position.line);
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(uri)]);
  signal.throwIfAborted();
  const column = Math.min(params.position.character, line.length);
  const cursor = contextAt(line, column, parseLine(line, engine.dictionary));
  const network = networkNameAt(line, column, cursor.parsed);
  if (network) {
    const files = await networkFiles(ctx.folders, settings, network.kind);
    signal.throwIfAborted();
    const trailing = separatorAfter(line, network.end, insertStyleOf(settings, document.uri));
    const matches = networkMatches(files, network, settings.completion.count);
    // A LoRA's card (trigger words, preferred weight) for the few names shown, as a1111's card inserts them.
    const cards = network.kind === 'lora' ? await loraCards(matches) : undefined;
    signal.throwIfAborted();
    return { isIncomplete: true, items: networkItems(matches, network, line, params.position, trailing, cards) };
  }
  const current = cursor.current;
  if (!current || typingWeight(current.typed, engine.dictionary)) return null;
  // A word begun with `<` (`<lo`, `<l:add`) is on its way to a network: a1111's keywords first, and
  // only the tags that start with the `<` as typed (`<o>_<o>`, `<3` → heart), none that would drop it.
  const keyword = networkKeywordAt(line, column, cursor.parsed);
  const style = insertStyleOf(settings, document.uri);
  const edit = tagEdit(line, params.position, current, style);
  const { typed, range, leading, trailing } = edit;
  if (current.typed.startsWith('_')) {
    // No Danbooru tag starts with `_`: the first one typed is on its way to a wildcard, and the list
    // opens there (after an empty answer to `_`, VS Code would not ask again at `__`).
    const wildcards = await wildcardCompletion(ctx, edit, settings, signal);
    if (wildcards) return wildcards;
  }
  // Every other tag of the prompt, either side of the cursor and through its aliases, is left out.
  const elsewhere = tagsOfPrompt(line, cursor.parsed, engine.dictionary, typedTagStart(current));
  // The engine leaves out the context (left of the cursor) itself: ask it for as many more as there
  // are tags right of the cursor, which the filter below may drop (asking for every tag of the
  // prompt more made each completion ~1 ms slower).
  const right = cursor.parsed.tags.filter((t) => t.start > current.end).length;
  const bonus = ctx.picks.bonus(settings.completion.pickedTagWeight);
  const categories = categoriesAt(cursor, settings);
  // A translation file: the tags whose translation holds what was typed (`长发` → long_hair).
  const translations = ctx.translations.get(settings.translationFile);
  const byTranslation = translations && current.typed.trim() ? translationCandidates(translations, current.typed, engine.dictionary, categories, elsewhere) : undefined;
  // The tags left of it as the check reads them (`[honkai: star rail]` one tag).
  const ranked = await candidates(engine, contextBefore(line, cursor.parsed, engine.dictionary, current.start), current.prefix, settings, categories, elsewhere, right, { bonus, byTranslation, warnOnce: (message) => ctx.settings.warnOnce(message) }, signal);
  signal.throwIfAborted();
  const completions = keyword ? ranked.filter((completion) => completion.kind !== 'fuzzy' && completion.kind !== 'abbreviation') : ranked;

  const known = knownTagMatches(settings.diagnostics.knownTags, current.prefix, engine.dictionary, elsewhere);
  const embeddings = await embeddingMatches(ctx, settings, current.prefix, engine.dictionary, elsewhere);
  signal.throwIfAborted();
  // An option written on into the tag after its brackets (`[cat|do|] ears`): a tag ending in that tag
  // is written as the option that makes it (`dog` for dog_ears), not whole (`[cat|dog ears] ears`).
  // (Only an option's last tag runs on into it: `[cat|do, smile] ears` is dog and smile_ears.)
  const typedTag = cursor.parsed.tags.find((t) => t.start === current.start);
  const endsOption = typedTag !== undefined && /^\s*[|\]}]/.test(line.slice(typedTag.end, typedTag.end + 64));
  const joinedTail = typedTag?.group === undefined || !endsOption ? undefined : tagsJoinedToGroups(line, cursor.parsed).get(typedTag.group);
  const asOption = (tag: string): string => {
    const ending = joinedTail ? `_${joinedTail.name}` : '';
    return ending && tag.endsWith(ending) && tag.length > ending.length ? tag.slice(0, -ending.length) : tag;
  };
  const items = completions.map((completion, rank): CompletionItem => {
    const picked = ctx.picks.total(completion.tag);
    const translated = completion.alias !== undefined && byTranslation?.get(completion.tag) === completion.alias;
    const via = completion.alias ? ` · ${translated ? 'translation' : 'alias'} ${completion.alias}` : '';
    const detail = `${categoryName(completion.category)} · ${postCount(completion.count)}${via}${picked ? ` · picked ${times(picked)}` : ''}`;
    // A tag's translation beside it, as tagcomplete shows it (not again where it is what was typed).
    const translation = translated ? undefined : translations?.of(completion.tag);
    const item: CompletionItem = {
      label: completion.alias ? `${completion.alias} → ${completion.tag}` : completion.tag,
      labelDetails: { ...(translation ? { detail: ` ${translation}` } : {}), description: compactCount(completion.count) },
      kind: KIND_OF_CATEGORY[completion.category] ?? CompletionItemKind.Value,
      detail,
      filterText: typed,
      sortText: String(rank).padStart(5, '0'),
      textEdit: { range, newText: leading + formatTag(asOption(completion.tag), style) + trailing },
    };
    // The documentation is filled in by completionItem/resolve, for the one item VS Code shows it for.
    const data: CompletionData = completion.alias ? { tag: completion.tag, alias: completion.alias } : { tag: completion.tag };
    item.data = data;
    item.command = { title: 'Count the pick', command: TAG_PICKED_COMMAND, arguments: [completion.tag, trailing !== ''] };
    if (rank === 0) item.preselect = true;
    return item;
  });
  // Words that are no Danbooru tags: known tags (quality tags, the user's own) and the names of the
  // embedding files, which a1111 reads written as a word (`EasyNegative`), verbatim.
  const nextTag = trailing ? { command: SUGGEST_NEXT_TAG } : {};
  const words = [
    ...known.map((tag) => ({ name: tag, item: {
      label: formatTag(tag, style),
      kind: CompletionItemKind.Keyword,
      detail: 'known tag (danbooruGpt.diagnostics.knownTags), not a Danbooru tag',
      filterText: typed,
      textEdit: { range, newText: leading + formatTag(tag, style) + trailing },
      ...nextTag,
    } satisfies CompletionItem })),
    ...embeddings.map((file) => ({ name: normalizeTag(file.name), item: {
      label: file.name,
      kind: CompletionItemKind.File,
      detail: 'embedding (danbooruGpt.embeddingFolders), not a Danbooru tag',
      filterText: typed,
      textEdit: { range, newText: leading + file.name + trailing },
      data: { network: file, kind: 'embedding' } satisfies CompletionData,
      ...nextTag,
    } satisfies CompletionItem })),
  ];
  if (words.length > 0) {
    // A word typed in full first. Known tags (quality tags, in most prompts) the typed letters start
    // (or a word of: `qual`) come first too, after a real tag typed in full (`mast`): `best` would
    // list bestiality and 3 other rarer tags before best quality; but not where a real match listed is as
    // common as KNOWN_TAG_BELOW_POSTS (`gre` green_eyes, `medi` medium_breasts, `very` very_long_hair,
    // `hig` highres), only after the best few, as embedding names are, above abbreviations and typo-tolerant ones.
    const typedName = normalizeTag(current.prefix);
    const typedInFull = words.filter((word) => word.name === typedName).map((word) => word.item);
    const knownItems = words.filter((word, i) => i < known.length && word.name !== typedName).map((word) => word.item);
    const embeddingItems = words.filter((word, i) => i >= known.length && word.name !== typedName).map((word) => word.item);
    const guessed = completions.findIndex((completion) => completion.kind === 'abbreviation' || completion.kind === 'fuzzy');
    items.splice(Math.min(EMBEDDING_RANK, guessed < 0 ? items.length : guessed), 0, ...embeddingItems);
    // (A real tag typed in full is first by exactMatchFirst, which knows when one counts.)
    const resolved = engine.dictionary.resolve(current.prefix);
    const realFirst = resolved !== undefined && completions[0]?.tag === resolved.tag.name;
    // The most common real match listed, not the first: the model may rank a rare one first (`hig`: highres is there).
    const rival = Math.max(0, ...completions.slice(realFirst ? 1 : 0).filter((c) => c.kind !== 'abbreviation' && c.kind !== 'fuzzy').map((c) => c.count));
    const knownFirst = rival < KNOWN_TAG_BELOW_POSTS;
    items.splice(knownFirst ? (realFirst ? 1 : 0) : Math.min(EMBEDDING_RANK, guessed < 0 ? items.length : guessed), 0, ...knownItems);
    items.unshift(...typedInFull);
    renumber(items, settings.completion.count);
  }
  if (keyword && keyword.keywords.length > 0) {
    items.unshift(...networkKeywordItems(keyword, params.position.line, line.slice(keyword.start, column)));
    renumber(items, settings.completion.count);
  }
  return { isIncomplete: true, items };
}

/** The list cut to `count`, each item's sortText its place, the first preselected. */
function renumber(items: CompletionItem[], count: number): void {
  items.length = Math.min(items.length, count);
  items.forEach((item, rank) => {
    item.sortText = String(rank).padStart(5, '0');
    if (rank === 0) item.preselect = true;
    else delete item.preselect;
  });
}

const KEYWORD_DETAIL: Record<string, string> = {
  lora: 'LoRA (a1111 extra network): <lora:name:weight>',
  lyco: 'LyCORIS, read by a1111 as a LoRA: <lyco:name:weight>',
  hypernet: 'hypernetwork (a1111 extra network): <hypernet:name:weight>',
};

/** `<lora:` and the others for a `<` word: accepting one opens the list of the files' names (networks.ts). */
function networkKeywordItems(at: NetworkKeywordAt, line: number, typed: string): CompletionItem[] {
  const range = { start: { line, character: at.start }, end: { line, character: at.end } };
  return at.keywords.map((keyword): CompletionItem => ({
    label: `<${keyword}:`,
    kind: CompletionItemKind.Keyword,
    detail: KEYWORD_DETAIL[keyword],
    filterText: typed,
    textEdit: { range, newText: `<${keyword}:${at.name}` },
    command: SUGGEST_NEXT_TAG,
  }));
}

/** With `, ` written after the item, open the list again: the model's next tags for the longer prompt. */
const SUGGEST_NEXT_TAG = { title: 'Suggest the next tag', command: 'editor.action.triggerSuggest' };

/** What an item for the tag being typed replaces, and the separators it writes around itself. */
interface TagEdit {
  /** The text from the tag's start to the cursor: every item's filterText. */
  typed: string;
  range: Range;
  leading: string;
  trailing: string;
}

function tagEdit(line: string, position: Position, current: CurrentTag, style: InsertStyle): TagEdit {
  return {
    typed: line.slice(current.start, position.character),
    range: { start: { line: position.line, character: current.start }, end: { line: position.line, character: current.end } },
    leading: current.start > 0 && line[current.start - 1] === ',' ? ' ' : '',
    trailing: separatorAfter(line, current.end, style),
  };
}

/**
 * `__hair|`: the names of the wildcard files, inserted as `__hair_color__`; undefined when the wildcard
 * folders hold none (the dictionary is asked instead, for a user's own tag starting with `_`).
 */
async function wildcardCompletion(
  ctx: ServerContext, { typed, range, leading, trailing }: TagEdit, settings: ServerSettings, signal: AbortSignal,
): Promise<CompletionList | undefined> {
  const files = await wildcardFiles(ctx.folders, settings);
  signal.throwIfAborted();
  if (files.length === 0) return undefined;
  const items = matchWildcards(files, typed.replace(/^_+|_+$/g, ''), settings.completion.count).map((file, rank): CompletionItem => ({
    label: `__${file.name}__`,
    kind: CompletionItemKind.Variable,
    detail: 'wildcard',
    filterText: typed,
    sortText: String(rank).padStart(5, '0'),
    textEdit: { range, newText: `${leading}__${file.name}__${trailing}` },
    // Its name and place only: a collection's list may hold thousands of options.
    data: { wildcard: { name: file.name, path: file.path, line: file.line } } satisfies CompletionData,
    ...(trailing ? { command: SUGGEST_NEXT_TAG } : {}),
    ...(rank === 0 ? { preselect: true } : {}),
  }));
  return { isIncomplete: true, items };
}

/**
 * The engine's candidates for a prefix, the user's picked tags raised by `bonus` and the tags found by
 * translation (`byTranslation`) among them as aliases; or the likely next tags when nothing has been
 * typed yet (as ranking.json ranks them: a pick does not make a tag come next).
 */
async function candidates(
  engine: TagEngine, context: string[], prefix: string, settings: ServerSettings, categories: number[], elsewhere: ReadonlySet<string>, right: number,
  { bonus, byTranslation, warnOnce }: { bonus: ReadonlyMap<string, number>; byTranslation?: ReadonlyMap<string, string>; warnOnce: (message: string) => void }, signal: AbortSignal,
): Promise<Completion[]> {
  const top = settings.completion.count;
  // (More asked when tags are banned: `*_hair` alone bans hundreds the list would lose.)
  const want = top + right + (settings.bannedTags.length > 0 ? BANNED_SLACK : 0);
  let list: Completion[];
  if (prefix === '' && engine.model) {
    // Ranked as ranking.json was tuned (over P = 0 too), related tags included, as the CLI ranks it:
    // the model's bare probabilities (nextTags) placed the next tag worse (MRR@10 0.128 against 0.140
    // on the validation split). No pick raises a tag here: nothing typed chose one.
    list = await engine.complete(context, '', { top: want, categories, signal });
  } else if (prefix === '') {
    // Without a model: the most popular general tags, then those of the other chosen categories.
    const next = await engine.nextTags(context, want, signal);
    list = [];
    for (const { tag, probability } of next) {
      const info = engine.dictionary.get(tag);
      const category = info?.category ?? 0;
      if (categories.includes(category)) list.push({ tag, score: Math.log(Math.max(probability, 1e-12)), category, count: info?.count ?? 0, kind: 'prefix' });
    }
    // Other chosen categories (artist, say) are filled in below them with their most popular tags.
    if (list.length < want) {
      const listed = new Set(list.map((c) => c.tag));
      for (const info of popularTags(engine.dictionary, categories)) {
        if (list.length >= want) break;
        if (!listed.has(info.name)) list.push({ tag: info.name, score: -Infinity, category: info.category, count: info.count, kind: 'prefix' });
      }
    }
  } else {
    list = await engine.complete(context, prefix, { top: want, categories, signal, ...(bonus.size ? { bonus } : {}), ...(byTranslation?.size ? { extraAliases: byTranslation } : {}) });
  }
  list = list.filter((c) => !elsewhere.has(c.tag));
  if (prefix !== '') list = exactMatchFirst(engine.dictionary, list, prefix, categories, elsewhere);
  // A banned tag is not suggested, but for one typed in full (by its name or an alias: exactMatchFirst put it first).
  const banned = bannedTagTest(engine, settings.bannedTags, warnOnce);
  const typedInFull = prefix === '' ? undefined : engine.dictionary.resolve(prefix)?.tag.name;
  list = list.filter((c, i) => !banned(c.tag) || (i === 0 && c.tag === typedInFull));
  return list.slice(0, top);
}

/** Candidates asked for beyond the list's length where tags are banned. */
const BANNED_SLACK = 50;

/** How many known tags (quality tags and the user's own) a list offers at most, from which letter. */
const KNOWN_TAGS_OFFERED = 3;
/** Known tags come first unless the first real match has this many posts (green_eyes 849k; mask, 125k, is less likely meant than masterpiece). */
const KNOWN_TAG_BELOW_POSTS = 500_000;
const KNOWN_TAG_MIN_TYPED = 3;
/** The list position embedding names take at the latest (0-based), below the model's best real matches. */
const EMBEDDING_RANK = 4;

/**
 * The known tags (danbooruGpt.diagnostics.knownTags) that what was typed starts, or starts a word of
 * (`qual` → best quality), in dictionary form: the one typed in full first, then those it starts,
 * each in the setting's order; tags the dictionary has or the prompt holds already are left out.
 */
function knownTagMatches(knownTags: string[], prefix: string, dictionary: TagDictionary, elsewhere: ReadonlySet<string>): string[] {
  const typed = normalizeTag(prefix);
  if (typed.length < KNOWN_TAG_MIN_TYPED) return [];
  const matches: { tag: string; rank: number }[] = [];
  for (const tag of knownTagSet(knownTags)) {
    const rank = tag === typed ? 0 : tag.startsWith(typed) ? 1 : tag.includes(`_${typed}`) ? 2 : -1;
    if (rank >= 0 && !elsewhere.has(tag) && !dictionary.resolve(tag)) matches.push({ tag, rank });
  }
  // (Array.prototype.sort is stable: the setting's order within a rank.)
  matches.sort((a, b) => a.rank - b.rank);
  return matches.slice(0, KNOWN_TAGS_OFFERED).map((match) => match.tag);
}

/**
 * The embedding files whose names start with what was typed (from KNOWN_TAG_MIN_TYPED letters), the
 * one typed in full first; names the dictionary has or the prompt holds already are left out.
 */
async function embeddingMatches(ctx: ServerContext, settings: ServerSettings, prefix: string, dictionary: TagDictionary, elsewhere: ReadonlySet<string>): Promise<FolderFile[]> {
  const typed = normalizeTag(prefix);
  if (typed.length < KNOWN_TAG_MIN_TYPED) return [];
  const matches = (await networkFiles(ctx.folders, settings, 'embedding')).filter((file) => {
    const name = normalizeTag(file.name);
    return name.startsWith(typed) && !elsewhere.has(name) && !dictionary.resolve(name);
  });
  const rank = (file: FolderFile): number => (normalizeTag(file.name) === typed ? -1 : file.name.length);
  return matches.sort((a, b) => rank(a) - rank(b)).slice(0, KNOWN_TAGS_OFFERED);
}

/** isTypingWeight with the dictionary's names and aliases as the tags. */
export function typingWeight(typed: string, dictionary: TagDictionary): boolean {
  return isTypingWeight(typed, (name) => dictionary.resolve(name) !== undefined);
}

/** How many popular tags per category choice are kept for an empty prefix. */
const POPULAR_KEPT = 400;
const popularByDictionary = new WeakMap<TagDictionary, Map<string, TagInfo[]>>();

/** The most popular tags of the given categories (a scan of the dictionary, so remembered). */
function popularTags(dictionary: TagDictionary, categories: number[]): TagInfo[] {
  let byCategories = popularByDictionary.get(dictionary);
  if (!byCategories) popularByDictionary.set(dictionary, (byCategories = new Map()));
  const key = [...categories].sort((a, b) => a - b).join(',');
  let tags = byCategories.get(key);
  if (!tags) byCategories.set(key, (tags = dictionary.search('', { categories, limit: POPULAR_KEPT, fuzzy: false }).map((m) => m.tag)));
  return tags;
}

/** What a completion item carries for completionItem/resolve: a tag, or a wildcard's name. */
type CompletionData = { tag: string; alias?: string } | { wildcard: WildcardFile } | NetworkData;

/** Adds the documentation (category, count, aliases, wiki link) to the item VS Code is about to show. */
export async function resolveCompletion(ctx: ServerContext, item: CompletionItem): Promise<CompletionItem> {
  const data = item.data as CompletionData | undefined;
  // Data this server did not write (another client's, or none) resolves to the item as it is.
  if (!data || typeof data !== 'object' || item.documentation) return item;
  if ('wildcard' in data) {
    item.documentation = { kind: MarkupKind.Markdown, value: await wildcardMarkdown(data.wildcard.name, [withEntries(data.wildcard)]) };
    return item;
  }
  if ('network' in data) {
    item.documentation = { kind: MarkupKind.Markdown, value: await networkMarkdown(data.kind, data.network.name, data.network) };
    return item;
  }
  if (typeof data.tag !== 'string') return item;
  const engine = await ctx.engines.engine();
  const info = engine.dictionary.get(data.tag);
  if (info) item.documentation = { kind: MarkupKind.Markdown, value: tagMarkdown(info, data.alias) };
  return item;
}

