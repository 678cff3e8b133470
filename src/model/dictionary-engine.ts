// The engine without a model: completion and next tags from the dictionary alone, ranked by post count.
// The language server falls back to it when no model is configured or the model fails to load.
import { normalizePrefix, normalizeTag as normalizeDictionaryName, type CompactTagDictionary, type IdMatch } from './dictionary';
import { normalizeTag } from '../prompt/parser';
import { compileBans } from './sampler';
import { lastContextMemo } from '../util/memo';
import type { CompleteOptions, Completion, MatchKind, ModelInfo, NextTag, SampleOptions, TagEngine } from './types';

/** The search's order of match kinds: every literal prefix match before any word match, and so on. */
const MATCH_KIND_ORDER: Record<MatchKind, number> = { prefix: 0, word: 1, alias: 2, abbreviation: 3, fuzzy: 4 };

export class DictionaryOnlyEngine implements TagEngine {
  readonly model: ModelInfo | undefined = undefined;
  /** Whether a glob ban matches some tag: it scans the whole dictionary, and settings repeat. */
  private readonly unmatchedBanMemo = new Map<string, boolean>();
  private readonly bonusIdMemo = new WeakMap<ReadonlyMap<string, number>, Map<number, number>>();

  constructor(readonly dictionary: CompactTagDictionary) {}

  /** Canonical ids of the context's tags (aliases resolved), to exclude them from candidates. */
  readonly contextIds = lastContextMemo((context): ReadonlySet<number> => {
    const ids = new Set<number>();
    for (const tag of context) {
      const resolved = this.dictionary.resolveId(tag);
      if (resolved) ids.add(resolved.id);
    }
    return ids;
  });

  /**
   * Ban patterns as a test of the canonical tag names samples are made of: a name given as an alias
   * (`smiling`) bans its tag (`smile`), which is the only way it could appear; `*` globs match names as written.
   * A pattern is read as a prompt writes a tag (`gap \(touhou\)`, copied from one, is gap_(touhou)) and as
   * the dictionary spells it (`\(^o^)/`, whose backslash is its own).
   */
  bannedTest(patterns: readonly string[]): (tag: string) => boolean {
    return compileBans(patterns.flatMap((pattern) => this.banForms(pattern)), (name) => name);
  }

  /** The names a ban pattern stands for: read as a prompt writes it, and as written; a tag's alias as the tag. */
  private banForms(pattern: string): string[] {
    const forms = new Set([normalizeTag(pattern), normalizeDictionaryName(pattern)]);
    return [...forms].filter(Boolean).map((name) => (name.includes('*') ? name : (this.dictionary.resolve(name)?.tag.name ?? name)));
  }

  /**
   * The ban patterns that match no dictionary tag, as given (a typo such as `*_backgrond`): they ban
   * nothing, and a user who wrote one wants to know. Empty patterns are ignored, not reported.
   */
  unmatchedBans(patterns: readonly string[]): string[] {
    return patterns.filter((pattern) => {
      const forms = [normalizeTag(pattern), normalizeDictionaryName(pattern)].filter(Boolean);
      if (forms.length === 0) return false;
      // A plain tag is a lookup (a name or an alias); only a glob needs the scan, remembered.
      if (!forms.some((name) => name.includes('*'))) return forms.every((name) => this.dictionary.resolve(name) === undefined);
      let matches = this.unmatchedBanMemo.get(pattern);
      if (matches === undefined) {
        matches = this.dictionary.names.some(this.bannedTest([pattern]));
        this.unmatchedBanMemo.set(pattern, matches);
      }
      return !matches;
    });
  }

  /** Log of the tag's share of all posts: the popularity prior. */
  logPrior(id: number): number {
    return Math.log(Math.max(1, this.dictionary.counts[id]) / this.dictionary.totalCount);
  }

  /**
   * The tags of a completion's `bonus` (the user's picked tags) that the typed `query` reaches by
   * name, allowed and not excluded: candidates whatever their popularity.
   */
  private bonusMatches(bonus: ReadonlyMap<string, number> | undefined, query: string, allowed: (id: number) => boolean, exclude: ReadonlySet<number>): IdMatch[] {
    const matches: IdMatch[] = [];
    if (!bonus) return matches;
    for (const id of this.bonusById(bonus).keys()) {
      if (exclude.has(id) || !allowed(id)) continue;
      const kind = this.dictionary.nameMatch(id, query);
      if (kind) matches.push({ id, kind });
    }
    return matches;
  }

  /** The ids of `extraAliases`' tags (those the dictionary has), with the text typed towards each, allowed and not excluded. */
  private extraAliasMatches(extraAliases: ReadonlyMap<string, string> | undefined, allowed: (id: number) => boolean, exclude: ReadonlySet<number>): IdMatch[] {
    const matches: IdMatch[] = [];
    if (!extraAliases) return matches;
    for (const [name, alias] of extraAliases) {
      const id = this.dictionary.idOf(name);
      if (id >= 0 && !exclude.has(id) && allowed(id)) matches.push({ id, kind: 'alias', alias });
    }
    return matches;
  }

  /**
   * `matches` followed by the candidates a completion's options add that are not among them yet: the
   * picked tags the typed `query` reaches, then the extra aliases (translations). A tag already in
   * `matches` keeps its own kind of match. Every engine takes its extra candidates from here.
   */
  withExtraCandidates(matches: IdMatch[], { bonus, extraAliases }: CompleteOptions, query: string, allowed: (id: number) => boolean, exclude: ReadonlySet<number>): IdMatch[] {
    const listed = new Set(matches.map((match) => match.id));
    const all = [...matches];
    for (const extra of [...this.bonusMatches(bonus, query, allowed, exclude), ...this.extraAliasMatches(extraAliases, allowed, exclude)]) {
      if (listed.has(extra.id)) continue;
      listed.add(extra.id);
      all.push(extra);
    }
    return all;
  }

  /**
   * A bonus by dictionary id, looked up once per bonus map: the server hands the same map to every
   * keystroke until a pick changes it, and 2,000 name lookups a keystroke cost ~6 ms.
   */
  private bonusById(bonus: ReadonlyMap<string, number>): Map<number, number> {
    let byId = this.bonusIdMemo.get(bonus);
    if (!byId) {
      byId = new Map();
      for (const [name, value] of bonus) {
        const id = this.dictionary.idOf(name);
        if (id >= 0) byId.set(id, value);
      }
      this.bonusIdMemo.set(bonus, byId);
    }
    return byId;
  }

  /** Each candidate's share of `bonus` by id (0 for tags the user never picked): one lookup per completion. */
  bonusOfIds(bonus: ReadonlyMap<string, number> | undefined): (id: number) => number {
    if (!bonus?.size) return () => 0;
    const byId = this.bonusById(bonus);
    return (id) => byId.get(id) ?? 0;
  }

  complete(context: string[], prefix: string, options: CompleteOptions = {}): Promise<Completion[]> {
    const top = options.top ?? 10;
    const exclude = this.contextIds(context);
    let matches = this.dictionary.searchIds(prefix, { categories: options.categories, limit: top + exclude.size });
    const { bonus, extraAliases } = options;
    const bonusOf = this.bonusOfIds(bonus);
    if (bonus?.size || extraAliases?.size) {
      matches = this.sortedWithExtras(this.withExtraCandidates(matches, options, normalizePrefix(prefix), this.dictionary.categoryFilter(options.categories), exclude), bonusOf);
    }
    const completions: Completion[] = [];
    for (const match of matches) {
      if (exclude.has(match.id) || completions.length >= top) continue;
      const completion: Completion = {
        tag: this.dictionary.names[match.id],
        score: this.logPrior(match.id) + bonusOf(match.id),
        category: this.dictionary.categories[match.id],
        count: this.dictionary.counts[match.id],
        kind: match.kind,
      };
      if (match.alias !== undefined) completion.alias = match.alias;
      completions.push(completion);
    }
    return Promise.resolve(completions);
  }

  /**
   * Search matches with the extra candidates added, each kind's block in order of popularity plus
   * bonus (the order the search gives, by popularity, when nothing was picked); abbreviations and
   * typos keep the search's order, picked ones first.
   */
  private sortedWithExtras(all: IdMatch[], bonusOf: (id: number) => number): IdMatch[] {
    const byPopularity = (kind: MatchKind): boolean => kind === 'prefix' || kind === 'word' || kind === 'alias';
    const key = (match: IdMatch): number => bonusOf(match.id) + (byPopularity(match.kind) ? this.logPrior(match.id) : 0);
    // Array.prototype.sort is stable: equal keys keep the search's order.
    return all.sort((a, b) => MATCH_KIND_ORDER[a.kind] - MATCH_KIND_ORDER[b.kind] || key(b) - key(a));
  }

  nextTags(context: string[], k: number): Promise<NextTag[]> {
    const exclude = this.contextIds(context);
    const allowed = this.dictionary.categoryFilter([0]);
    const ids: number[] = [];
    let total = 0;
    for (let id = 0; id < this.dictionary.size; id++) {
      if (!allowed(id)) continue;
      total += this.dictionary.counts[id];
      if (ids.length < k && !exclude.has(id)) ids.push(id);
    }
    return Promise.resolve(
      ids.map((id) => ({ tag: this.dictionary.names[id], probability: this.dictionary.counts[id] / total })),
    );
  }

  sample(_options: SampleOptions): Promise<string[][]> {
    return Promise.reject(new Error('sampling needs a model; the engine is running on the tag dictionary only'));
  }

  unseenTags(_context: string[]): string[] {
    return [];
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
