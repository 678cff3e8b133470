// The engine's public contract, shared by the language server, the CLI and the tests.
// Nothing here imports VS Code or LSP types.

/** Danbooru tag categories as the dictionary stores them. */
export const enum TagCategory {
  General = 0,
  Artist = 1,
  Copyright = 3,
  Character = 4,
  Meta = 5,
}

/** One dictionary entry: a canonical tag, its category, post count and aliases. */
export interface TagInfo {
  name: string;
  category: number;
  count: number;
  aliases: string[];
}

/**
 * How a dictionary search matched the typed text. Ordered from best to worst: `abbreviation` is the
 * typed text read as the starts of the tag's words (`detco` → detached_collar), `fuzzy` a typo.
 */
export type MatchKind = 'prefix' | 'word' | 'alias' | 'abbreviation' | 'fuzzy';

export interface DictionaryMatch {
  tag: TagInfo;
  kind: MatchKind;
  /** Set when the match came through an alias: the alias the user typed towards. */
  alias?: string;
}

export interface SearchOptions {
  /** Categories to include; default [0] (general). */
  categories?: number[];
  /** Maximum matches returned. */
  limit?: number;
  /** Include typo-tolerant matches (ranked below real prefix matches). Default true. */
  fuzzy?: boolean;
}

export interface TagDictionary {
  readonly size: number;
  /** Exact lookup of a canonical tag; spaces and underscores are equivalent, case-insensitive. */
  get(tag: string): TagInfo | undefined;
  /** Canonical tag for a tag or an alias, or undefined when unknown. */
  resolve(tagOrAlias: string): { tag: TagInfo; viaAlias?: string } | undefined;
  /** Dictionary matches for a typed prefix: prefix, word-start, alias, abbreviation, then fuzzy. */
  search(prefix: string, options?: SearchOptions): DictionaryMatch[];
  /** Nearest real tags to an unknown one (an alias it spells, edit distance, abbreviations), for "did you mean". */
  nearest(tag: string, k: number): TagInfo[];
  /** Builds ahead what typo matching would build on first use (a server calls it after a load). */
  prepareTypoSearch?(): void;
}

export interface Completion {
  tag: string;
  score: number;
  category: number;
  count: number;
  kind: MatchKind;
  /** When the candidate was found through an alias. */
  alias?: string;
}

export interface CompleteOptions {
  /** Number of completions; default 10. */
  top?: number;
  categories?: number[];
  /**
   * The user's own preference, added to each candidate's score (natural-log units, as the model's
   * log-probability) by canonical tag name: the language server's picked tags (pickedTags.ts). A tag
   * here whose name starts with the prefix (or, from 3 letters, one of its words) is a candidate even
   * where the engine would not have looked at it.
   */
  bonus?: ReadonlyMap<string, number>;
  /**
   * More candidates found outside the dictionary's own names and aliases, by canonical tag name, each
   * with the text the user typed towards it: a translation (translations.ts). Ranked as alias matches.
   */
  extraAliases?: ReadonlyMap<string, string>;
  signal?: AbortSignal;
}

export interface NextTag {
  tag: string;
  probability: number;
}

/**
 * Thrown by sample() when the bans, the categories and the prompt's own tags leave no tag the model
 * can write: no setting of the draw could give a sample a tag. `prompt` only where the prompt's tags
 * took the last ones; the caller names the rest by its own settings.
 */
export class NothingToSampleError extends Error {
  constructor(readonly excludedBy: { ban: boolean; categories: boolean; prompt: boolean }) {
    super(NothingToSampleError.describe([excludedBy.ban && 'the bans', excludedBy.categories && 'the categories', excludedBy.prompt && PROMPT_TAGS].filter((cause) => cause !== false)));
    this.name = 'NothingToSampleError';
  }

  /**
   * `no tag is left to sample: CAUSES exclude every tag the model can write`, causes as the caller names
   * them (flags, settings); one alone is singular (`--ban "*" excludes`) but the plural ones here.
   */
  static describe(causes: readonly string[]): string {
    const plural = causes.length > 1 || PLURAL_CAUSES.has(causes[0]!);
    return `no tag is left to sample: ${causes.join(' and ')} ${plural ? 'exclude' : 'excludes'} every tag the model can write`;
  }
}

/** What NothingToSampleError names the prompt's own tags as a cause. */
export const PROMPT_TAGS = "the prompt's tags";
const PLURAL_CAUSES = new Set(['the bans', 'the categories', PROMPT_TAGS]);

export interface SampleOptions {
  /** Tags already written; the samples continue them (the prompt's tags are not repeated in the output). */
  prompt?: string[];
  n?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  minTags?: number;
  maxTags?: number;
  /**
   * Tags drafted per row and step by speculative sampling (same distribution, fewer model runs);
   * 0 samples one tag a step. Engines that cannot draft ignore it.
   */
  draftLength?: number;
  /** Banned tags; `*` is a glob (e.g. `*_background`). */
  ban?: string[];
  /**
   * Categories the samples' tags are of. A tag model samples its vocabulary's tags (what it was
   * trained on) unless given; a BPE model general tags (0) unless given.
   */
  categories?: number[];
  signal?: AbortSignal;
}

export interface ModelInfo {
  dir: string;
  name: string;
  kind: 'tag' | 'bpe';
  vocabSize: number;
  layers: number;
  heads: number;
  embedding: number;
  contextLength: number;
  parameters?: number;
  files: { path: string; bytes: number }[];
}

export interface TagEngine {
  readonly dictionary: TagDictionary;
  /** Undefined when running dictionary-only (no model, or the model failed to load). */
  readonly model: ModelInfo | undefined;
  /** Candidates for the tag being typed after `context`, best first; context tags excluded. */
  complete(context: string[], prefix: string, options?: CompleteOptions): Promise<Completion[]>;
  /** The model's most likely next tags after `context` (dictionary popularity when no model). */
  nextTags(context: string[], k: number, signal?: AbortSignal): Promise<NextTag[]>;
  /** Sampled continuations, each a list of new tags. */
  sample(options: SampleOptions): Promise<string[][]>;
  /**
   * The tags of `context`, as given and once each, that the model cannot read: outside its
   * vocabulary (an unknown tag, or a character or artist tag a model of general tags never saw).
   * They stay in a prompt but steer nothing. Empty for sub-word models (they read any text) and
   * without a model.
   */
  unseenTags(context: string[]): string[];
  /** The ban patterns that match no dictionary tag, as given (a typo: `*_backgrond`): they ban nothing. */
  unmatchedBans(patterns: readonly string[]): string[];
  /** Ban patterns as a test of canonical tag names (an alias bans its tag, `*` globs), as sample's `ban` reads them. */
  bannedTest(patterns: readonly string[]): (tag: string) => boolean;
  dispose(): Promise<void>;
}
