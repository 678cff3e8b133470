// The tag dictionary: canonical names, categories, post counts and aliases, with prefix,
// word-start, alias, abbreviation and typo-tolerant search over precomputed sorted indexes.
import fs from 'node:fs';
import path from 'node:path';
import { buildDictionary, parseRows } from './dictionary-csv';
import { decodeSections, foldWidth, hasFullWidth, normalizePrefix, normalizeTag } from './dictionary-format';
import type { DictionaryMatch, MatchKind, SearchOptions, TagDictionary, TagInfo } from './types';
import { MAX_BYTES, decodeUtf8Text, readBoundedFileSync } from '../util/files';

export { normalizePrefix, normalizeTag } from './dictionary-format';

/** Root of the installed package (holds package.json), from the bundle in dist/ or the sources in src/model/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'danbooru-gpt') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
}

export function defaultDictionaryPath(): string {
  return path.join(packageRoot(), 'models', 'dictionary', 'danbooru-tags.bin');
}

/** Word-start matches need a few letters; below this, prefix matches only (one letter matches half the words). */
const WORD_MATCH_MIN_LENGTH = 3;
/** Typo-tolerant matches need enough letters to tell a typo from a different tag. */
const FUZZY_MIN_LENGTH = 3;
/**
 * Abbreviations need this many letters, and each piece but the last this many too unless the user
 * ended it with an underscore: one-letter pieces (acronyms such as `lav`) match too many tags.
 */
const ABBREVIATION_MIN_LENGTH = 3;
// (From 3: `slo` is solo mistyped, more popular than any tag it starts; `long` starts long_hair, more popular than log.)
const TYPO_BEFORE_ABBREVIATION_MIN_LENGTH = 3;
const TYPOS_BEFORE_ABBREVIATIONS = 3;
/** Only tags more popular than this rank (~3,700 posts) count as a popular tag's typo. */
const POPULAR_TYPO_RANK = 5000;
const ABBREVIATION_PIECE_MIN_LENGTH = 2;
/** Above this many prefix matches, scanning tags in popularity order beats sorting the range. */
const POPULARITY_SCAN_THRESHOLD = 4096;

/** Compares `text` from `start`, cut to `prefix.length`, with `prefix` (UTF-16 code unit order). */
function comparePrefixAt(text: string, start: number, prefix: string): number {
  for (let j = 0; j < prefix.length; j++) {
    if (start + j >= text.length) return -1;
    const diff = text.charCodeAt(start + j) - prefix.charCodeAt(j);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** [lo, hi) of sorted positions whose key starts with `prefix`; `compareAt(i)` is comparePrefixAt for position i. */
function prefixRange(length: number, compareAt: (index: number) => number): [number, number] {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareAt(mid) < 0) lo = mid + 1;
    else hi = mid;
  }
  const start = lo;
  hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareAt(mid) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return [start, lo];
}

/**
 * Edit distance (insert, delete, substitute, swap adjacent) between `query` and the closest prefix of
 * `text` (when `asPrefix`) or all of `text`; returns maxEdits + 1 as soon as it must exceed maxEdits.
 */
export function boundedEditDistance(query: string, text: string, maxEdits: number, asPrefix: boolean): number {
  const m = query.length;
  const n = asPrefix ? Math.min(text.length, m + maxEdits) : text.length;
  if (!asPrefix && Math.abs(n - m) > maxEdits) return maxEdits + 1;
  if (rows[0].length < n + 1) rows = [0, 1, 2].map(() => new Int32Array(2 * (n + 1)));
  let [previous2, previous, current] = rows;
  for (let j = 0; j <= n; j++) previous[j] = j;
  for (let i = 1; i <= m; i++) {
    current[0] = i;
    let rowMin = i;
    const qc = query.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const tc = text.charCodeAt(j - 1);
      let best = previous[j - 1] + (qc === tc ? 0 : 1);
      if (previous[j] + 1 < best) best = previous[j] + 1;
      if (current[j - 1] + 1 < best) best = current[j - 1] + 1;
      if (i > 1 && j > 1 && qc === text.charCodeAt(j - 2) && query.charCodeAt(i - 2) === tc && previous2[j - 2] + 1 < best) {
        best = previous2[j - 2] + 1;
      }
      current[j] = best;
      if (best < rowMin) rowMin = best;
    }
    if (rowMin > maxEdits) return maxEdits + 1;
    [previous2, previous, current] = [previous, current, previous2];
  }
  let result = previous[n];
  if (asPrefix) for (let j = 0; j < n; j++) result = Math.min(result, previous[j]);
  return Math.min(result, maxEdits + 1);
}

/** Scratch rows reused across calls (the search is single-threaded). */
let rows = [0, 1, 2].map(() => new Int32Array(64));

/**
 * Whether `query` abbreviates `name` word by word: split into pieces that each start a word of the
 * name, in order, the first piece starting the name (`detco` → detached_collar, `lohai` → long_hair,
 * `hairb` → hair_bow, `lovi` → looking_at_viewer: words may be skipped after the first). An underscore
 * typed in the query ends a piece (several in a row count as one); a piece may begin after a word's
 * opening parenthesis or with it (`ganyu_gen`, `ganyu_(gen` → ganyu_(genshin_impact)). Pieces other
 * than the last, and not ended by an underscore, need ABBREVIATION_PIECE_MIN_LENGTH letters.
 */
export function abbreviates(query: string, name: string): boolean {
  return abbreviatesCompact(compactAbbreviation(query), name);
}

/** The query as abbreviates() reads it: no leading underscores, runs of them as one. */
function compactAbbreviation(query: string): string {
  return query.replace(/_+/g, '_').replace(/^_/, '');
}

/**
 * Failed (piece start, word) states of the current name: without them a name of many alike words
 * (`ha_ha_ha_…` against `hahaha…z`) takes exponential time. Kept only after MEMO_AFTER_CALLS calls
 * for one name (almost every name is decided in a few), and reused: the search is single-threaded.
 */
const failedStates = new Set<number>();
const MEMO_AFTER_CALLS = 64;
let callsForName = 0;

function abbreviatesCompact(query: string, name: string): boolean {
  if (callsForName > MEMO_AFTER_CALLS) failedStates.clear();
  callsForName = 0;
  return abbreviatesFrom(query, name, 0, 0, true);
}

/** abbreviates() from `query[at]`, its next piece starting the word at `from` or (unless `first`) a later one. */
function abbreviatesFrom(query: string, name: string, at: number, from: number, first: boolean): boolean {
  if (at === query.length) return true;
  const memo = ++callsForName > MEMO_AFTER_CALLS;
  const state = at * (name.length + 1) + from;
  if (memo && failedStates.has(state)) return false;
  // Words are scanned in place (no array of word starts): this runs over thousands of names a keystroke.
  for (let word = from; word < name.length; word = nextWordStart(name, word)) {
    const paren = !first && name.charCodeAt(word) === 40 /* ( */ && query.charCodeAt(at) !== 40;
    const start = paren ? word + 1 : word;
    let common = 0;
    while (at + common < query.length && start + common < name.length) {
      const code = query.charCodeAt(at + common);
      if (code === 95 /* _ */ || code !== name.charCodeAt(start + common)) break;
      common++;
    }
    if (common > 0) {
      const after = nextWordStart(name, start + common - 1);
      for (let length = common; length >= 1; length--) {
        const next = at + length;
        const underscore = next < query.length && query.charCodeAt(next) === 95;
        if (length < ABBREVIATION_PIECE_MIN_LENGTH && next < query.length && !underscore) continue;
        if (abbreviatesFrom(query, name, underscore ? next + 1 : next, after, false)) return true;
      }
    }
    // The first piece starts the name; later pieces may skip words.
    if (first) return false;
  }
  if (memo) failedStates.add(state);
  return false;
}

/** Where the word after the one at `from` starts (as wordStarts() finds them), or the name's length. */
function nextWordStart(name: string, from: number): number {
  for (let i = from; i < name.length - 1; i++) {
    if (name.charCodeAt(i) === 95 /* _ */ && name.charCodeAt(i + 1) !== 95) return i + 1;
  }
  return name.length;
}

function allowedEdits(length: number): number {
  return length <= 4 ? 1 : length <= 8 ? 2 : 3;
}


function readTypedArray<T extends Uint16Array | Uint32Array>(
  bytes: Buffer,
  Type: { new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const aligned = bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 ? bytes : Buffer.from(bytes);
  return new Type(aligned.buffer, aligned.byteOffset, aligned.byteLength / Type.BYTES_PER_ELEMENT);
}

/** A match with its tag id, for callers that rank by id (ids are popularity ranks). */
export interface IdMatch {
  id: number;
  kind: MatchKind;
  alias?: string;
  /** Edit distance of a fuzzy match. */
  distance?: number;
}

export class CompactTagDictionary implements TagDictionary {
  readonly size: number;
  readonly names: string[];
  readonly categories: Uint8Array;
  readonly counts: Uint32Array;
  /** Sum of all post counts, for the popularity prior. */
  readonly totalCount: number;
  private readonly nameOrder: Uint32Array;
  private readonly aliasNames: string[];
  private readonly aliasTargets: Uint32Array;
  private readonly wordTags: Uint32Array;
  private readonly wordOffsets: Uint16Array;
  private readonly infos: (TagInfo | undefined)[];
  private aliasesByTag: Map<number, string[]> | undefined;
  private byFirstCharacter: Map<number, Uint32Array> | undefined;

  constructor(data: Buffer, readonly file: string) {
    const sections = decodeSections(data, file);
    const section = (name: Parameters<typeof sections.get>[0]): Buffer => sections.get(name) as Buffer;
    this.names = section('names').toString('utf8').split('\n');
    this.size = this.names.length;
    this.categories = new Uint8Array(section('categories'));
    this.counts = readTypedArray(section('counts'), Uint32Array);
    this.nameOrder = readTypedArray(section('nameOrder'), Uint32Array);
    const aliasText = section('aliases').toString('utf8');
    this.aliasNames = aliasText ? aliasText.split('\n') : [];
    this.aliasTargets = readTypedArray(section('aliasTargets'), Uint32Array);
    this.wordTags = readTypedArray(section('wordTags'), Uint32Array);
    this.wordOffsets = readTypedArray(section('wordOffsets'), Uint16Array);
    const consistent =
      this.categories.length === this.size &&
      this.counts.length === this.size &&
      this.nameOrder.length === this.size &&
      this.aliasTargets.length === this.aliasNames.length &&
      this.wordTags.length === this.wordOffsets.length;
    if (!consistent) throw new Error(`${file}: not a danbooru-gpt dictionary (section lengths disagree)`);
    // Ids out of range (a file cut and patched, or another program's) loaded, then every completion
    // threw a TypeError naming no file. A few ms for the shipped dictionary's 600k entries.
    const outOfRange = (ids: Uint32Array): boolean => ids.some((id) => id >= this.size);
    for (const [name, ids] of [['nameOrder', this.nameOrder], ['aliasTargets', this.aliasTargets], ['wordTags', this.wordTags]] as const) {
      if (outOfRange(ids)) throw new Error(`${file}: not a danbooru-gpt dictionary (${name} holds a tag id out of range)`);
    }
    for (let i = 0; i < this.wordTags.length; i++) {
      if (this.wordOffsets[i] >= this.names[this.wordTags[i]].length) throw new Error(`${file}: not a danbooru-gpt dictionary (wordOffsets runs past its name)`);
    }
    let total = 0;
    for (let i = 0; i < this.size; i++) total += this.counts[i];
    this.totalCount = total;
    this.infos = new Array<TagInfo | undefined>(this.size);
  }

  /** Tag id of a canonical name (any spelling: spaces/underscores, case), or -1. */
  idOf(tag: string): number {
    const name = normalizeTag(tag);
    if (!name) return -1;
    // The index is sorted by whole names, so an exact match sits at the lower bound.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.names[this.nameOrder[mid]] < name) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.size && this.names[this.nameOrder[lo]] === name ? this.nameOrder[lo] : -1;
  }

  info(id: number): TagInfo {
    let info = this.infos[id];
    if (!info) {
      info = { name: this.names[id], category: this.categories[id], count: this.counts[id], aliases: this.aliasesOf(id) };
      this.infos[id] = info;
    }
    return info;
  }

  get(tag: string): TagInfo | undefined {
    const id = this.idOf(tag);
    return id < 0 ? undefined : this.info(id);
  }

  resolve(tagOrAlias: string): { tag: TagInfo; viaAlias?: string } | undefined {
    const resolved = this.resolveId(tagOrAlias);
    if (!resolved) return undefined;
    return resolved.viaAlias === undefined
      ? { tag: this.info(resolved.id) }
      : { tag: this.info(resolved.id), viaAlias: resolved.viaAlias };
  }

  /** resolve() as a tag id, without building TagInfo objects (the engines' hot path). */
  resolveId(tagOrAlias: string): { id: number; viaAlias?: string } | undefined {
    const id = this.idOf(tagOrAlias);
    if (id >= 0) return { id };
    const alias = normalizeTag(tagOrAlias);
    if (!alias) return undefined;
    let lo = 0;
    let hi = this.aliasNames.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aliasNames[mid] < alias) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.aliasNames.length && this.aliasNames[lo] === alias) return { id: this.aliasTargets[lo], viaAlias: alias };
    // Written in full-width letters (`ｌｏｎｇ ｈａｉｒ`): the tag of its ASCII spelling.
    return hasFullWidth(tagOrAlias) ? this.resolveId(foldWidth(tagOrAlias)) : undefined;
  }

  search(prefix: string, options: SearchOptions = {}): DictionaryMatch[] {
    return this.searchIds(prefix, options).map((match) => {
      const result: DictionaryMatch = { tag: this.info(match.id), kind: match.kind };
      if (match.alias !== undefined) result.alias = match.alias;
      return result;
    });
  }

  /**
   * Matches by tier (prefix, word-start, alias, abbreviation, then fuzzy), each tier by post count;
   * abbreviations and typo-tolerant matches are only looked for when the tiers before do not fill
   * `limit`.
   */
  searchIds(prefix: string, options: SearchOptions = {}): IdMatch[] {
    const query = normalizePrefix(prefix);
    const limit = options.limit ?? 20;
    const allowed = this.categoryFilter(options.categories);
    const seen = new Set<number>();
    const results: IdMatch[] = [];
    const take = (ids: Iterable<number>, kind: MatchKind, aliasOf?: Map<number, string>): void => {
      for (const id of ids) {
        if (results.length >= limit) return;
        if (seen.has(id) || !allowed(id)) continue;
        seen.add(id);
        const match: IdMatch = { id, kind };
        const alias = aliasOf?.get(id);
        if (alias !== undefined) match.alias = alias;
        results.push(match);
      }
    };
    take(this.topPrefixIds(query, limit, allowed), 'prefix');
    if (query.length >= WORD_MATCH_MIN_LENGTH && results.length < limit) {
      take(this.sortedIds(this.wordMatchIds(query)), 'word');
    }
    if (query && results.length < limit) {
      const aliasOf = this.aliasMatches(query);
      take(this.sortedIds(aliasOf.keys()), 'alias', aliasOf);
    }
    if (results.length < limit) {
      const abbreviations = this.abbreviationIds(query, limit - results.length, allowed, seen);
      // A one-edit typo of a tag more popular than every abbreviation comes before them (`holdig` →
      // holding, not 20 of holding_gun…: the list had no room left for it); the other typos last.
      if ((options.fuzzy ?? true)) take(this.popularTypos(query, abbreviations, allowed, seen), 'fuzzy');
      take(abbreviations, 'abbreviation');
    }
    if ((options.fuzzy ?? true) && query.length >= FUZZY_MIN_LENGTH && results.length < limit) {
      for (const match of this.fuzzyMatches(query, limit - results.length, allowed, seen)) results.push(match);
    }
    return results;
  }

  /** Whether some tag's name or alias starts with `query` (normalized): what a tag being written can still become. */
  startsSomeTag(query: string): boolean {
    if (this.prefixIds(query).length > 0) return true;
    const [aliasLo, aliasHi] = this.aliasRange(query);
    return aliasLo < aliasHi;
  }

  /**
   * Whether some tag whose name or alias starts with `query` is `allowed`: looks at `limit` of them at
   * most, and past that answers true (not known to be false).
   */
  startsSomeAllowedTag(query: string, allowed: (id: number) => boolean, limit = 64): boolean {
    let looked = 0;
    for (const id of this.prefixIds(query)) {
      if (allowed(id) || ++looked >= limit) return true;
    }
    const [lo, hi] = this.aliasRange(query);
    for (let i = lo; i < hi; i++) {
      if (allowed(this.aliasTargets[i]) || ++looked >= limit) return true;
    }
    return false;
  }

  /** Ids of every tag whose name starts with `query` (unsorted). */
  prefixIds(query: string): Uint32Array {
    const [lo, hi] = prefixRange(this.size, (i) => comparePrefixAt(this.names[this.nameOrder[i]], 0, query));
    return this.nameOrder.subarray(lo, hi);
  }

  /** Ids of tags with a later word starting with `query` (unsorted, may repeat). */
  wordMatchIds(query: string): Uint32Array {
    const [lo, hi] = prefixRange(this.wordTags.length, (i) =>
      comparePrefixAt(this.names[this.wordTags[i]], this.wordOffsets[i], query),
    );
    return this.wordTags.subarray(lo, hi);
  }

  /**
   * How the typed `query` (normalized) matches tag `id` by its own name: `prefix`, `word` (a later word
   * starts with it, from WORD_MATCH_MIN_LENGTH letters, as wordMatchIds() finds), or undefined.
   */
  nameMatch(id: number, query: string): 'prefix' | 'word' | undefined {
    const name = this.names[id];
    if (name.startsWith(query)) return 'prefix';
    if (query.length < WORD_MATCH_MIN_LENGTH || query.charCodeAt(0) === 95 /* _ */) return undefined;
    // A word starts after a `_` that no other `_` follows: after any `_`, as the query starts with none.
    return name.includes(`_${query}`) ? 'word' : undefined;
  }

  /** Tag id -> the (shortest) alias starting with `query` that leads to it. */
  aliasMatches(query: string): Map<number, string> {
    const [lo, hi] = this.aliasRange(query);
    const matches = new Map<number, string>();
    for (let i = lo; i < hi; i++) {
      const id = this.aliasTargets[i];
      const previous = matches.get(id);
      if (previous === undefined || this.aliasNames[i].length < previous.length) matches.set(id, this.aliasNames[i]);
    }
    return matches;
  }

  /**
   * Up to `limit` ids of tags that `query` abbreviates word by word (see abbreviates()), most posts
   * first, skipping `exclude` and the tags it is a plain prefix of (the prefix tier has those).
   */
  abbreviationIds(query: string, limit: number, allowed: (id: number) => boolean, exclude: ReadonlySet<number>): number[] {
    const compact = compactAbbreviation(query);
    if (compact.length < ABBREVIATION_MIN_LENGTH || limit <= 0) return [];
    // Every match starts with the first piece, which has at least this many letters.
    const underscore = compact.indexOf('_');
    const firstPiece = compact.slice(0, Math.min(ABBREVIATION_PIECE_MIN_LENGTH, underscore < 0 ? compact.length : underscore));
    const ids: number[] = [];
    for (const id of this.prefixIds(firstPiece)) {
      if (!allowed(id) || exclude.has(id)) continue;
      const name = this.names[id];
      if (!name.startsWith(query) && abbreviatesCompact(compact, name)) ids.push(id);
    }
    ids.sort((a, b) => a - b);
    return ids.slice(0, limit);
  }

  /**
   * Up to TYPOS_BEFORE_ABBREVIATIONS one-edit typos (from TYPO_BEFORE_ABBREVIATION_MIN_LENGTH letters)
   * of popular tags (POPULAR_TYPO_RANK) with more posts than each of `abbreviations`: what a user
   * mistyping a popular tag means rather than an abbreviation (`detco` stays detached_collar's).
   */
  popularTypos(query: string, abbreviations: readonly number[], allowed: (id: number) => boolean, exclude: ReadonlySet<number>): number[] {
    // None to outrank (the typos come last then, as before), or too short to tell a typo.
    if (query.length < TYPO_BEFORE_ABBREVIATION_MIN_LENGTH || abbreviations.length === 0) return [];
    // Ids are popularity ranks: only the names more popular than every abbreviation are looked at (a
    // scan of every name with the first letters doubled a keystroke's p99).
    let mostPopular = POPULAR_TYPO_RANK;
    for (const id of abbreviations) mostPopular = Math.min(mostPopular, id);
    const found: number[] = [];
    for (const start of new Set([query.charCodeAt(0), query.charCodeAt(1)])) {
      for (const id of this.idsStartingWith(start)) {
        if (id >= mostPopular) break;
        if (!allowed(id) || exclude.has(id)) continue;
        if (boundedEditDistance(query, this.names[id], 1, true) === 1) found.push(id);
      }
    }
    return found.sort((a, b) => a - b).slice(0, TYPOS_BEFORE_ABBREVIATIONS);
  }

  /** Typo-tolerant prefix matches, best (fewest edits, then most posts) first, skipping `exclude`. */
  fuzzyMatches(query: string, limit: number, allowed: (id: number) => boolean, exclude: ReadonlySet<number>): IdMatch[] {
    const maxEdits = Math.min(2, allowedEdits(query.length));
    const found: IdMatch[] = [];
    // Typos rarely hit the first letter: candidates start with the query's first or second letter.
    const starts = new Set([query.charCodeAt(0), query.charCodeAt(1)]);
    for (const start of starts) {
      for (const id of this.idsStartingWith(start)) {
        if (!allowed(id) || exclude.has(id)) continue;
        const distance = boundedEditDistance(query, this.names[id], maxEdits, true);
        if (distance <= maxEdits) found.push({ id, kind: 'fuzzy', distance });
      }
    }
    found.sort((a, b) => (a.distance ?? 0) - (b.distance ?? 0) || a.id - b.id);
    return found.slice(0, limit);
  }

  /**
   * Builds now the index typo matching builds on first use (~40 ms over 140k names): a server calls it
   * once the dictionary has loaded, so that the first typo typed is not the slow keystroke.
   */
  prepareTypoSearch(): void {
    this.idsStartingWith(0);
  }

  /** Ids of the tags whose name starts with a character (UTF-16 code unit), built on first use. */
  private idsStartingWith(code: number): Uint32Array {
    if (!this.byFirstCharacter) {
      const lists = new Map<number, number[]>();
      for (let id = 0; id < this.size; id++) {
        const first = this.names[id].charCodeAt(0);
        const list = lists.get(first);
        if (list) list.push(id);
        else lists.set(first, [id]);
      }
      this.byFirstCharacter = new Map([...lists].map(([first, ids]) => [first, Uint32Array.from(ids)]));
    }
    return this.byFirstCharacter.get(code) ?? new Uint32Array(0);
  }

  /**
   * Real tags near an unknown one, in completion's order for what it would have typed: an alias it
   * spells; one-edit typos of popular tags more popular than every abbreviation (`holdig` → holding,
   * as popularTypos()); the tags it abbreviates or starts, most posts first (`detco` → detached_collar,
   * `choco` → chocolate: an abbreviation left as written, which completion lists before typos); then
   * the other typos (edit distance), fewest edits first, then most posts.
   */
  nearest(tag: string, k: number): TagInfo[] {
    const query = normalizeTag(tag);
    if (!query || k <= 0) return [];
    const maxEdits = allowedEdits(query.length);
    const typos: { id: number; distance: number }[] = [];
    for (let id = 0; id < this.size; id++) {
      const name = this.names[id];
      if (Math.abs(name.length - query.length) > maxEdits || name === query) continue;
      const distance = boundedEditDistance(query, name, maxEdits, false);
      if (distance <= maxEdits) typos.push({ id, distance });
    }
    typos.sort((a, b) => a.distance - b.distance || a.id - b.id);
    // An alias spelled exactly is the nearest of all: it names the canonical tag.
    const viaAlias = this.resolveId(query)?.viaAlias === undefined ? [] : [this.resolveId(query)!.id];
    const abbreviations = this.abbreviationsOf(query, k);
    let mostPopular = POPULAR_TYPO_RANK;
    for (const id of abbreviations) mostPopular = Math.min(mostPopular, id);
    const popularTypos = query.length < TYPO_BEFORE_ABBREVIATION_MIN_LENGTH || abbreviations.length === 0
      ? []
      : typos.filter((typo) => typo.distance === 1 && typo.id < mostPopular).slice(0, TYPOS_BEFORE_ABBREVIATIONS).map((typo) => typo.id);
    const ids = [...new Set([...viaAlias, ...popularTypos, ...abbreviations, ...typos.map((typo) => typo.id)])].slice(0, k);
    // The nearest typo of a popular tag keeps a place among them: `catt` is cat mistyped as often as cat_tail abbreviated.
    const oneEdit = typos.find((typo) => typo.distance === 1 && typo.id < POPULAR_TYPO_RANK)?.id;
    if (oneEdit !== undefined && k >= 2 && ids.length === k && !ids.some((id) => typos.some((typo) => typo.id === id && typo.distance === 1))) ids[k - 1] = oneEdit;
    return ids.map((id) => this.info(id));
  }

  /** Up to `limit` tags that `query` abbreviates or starts (from ABBREVIATION_MIN_LENGTH letters), most posts first. */
  private abbreviationsOf(query: string, limit: number): number[] {
    if (compactAbbreviation(query).length < ABBREVIATION_MIN_LENGTH) return [];
    const all = (): boolean => true;
    const starting = this.topPrefixIds(query, limit + 1, all).filter((id) => this.names[id] !== query);
    return [...new Set([...starting, ...this.abbreviationIds(query, limit, all, new Set())])].sort((a, b) => a - b).slice(0, limit);
  }

  categoryFilter(categories: number[] | undefined): (id: number) => boolean {
    const wanted = new Set(categories ?? [0]);
    return (id) => wanted.has(this.categories[id]);
  }

  /** Up to `limit` ids starting with `query`, most posts first. */
  private topPrefixIds(query: string, limit: number, allowed: (id: number) => boolean): number[] {
    const range = this.prefixIds(query);
    if (range.length > POPULARITY_SCAN_THRESHOLD) {
      const ids: number[] = [];
      for (let id = 0; id < this.size && ids.length < limit; id++) {
        if (allowed(id) && this.names[id].startsWith(query)) ids.push(id);
      }
      return ids;
    }
    return this.sortedIds(range).filter(allowed).slice(0, limit);
  }

  private sortedIds(ids: Iterable<number>): number[] {
    return [...new Set(ids)].sort((a, b) => a - b);
  }

  private aliasRange(query: string): [number, number] {
    return prefixRange(this.aliasNames.length, (i) => comparePrefixAt(this.aliasNames[i], 0, query));
  }

  private aliasesOf(id: number): string[] {
    if (!this.aliasesByTag) {
      this.aliasesByTag = new Map();
      for (let i = 0; i < this.aliasTargets.length; i++) {
        const target = this.aliasTargets[i];
        const list = this.aliasesByTag.get(target);
        if (list) list.push(this.aliasNames[i]);
        else this.aliasesByTag.set(target, [this.aliasNames[i]]);
      }
    }
    return this.aliasesByTag.get(id) ?? [];
  }
}

/** Loads the compact dictionary; defaults to the one shipped in models/dictionary/. */
export function loadDictionary(file: string = defaultDictionaryPath()): CompactTagDictionary {
  let data: Buffer;
  try {
    data = readBoundedFileSync(file, MAX_BYTES.dictionary);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the tag dictionary (${code === 'ENOENT' ? 'file not found' : code === 'EUNREADABLE' ? (err as Error).message : String(err)})`);
  }
  // A tag CSV as tagcomplete and other booru tools share it: converted in memory (~1 s for 140k tags).
  if (/\.csv$/i.test(file)) {
    const rows = parseRows(decodeUtf8Text(data, file), file);
    if (rows.length === 0) throw new Error(`${file}: no tags (expected lines name,category,post_count,"aliases")`);
    return new CompactTagDictionary(buildDictionary(rows), file);
  }
  return new CompactTagDictionary(data, file);
}
