// The tags of a line as the check reads them, which hover, highlights, references, rename, semantic
// tokens, inlay hints, Tag Counts, Add/Remove Tag and the model's contexts (completion, Related Tags,
// Sample Tags) share with it: the parser's pieces are not always the tags.
// Tag-like syntax (wildcards, embeddings, bare numbers, an escaped space) is no tag; a tag split at
// its own `:` in [ ] (`[honkai: star rail]`) is one tag again; and the options of a choice or an
// alternation written on into a tag (`[cat|dog] ears`) name the tags they make.
import type { TagDictionary } from '../model/index';
import { normalizeTag, ownSeparatorsOf, tokenAt, wildcardsIn, type ParsedPrompt, type PromptTag } from '../prompt/parser';
import { lastContextMemo } from '../util/memo';
import { canonicalName, parseLine, resolveCached } from './serverContext';

/** A tag of a line as read: a parser's tag, two pieces joined, or an option named by the tag it makes. */
export interface ReadTag extends PromptTag {
  /**
   * An option of `[cat|dog] ears` (its span `cat`, its name `cat_ears`): not the whole tag as written,
   * so no edit can write a tag there.
   */
  partOf?: string;
}

/** A wildcard after a tag's first word (`long __color__ hair`, `long __my colors__ hair`): the tag is a template of tags. */
const HELD_WILDCARD = /(?<=\s)__[^\s_](?:.*?\S)??__(?=\s|$)/;
/** A Dynamic Prompts variable after a tag's first word (`long ${color} hair`, a template file's): a template too. */
const HELD_VARIABLE = /(?<=\s)\$\{[^{}]*\}(?=\s|$)/;

/**
 * Tag-like text that is not meant to be a Danbooru tag: wildcards, embeddings, bare numbers (but the
 * tags that are numbers or dots: `...` 51k posts, `2023`, `404`).
 */
export function isNotATag(tag: PromptTag, dictionary: TagDictionary): boolean {
  if (/^-?[\d.]+$/.test(tag.name)) return resolveCached(dictionary, tag.name) === undefined;
  return /^__.+__$/.test(tag.name) || tag.name.startsWith('embedding:') || HELD_WILDCARD.test(tag.text) || HELD_VARIABLE.test(tag.text);
}

/** The wildcards a tag holds after its first word (`long __color__ hair`), by their columns. */
export function heldWildcards(tag: PromptTag): { start: number; end: number }[] {
  const found: { start: number; end: number }[] = [];
  for (const match of tag.text.matchAll(new RegExp(HELD_WILDCARD, 'g'))) found.push({ start: tag.start + match.index, end: tag.start + match.index + match[0].length });
  return found;
}

/**
 * The wildcard at `column`: a token of its own (`__color__ shirt`, the whole token), the one under it of
 * a token holding several (`__a__ __b__`), or one a tag holds (`long __color__ hair`).
 */
export function wildcardAt(parsed: ParsedPrompt, column: number, line?: string): { start: number; end: number } | undefined {
  const token = tokenAt(parsed, column, 'wildcard');
  if (token) {
    const under = line === undefined ? undefined : wildcardsIn(line.slice(token.start, token.end)).find((w) => w.start > 0 && token.start + w.start <= column && column < token.start + w.end);
    return under ? { start: token.start + under.start, end: token.start + under.end } : token;
  }
  const tag = parsed.tags.find((t) => t.start <= column && column < t.end);
  return tag && heldWildcards(tag).find((wildcard) => wildcard.start <= column && column < wildcard.end);
}

/** The first of the tags (in the order of the line) that starts at `column` or after it. */
function firstTagFrom(tags: readonly PromptTag[], column: number): PromptTag | undefined {
  let low = 0;
  let high = tags.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (tags[middle]!.start < column) low = middle + 1;
    else high = middle;
  }
  return tags[low];
}

/**
 * Tags written on from a choice or an alternation without a separator (`{red|blue} dress`,
 * `[cat|dog] ears`): each option starts a tag (`red dress`), so neither part is checked alone when
 * the two make a tag. By group index; empty for most lines, which have no such group.
 */
export function tagsJoinedToGroups(line: string, parsed: ParsedPrompt): Map<number, PromptTag> {
  const joined = new Map<number, PromptTag>();
  parsed.groups.forEach((group, index) => {
    if (group.close === undefined || group.kind === '(' || !/^[ \t]+[^\s,]/.test(line.slice(group.close + 1))) return;
    // The first tag after the group, when only blanks are between (a later one has that tag between).
    const after = firstTagFrom(parsed.tags, group.close + 1);
    if (after && line.slice(group.close + 1, after.start).trim() === '' && after.group === group.parent) joined.set(index, after);
  });
  return joined;
}

/**
 * The tags in [ ] that the parser split at their own `:` (`[honkai: star rail:genshin impact:0.5]`,
 * `[rem \(re:zero\):…]`, `[the legend of zelda: breath of the wild]`): by the index of the first
 * piece, the index of the second and the tag. Where both pieces are tags, not in prompt editing that
 * a1111 reads as such (`[cat:dog:0.5]` is from one to the other, whatever `cat:dog` names); undefined
 * for most lines.
 */
export function tagsSplitAtColon(line: string, parsed: ParsedPrompt, dictionary: TagDictionary): Map<number, { second: number; tag: string }> | undefined {
  let split: Map<number, { second: number; tag: string }> | undefined;
  // Each group's own `:` separators, counted once a line when a pair of tags first asks.
  let colons: number[] | undefined;
  const tags = parsed.tags;
  for (let index = 0; index + 1 < tags.length; index++) {
    const first = tags[index]!;
    const second = tags[index + 1]!;
    if (first.group === undefined || first.group !== second.group || parsed.groups[first.group]!.kind !== '[') continue;
    if (!/^\s*:\s*$/.test(line.slice(first.end, second.start))) continue;
    const joined = resolveCached(dictionary, normalizeTag(line.slice(first.start, second.end)));
    if (!joined) continue;
    if (resolveCached(dictionary, first.name) && resolveCached(dictionary, second.name) && isReadableEditing(line, parsed, first.group, (colons ??= ownColonsOf(line, parsed)))) continue;
    (split ??= new Map()).set(index, { second: index + 1, tag: joined.tag.name });
    index++;
  }
  return split;
}

/**
 * Whether the [ ] group is prompt editing a1111 reads as such: ending in `:when`, with one `:` of its
 * own before (`[from:to:when]`) or none (`[to:when]`). More, and a1111 reads the brackets as text.
 */
function isReadableEditing(line: string, parsed: ParsedPrompt, group: number, ownColons: readonly number[]): boolean {
  const { open, close } = parsed.groups[group]!;
  return close !== undefined && /:\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*$/.test(line.slice(open + 1, close)) && ownColons[group]! <= 1;
}

/** By group, how many `:` separators it holds itself (ownSeparatorsOf). */
function ownColonsOf(line: string, parsed: ParsedPrompt): number[] {
  return ownSeparatorsOf(line, parsed).map((own) => own.filter((at) => line[at] === ':').length);
}

/**
 * The parse with each tag split at its own `:` in [ ] made one tag again (the colon no separator):
 * what removing or adding a tag reads, so that `[honkai: star rail]` goes whole. The same parse
 * where nothing is split.
 */
export function withSplitTagsJoined(line: string, parsed: ParsedPrompt, dictionary: TagDictionary): ParsedPrompt {
  const split = parsed.groups.length > 0 ? tagsSplitAtColon(line, parsed, dictionary) : undefined;
  if (!split) return parsed;
  const tags: PromptTag[] = [];
  const colons = new Set<number>();
  for (let index = 0; index < parsed.tags.length; index++) {
    const tag = parsed.tags[index]!;
    const pieces = split.get(index);
    if (!pieces) {
      tags.push(tag);
      continue;
    }
    const second = parsed.tags[pieces.second]!;
    tags.push({ text: line.slice(tag.start, second.end), name: pieces.tag, start: tag.start, end: second.end, group: tag.group });
    for (const at of parsed.separators) if (at >= tag.end && at < second.start) colons.add(at);
    index = pieces.second;
  }
  return { ...parsed, tags, separators: parsed.separators.filter((at) => !colons.has(at)) };
}

/**
 * The pieces of tags written on from a choice or an alternation (`[cat|dog] ears`): each option that
 * makes a tag with the tag after the group, by that tag's name (`cat` → cat_ears), and those tags after;
 * the other options of those groups, each with the tag after it (`dgo` of `[cat|dgo] ears`).
 */
export function joinedPieces(parsed: ParsedPrompt, joined: Map<number, PromptTag>, dictionary: TagDictionary): { makes: Map<PromptTag, string>; tails: Set<PromptTag>; others: Map<PromptTag, PromptTag> } {
  const makes = new Map<PromptTag, string>();
  const tails = new Set<PromptTag>();
  for (const tag of joined.size > 0 ? parsed.tags : []) {
    const after = tag.group === undefined ? undefined : joined.get(tag.group);
    const made = after && resolveCached(dictionary, `${tag.name}_${after.name}`);
    if (!made) continue;
    makes.set(tag, made.tag.name);
    tails.add(after);
  }
  // `dgo` of `[cat|dgo] ears`: written on into `ears` as `cat` is, so a1111 reads `dgo ears`, no tag.
  const others = new Map<PromptTag, PromptTag>();
  for (const tag of tails.size > 0 ? parsed.tags : []) {
    const after = tag.group === undefined ? undefined : joined.get(tag.group);
    if (after && tails.has(after) && !makes.has(tag) && tag.name !== '' && !isNotATag(tag, dictionary)) others.set(tag, after);
  }
  return { makes, tails, others };
}

/** The parser's tags that are pieces of tags written on from a choice (`cat` and `ears` of `[cat|dog] ears`). */
export function piecesOfJoinedTags(line: string, parsed: ParsedPrompt, dictionary: TagDictionary): ReadonlySet<PromptTag> {
  if (parsed.groups.length === 0) return new Set();
  const { makes, tails } = joinedPieces(parsed, tagsJoinedToGroups(line, parsed), dictionary);
  return new Set([...makes.keys(), ...tails]);
}

/** The tags of `line` as the check reads them, in order (see ReadTag). */
export function readTags(line: string, dictionary: TagDictionary, parsed: ParsedPrompt = parseLine(line, dictionary)): ReadTag[] {
  const isTag = (tag: PromptTag): boolean => tag.name !== '' && !isNotATag(tag, dictionary);
  // (Most lines have no brackets: nothing to join.)
  if (parsed.groups.length === 0) return parsed.tags.filter(isTag);
  const split = tagsSplitAtColon(line, parsed, dictionary);
  const joined = tagsJoinedToGroups(line, parsed);
  const { makes, tails, others } = joinedPieces(parsed, joined, dictionary);
  const read: ReadTag[] = [];
  for (let index = 0; index < parsed.tags.length; index++) {
    const tag = parsed.tags[index]!;
    const pieces = split?.get(index);
    if (pieces) {
      const end = parsed.tags[pieces.second]!.end;
      read.push({ text: line.slice(tag.start, end), name: pieces.tag, start: tag.start, end, group: tag.group });
      index = pieces.second;
      continue;
    }
    const made = makes.get(tag);
    if (made !== undefined) read.push({ ...tag, name: made, partOf: line.slice(parsed.groups[tag.group!]!.open, joined.get(tag.group!)!.end) });
    // An option written on into no tag (`dgo` of `[cat|dgo] ears`) is no tag of its own either.
    else if (!tails.has(tag) && !others.has(tag) && isTag(tag)) read.push(tag);
  }
  return read;
}

const canonicalSets = new WeakMap<TagDictionary, (names: readonly string[]) => ReadonlySet<string>>();

/**
 * The canonical names of the prompt's tags as read (`[honkai: star rail]` is honkai:_star_rail, not two
 * pieces), but the one starting at `exceptStart`; the last answer kept: each keystroke asks again with
 * the same other tags (on a 20,000-tag line, ~15 ms a keystroke made the same set again).
 */
export function tagsOfPrompt(line: string, parsed: ParsedPrompt, dictionary: TagDictionary, exceptStart?: number): ReadonlySet<string> {
  let canonicalSet = canonicalSets.get(dictionary);
  if (!canonicalSet) {
    canonicalSet = lastContextMemo((names) => new Set(names.map((name) => canonicalName(dictionary, name))));
    canonicalSets.set(dictionary, canonicalSet);
  }
  const names: string[] = [];
  for (const tag of readTags(line, dictionary, parsed)) if (tag.start !== exceptStart) names.push(tag.name);
  return canonicalSet(names);
}

/** The model's context left of `limit`: the names of the tags as read that end there or before. */
export function contextBefore(line: string, parsed: ParsedPrompt, dictionary: TagDictionary, limit: number): string[] {
  return readTags(line, dictionary, parsed).filter((tag) => tag.end <= limit).map((tag) => tag.name);
}
