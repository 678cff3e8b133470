// The model engine for tag models (one token per tag, WordLevel tokenizer): completion ranked by the
// model's next-tag distribution over the context, next tags, and batched sampling.
// BPE text models (one tag = several tokens) are handled by bpe-engine.ts on the same session.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { normalizePrefix, normalizeTag, type CompactTagDictionary } from './dictionary';
import { DictionaryOnlyEngine } from './dictionary-engine';
import { lastContextMemo } from '../util/memo';
import { defaultModelDir, readModelFolder, type ModelFiles } from './model-folder';
import { PrefixCache } from './prefix-cache';
import { inVocabularyScore, outOfVocabularyScore, rankingWithoutRelated, readRanking, type RankingConfig } from './ranking';
import { RelatedWeights, checkVocabulary, vocabularySha256 } from './related';
import {
  chooseTokenOrStop,
  createRandom,
  ArrayPool,
  type ArraySource,
  distributionOf,
  drawFrom,
  probabilityOf,
  rankAllowed,
  stops,
  targetProbability,
  verifyDraft,
  type PositionHints,
  type RankedTokens,
  type TokenDistribution,
} from './sampler';
import { GptSession, logSoftmaxRow, logSumExp, type PastState } from './session';
import { NothingToSampleError, type CompleteOptions, type Completion, type MatchKind, type ModelInfo, type NextTag, type SampleOptions, type TagEngine } from './types';

export { defaultModelDir } from './model-folder';

/** Contexts kept in the KV cache; a 30-tag context of the default model is ~150 KB. */
const CACHE_CAPACITY = 64;
/** Sampling prompts whose from-scratch state is kept (sampling again from one prompt is common). */
const PROMPT_CACHE_CAPACITY = 8;
/**
 * Tags drafted per row and step by speculative sampling (0: one tag a step). Tuned with
 * `npm run bench:model` on the shipped model; see docs/benchmarks.md.
 */
export const DEFAULT_DRAFT_LENGTH = 4;
/**
 * How far below the draft distribution's k-th logit the next one's k-th is looked for first. The
 * k-th logit moved by at most 0.32 from one position to the next in 99 % of 10,025 checks (5 × 40
 * tags, top-k 50): a wider margin only gathers more tokens to rank (the sampler tries lower hints
 * when too few reach it, and the answer is the same either way).
 */
const HINT_MARGIN = 0.3;
/**
 * Abbreviations (`detco` → detached_collar) sort after all real matches, ranked among themselves as
 * those are; typo-tolerant matches after them.
 */
const ABBREVIATION_PENALTY = 500;
const FUZZY_OFFSET = -1000;
/** Typos by edit distance, then post count: an edit costs more than the prior's whole range (~20). */
const FUZZY_EDIT_COST = 50;
/** Abbreviated tags scored by the tag model when the real matches do not fill the list. */
const ABBREVIATIONS_SCORED = 256;

export interface EngineLoadOptions {
  modelDir?: string;
  threads?: number;
}

/** A cached model state: the past after the context and the log-probabilities of the next token. */
export interface ContextState {
  past: PastState;
  logProbs: Float32Array;
}

/** A state computed afresh, with what its log-probabilities were shifted by. */
export interface FreshState extends ContextState {
  /** The log-sum-exp of the logits: logit = log-probability + logSumExp (up to rounding). */
  logSumExp: number;
}

export abstract class ModelEngineBase extends DictionaryOnlyEngine implements TagEngine {
  override readonly model: ModelInfo;
  private tokenizerInstance: Tokenizer | undefined;
  readonly cache = new PrefixCache<ContextState>(CACHE_CAPACITY);
  /**
   * States of sampling prompts, each computed from scratch by freshState: apart from `cache`,
   * whose states may be built a tag at a time, so that samples never depend on what was completed before.
   */
  readonly promptCache = new PrefixCache<FreshState>(PROMPT_CACHE_CAPACITY);
  /** Forward passes run (for tests and benchmarks: a cache hit runs none). */
  forwardPasses = 0;
  /** Token ids that are special (bos, eos, pad, unk, ...): never sampled, never completed. */
  readonly specialTokens: Set<number>;

  constructor(
    dictionary: CompactTagDictionary,
    readonly files: ModelFiles,
    readonly session: GptSession,
    readonly ranking: RankingConfig,
    readonly kind: 'tag' | 'bpe',
  ) {
    super(dictionary);
    this.specialTokens = specialTokenIds(files);
    this.model = modelInfo(files, kind);
  }

  /** The folder's tokenizer.json as a Hugging Face tokenizer (built on first use: tag models rarely need it). */
  get tokenizer(): Tokenizer {
    this.tokenizerInstance ??= new Tokenizer(this.files.tokenizer.json as never, this.files.tokenizer.config as never);
    return this.tokenizerInstance;
  }

  /**
   * Model state after `tokens`, from the cache or by running only the tokens after the longest cached
   * prefix. A run is never of one token after a cached past: the int8 graph's one-position kernels
   * round differently from its several-position ones (in 5 of 4,122 states of real posts the logits
   * moved by up to 0.05, and completion's order with them), so one new token runs with the cached
   * token before it again, which gives exactly what a run from scratch gives.
   */
  async contextState(tokens: number[]): Promise<ContextState> {
    const cached = this.cache.longestPrefix(tokens);
    if (cached && cached.length === tokens.length) return cached.value;
    let start = cached?.length ?? 0;
    let past = cached?.value.past ?? this.session.emptyPast(1);
    if (tokens.length - start === 1 && start > 0 && this.session.hasCache) {
      start--;
      past = this.session.dropLast(past, 1);
    }
    const result = await this.session.forward([tokens.slice(start)], past);
    this.forwardPasses++;
    const steps = tokens.length - start;
    const state = { past: result.past, logProbs: logSoftmaxRow(result.logits, (steps - 1) * result.vocab, result.vocab) };
    this.cache.set(tokens, state);
    return state;
  }

  /**
   * The same state computed from scratch in one run (or kept from such a run): for sampling, whose
   * results must not depend on cache history. Callers must not modify it.
   */
  async freshState(tokens: number[]): Promise<FreshState> {
    const kept = this.promptCache.get(tokens);
    if (kept) return kept;
    const result = await this.session.forward([tokens], this.session.emptyPast(1));
    this.forwardPasses++;
    const offset = (tokens.length - 1) * result.vocab;
    const logSum = logSumExp(result.logits, offset, result.vocab);
    const state = { past: result.past, logProbs: logSoftmaxRow(result.logits, offset, result.vocab, logSum), logSumExp: logSum };
    this.promptCache.set(tokens, state);
    return state;
  }

  /** Score of a candidate that the model cannot score (outside its vocabulary). */
  oovScore(id: number): number {
    return outOfVocabularyScore(this.ranking, this.dictionary.counts[id]);
  }

  kindPenalty(kind: MatchKind): number {
    // (A one-edit typo of a popular tag competes with the abbreviations: dictionary.popularTypos.)
    if (kind === 'abbreviation' || kind === 'fuzzy') return ABBREVIATION_PENALTY;
    return kind === 'word' ? this.ranking.wordPenalty : kind === 'alias' ? this.ranking.aliasPenalty : 0;
  }

  protected completion(id: number, score: number, kind: MatchKind, alias?: string): Completion {
    const completion: Completion = {
      tag: this.dictionary.names[id],
      score,
      category: this.dictionary.categories[id],
      count: this.dictionary.counts[id],
      kind,
    };
    if (alias !== undefined) completion.alias = alias;
    return completion;
  }

  /** Appends typo-tolerant matches after the real ones when those do not fill `top`. */
  protected addFuzzy(
    results: Completion[],
    query: string,
    top: number,
    allowed: (id: number) => boolean,
    seen: Set<number>,
  ): void {
    if (results.length >= top || query.length < 3) return;
    for (const match of this.dictionary.fuzzyMatches(query, top - results.length, allowed, seen)) {
      results.push(this.completion(match.id, FUZZY_OFFSET + this.logPrior(match.id) - FUZZY_EDIT_COST * (match.distance ?? 0), 'fuzzy'));
    }
  }

  override async dispose(): Promise<void> {
    this.cache.clear();
    this.promptCache.clear();
    await this.session.release();
  }
}

/** One token per tag: the context is `<|bos|> tag tag ...`, tags outside the vocabulary left out. */
export class TagModelEngine extends ModelEngineBase {
  readonly bosId: number;
  readonly eosId: number;
  /** Vocabulary token -> dictionary id, through aliases for retired names (-1: not a dictionary tag). */
  readonly tokenToTag: Int32Array;
  /**
   * Dictionary id -> the vocabulary token that stands for it: the one spelled so, else its retired
   * name's (hand_on_own_hip -> hand_on_hip); -1: outside the vocabulary.
   */
  readonly tagToToken: Int32Array;
  /** Vocabulary tokens as tags, normalized, for tokens the dictionary does not know. */
  readonly tokenNames: string[];
  /** 1 for the tokens no sample may emit whatever the options: special tokens and tags the dictionary does not know. */
  readonly unsampleable: Uint8Array;
  /**
   * Speculative sampling's drafts so far by depth (index 0: a row's first draft of a step), checked
   * and kept: for benchmarks, whose figures depend on how often drafts are kept.
   */
  readonly draftStatistics = { proposed: [] as number[], accepted: [] as number[] };
  /** The pool speculative sampling takes its arrays from; undefined while a call holds it. */
  private idleArrayPool: ArrayPool | undefined = new ArrayPool();
  /** Dictionary ids of the vocabulary's tags, most posts first. */
  readonly vocabularyTagIds: number[];
  /** related.json's weights, when the folder has them and ranking.json gives them a weight. */
  readonly related: RelatedWeights | undefined;

  constructor(dictionary: CompactTagDictionary, files: ModelFiles, session: GptSession, ranking: RankingConfig) {
    super(dictionary, files, session, ranking, 'tag');
    const vocab = files.tokenizer.vocab;
    const special = files.config.tagModel.special_tokens as Record<string, string> | undefined;
    this.bosId = files.config.bosTokenId ?? vocab.get(special?.bos ?? '<|bos|>') ?? -1;
    this.eosId = files.config.eosTokenId ?? vocab.get(special?.eos ?? '<|eos|>') ?? -1;
    if (this.bosId < 0) throw new Error(`${files.configPath}: no bos_token_id and no <|bos|> token`);
    this.tokenToTag = new Int32Array(files.config.vocabSize).fill(-1);
    this.tagToToken = new Int32Array(dictionary.size).fill(-1);
    this.tokenNames = new Array<string>(files.config.vocabSize).fill('');
    for (const [token, id] of vocab) {
      if (this.specialTokens.has(id)) continue;
      const name = normalizeTag(token);
      this.tokenNames[id] = name;
      const tagId = dictionary.idOf(name);
      if (tagId >= 0) {
        this.tokenToTag[id] = tagId;
        this.tagToToken[tagId] = id;
      }
    }
    // A token spelled as an alias (the training data's retired name, e.g. hand_on_hip) stands for its
    // canonical tag (hand_on_own_hip) in contexts, sampled tags and ranking; lowest id (most frequent)
    // wins. (Ranking once kept training/evaluate.py's exact names, which changes none of its cases: its
    // targets are dictionary tags, which a 2020 post never holds under the new name. The 145 tags were
    // then ranked by post count alone: rabbit_ears below rabbit_boy after a bunny girl's tags.)
    for (let id = 0; id < this.tokenNames.length; id++) {
      if (!this.tokenNames[id] || this.tokenToTag[id] >= 0) continue;
      const resolved = dictionary.resolveId(this.tokenNames[id]);
      if (!resolved?.viaAlias || this.tagToToken[resolved.id] >= 0) continue;
      this.tokenToTag[id] = resolved.id;
      this.tagToToken[resolved.id] = id;
    }
    this.unsampleable = Uint8Array.from(this.tokenToTag, (tag) => (tag < 0 ? 1 : 0));
    this.vocabularyTagIds = [];
    for (let id = 0; id < dictionary.size; id++) if (this.tagToToken[id] >= 0) this.vocabularyTagIds.push(id);
    this.related =
      files.relatedPath && ranking.relatedWeight !== 0
        ? RelatedWeights.load(files.relatedPath, files.config.vocabSize, files.vocabularySha256)
        : undefined;
  }

  /** Vocabulary token of a tag or alias (any spelling), or -1. */
  tokenOf(tag: string): number {
    // The model's own spelling first: its vocabulary may hold names the dictionary now calls aliases.
    const exact = this.files.tokenizer.vocab.get(normalizeTag(tag));
    if (exact !== undefined && !this.specialTokens.has(exact)) return exact;
    const resolved = this.dictionary.resolveId(tag);
    return resolved ? this.tagToToken[resolved.id] : -1;
  }

  override unseenTags(context: string[]): string[] {
    return [...new Set(context.filter((tag) => this.tokenOf(tag) < 0))];
  }

  /** `<|bos|>` then the context's known tags once each, cut to the model's context length (latest kept). */
  contextTokens(context: string[]): number[] {
    const tokens = this.tagTokens(context);
    const room = this.files.config.contextLength - 1;
    return [this.bosId, ...tokens.slice(Math.max(0, tokens.length - room))];
  }

  /** The vocabulary tokens of the context's tags, once each, in order (special tokens left out). */
  private readonly tagTokens = lastContextMemo((context): readonly number[] => {
    const tokens: number[] = [];
    const seen = new Set<number>();
    for (const tag of context) {
      const token = this.tokenOf(tag);
      if (token < 0 || seen.has(token) || this.specialTokens.has(token)) continue;
      seen.add(token);
      tokens.push(token);
    }
    return tokens;
  });

  override async complete(context: string[], prefix: string, options: CompleteOptions = {}): Promise<Completion[]> {
    const top = options.top ?? 10;
    const query = normalizePrefix(prefix);
    const allowed = this.dictionary.categoryFilter(options.categories);
    const exclude = this.contextIds(context);
    const contextTokens = this.contextTokens(context);
    const state = await this.contextState(contextTokens);
    options.signal?.throwIfAborted();
    const { logProbs } = state;
    const related = this.related?.scores(contextTokens.slice(1), logProbs.length);
    const seen = new Set<number>(exclude);
    const results: Completion[] = [];
    const { bonus } = options;
    const bonusOf = this.bonusOfIds(bonus);
    const score = (id: number, kind: MatchKind): number => {
      const token = this.tagToToken[id];
      const base =
        token >= 0
          ? inVocabularyScore(this.ranking, logProbs[token], this.dictionary.counts[id], related?.[token] ?? 0)
          : this.oovScore(id);
      return base - this.kindPenalty(kind) + bonusOf(id);
    };
    const add = (id: number, kind: MatchKind, alias?: string): void => {
      if (seen.has(id) || !allowed(id)) return;
      seen.add(id);
      results.push(this.completion(id, score(id, kind), kind, alias));
    };

    // Literal prefix matches: every one in the vocabulary, and the most popular ones outside it
    // (the prior is monotonic in post count, so only those can reach the top).
    const range = this.dictionary.prefixIds(query);
    if (range.length > this.vocabularyTagIds.length) {
      for (const id of this.vocabularyTagIds) if (this.dictionary.names[id].startsWith(query)) add(id, 'prefix');
    } else {
      for (const id of range) if (this.tagToToken[id] >= 0) add(id, 'prefix');
    }
    for (const id of this.popularOutOfVocabulary(range, query, top + exclude.size, allowed)) add(id, 'prefix');
    // The user's picked tags outside the vocabulary, however rare (those inside were all added above),
    // and the tags found by translation.
    for (const { id, kind, alias } of this.withExtraCandidates([], options, query, allowed, seen)) add(id, kind, alias);
    if (query.length >= 3) {
      for (const id of this.dictionary.wordMatchIds(query)) add(id, 'word');
      for (const [id, alias] of this.dictionary.aliasMatches(query)) add(id, 'alias', alias);
    } else if (query) {
      // Shorter, only an alias typed in full (`<3` heart, `:)` smile, `tv` television): the list was empty.
      const resolved = this.dictionary.resolveId(query);
      if (resolved?.viaAlias !== undefined) add(resolved.id, 'alias', resolved.viaAlias);
    }
    // The model ranks the abbreviated tags among themselves: the most popular few hundred are scored.
    if (results.length < top) {
      const abbreviations = this.dictionary.abbreviationIds(query, ABBREVIATIONS_SCORED, allowed, seen);
      for (const id of abbreviations) add(id, 'abbreviation');
      for (const id of this.dictionary.popularTypos(query, abbreviations, allowed, seen)) add(id, 'fuzzy');
    }
    results.sort((a, b) => b.score - a.score || b.count - a.count);
    results.length = Math.min(results.length, top);
    this.addFuzzy(results, query, top, allowed, seen);
    return results;
  }

  /** Up to `limit` ids of `range` outside the vocabulary, most posts first. */
  private popularOutOfVocabulary(
    range: Uint32Array,
    query: string,
    limit: number,
    allowed: (id: number) => boolean,
  ): number[] {
    const ids: number[] = [];
    const wanted = (id: number): boolean => this.tagToToken[id] < 0 && allowed(id);
    if (range.length > 4096) {
      for (let id = 0; id < this.dictionary.size && ids.length < limit; id++) {
        if (wanted(id) && this.dictionary.names[id].startsWith(query)) ids.push(id);
      }
      return ids;
    }
    return Array.from(range)
      .filter(wanted)
      .sort((a, b) => a - b)
      .slice(0, limit);
  }

  override async nextTags(context: string[], k: number, signal?: AbortSignal): Promise<NextTag[]> {
    const tokens = this.contextTokens(context);
    const { logProbs } = await this.contextState(tokens);
    signal?.throwIfAborted();
    // Every tag of the context, not only those in the model's window: a prompt of 300 tags got a list short of them.
    const inContext = new Set(this.tagTokens(context));
    const candidates: number[] = [];
    for (let token = 0; token < logProbs.length; token++) {
      // Dictionary tags only: the vocabulary's retired 2020 names would be flagged as unknown tags.
      if (this.tokenToTag[token] >= 0 && !inContext.has(token)) candidates.push(token);
    }
    candidates.sort((a, b) => logProbs[b] - logProbs[a]);
    return candidates.slice(0, k).map((token) => ({
      tag: this.tagName(token),
      probability: Math.exp(logProbs[token]),
    }));
  }

  /** The canonical dictionary name of a vocabulary token (its own text when the dictionary lacks it). */
  tagName(token: number): string {
    const id = this.tokenToTag[token];
    return id >= 0 ? this.dictionary.names[id] : this.tokenNames[token];
  }

  override async sample(options: SampleOptions = {}): Promise<string[][]> {
    const settings = sampleSettings(options, this.files.config.contextLength);
    const promptTokens = this.contextTokens(options.prompt ?? []);
    // Tokens no sample may emit: special tokens, tags the dictionary does not know (retired names
    // in the training data), banned tags, tags of other categories when they are given, the prompt's tags.
    const blocked = this.unsampleable.slice();
    if (options.ban?.length) {
      const banned = this.bannedTest(options.ban);
      for (let token = 0; token < blocked.length; token++) if (!blocked[token] && banned(this.tagName(token))) blocked[token] = 1;
    }
    if (options.categories) {
      const inCategories = this.dictionary.categoryFilter(options.categories);
      for (let token = 0; token < blocked.length; token++) if (!blocked[token] && !inCategories(this.tokenToTag[token])) blocked[token] = 1;
    }
    // The stop token is drawn apart (chooseTokenOrStop, stops): masked for every tag draw.
    if (this.eosId >= 0) blocked[this.eosId] = 1;
    const leftByBans = blocked.includes(0);
    // All of them: a prompt longer than the model's window reads only its last tags, but repeats none.
    for (const token of this.tagTokens(options.prompt ?? [])) blocked[token] = 1;
    // A top-k of every tag a sample may hold is no cut: drawn as top-k 0 (the editor allows up to 2^53;
    // ranked and sorted at each position it took 5-6 times as long and hundreds of MB).
    let allowed = 0;
    for (let token = 0; token < blocked.length; token++) allowed += blocked[token] === 0 ? 1 : 0;
    if (allowed === 0) throw new NothingToSampleError({ ban: (options.ban?.length ?? 0) > 0, categories: options.categories !== undefined, prompt: leftByBans });
    if (settings.topK >= allowed) settings.topK = 0;
    const random = createRandom(settings.seed);
    const state = await this.freshState(promptTokens);
    options.signal?.throwIfAborted();
    const draftLength = options.draftLength ?? DEFAULT_DRAFT_LENGTH;
    // Drafts need a distribution to draw from (temperature > 0) and a short top-k list to rank cheaply
    // (a long one is sorted whole at each position, slower than drawing one tag a step).
    if (draftLength > 0 && settings.temperature > 0 && settings.topK > 0 && settings.topK <= MAX_DRAFT_TOP_K && this.session.supportsRowLayout) {
      const outputs = await this.withArrayPool((arrays) =>
        this.sampleSpeculatively(settings, promptTokens.length, state, blocked, random, draftLength, options.signal, arrays),
      );
      return outputs.map((tokens) => tokens.map((token) => this.tagName(token)));
    }

    // Per row: its tags, and the tokens it may not emit (the shared blocks, then its own tags).
    const rows = Array.from({ length: settings.n }, () => ({ output: [] as number[], mask: blocked.slice(), pending: -1 }));
    let active = rows.map((_, row) => row);
    let past = this.session.expandPast(state.past, settings.n);
    // The first step draws every row from the prompt's distribution; later ones from each row's own.
    let logits: Float32Array = state.logProbs;
    let rowStride = 0;
    const vocab = state.logProbs.length;

    while (active.length > 0) {
      const stillActive = active.filter((row, index) =>
        this.emitFromTarget(rows[row], logits, index * rowStride, settings, random, promptTokens.length),
      );
      if (stillActive.length === 0) break;
      options.signal?.throwIfAborted();
      if (stillActive.length < active.length) {
        past = this.session.selectRows(
          past,
          stillActive.map((row) => active.indexOf(row)),
        );
      }
      const result = await this.session.forward(
        stillActive.map((row) => [rows[row].pending]),
        past,
      );
      this.forwardPasses++;
      past = result.past;
      logits = result.logits;
      rowStride = vocab;
      active = stillActive;
    }
    const outputs = rows.map((row) => row.output);
    return outputs.map((tokens) => tokens.map((token) => this.tagName(token)));
  }

  /**
   * Speculative sampling with the model as its own draft. The tags are a set and the model was
   * trained on random orders, so its distribution for the next tag barely moves when one tag is
   * added: tags drawn from the last distribution the model gave (each excluded once drawn) are
   * accepted ~90 % of the time. One session.run checks every row's drafts at once; each accepted
   * draft saves a step, a rejected one is replaced by a token from the residual, and the samples
   * have exactly the distribution of one-tag-a-step sampling (stop token included: it is decided
   * at every position with the model's probability, as chooseTokenOrStop does). Rows keep rejected
   * positions in the cache, hidden by their attention masks.
   */
  private async sampleSpeculatively(
    settings: SampleSettings,
    promptLength: number,
    state: FreshState,
    blocked: Uint8Array,
    random: () => number,
    draftLength: number,
    signal: AbortSignal | undefined,
    arrays: ArraySource,
  ): Promise<number[][]> {
    const vocab = this.files.config.vocabSize;
    const contextLength = this.files.config.contextLength;
    // The stop token stays masked in every row (stopsHere and emitFromTarget open it only for their draw).
    interface Row {
      output: number[];
      /** Tokens this row may not emit (shared blocks, then its own tags). */
      mask: Uint8Array;
      /** The last token emitted, not yet in the cache. */
      pending: number;
      /** Logits of the last position the model scored for this row: the draft distribution. */
      draftLogits: Float32Array;
      draftOffset: number;
      /** That position's ranking from the last tag's draw (it still holds that tag): drafts reuse it. */
      draftRanked?: RankedTokens;
      /** Per physical cache slot: 1 = a token of this row's sequence, 0 = a rejected draft or padding. */
      attention: number[];
    }
    const outputs: number[][] = Array.from({ length: settings.n }, () => []);
    // The first tag of every row comes from the prompt's own distribution, as in the plain loop.
    let rows: Row[] = [];
    const keep: number[] = [];
    for (let r = 0; r < settings.n; r++) {
      const row: Row = {
        output: outputs[r],
        mask: blocked.slice(),
        pending: -1,
        draftLogits: state.logProbs,
        draftOffset: 0,
        attention: new Array<number>(promptLength).fill(1),
      };
      if (this.emitFromTarget(row, state.logProbs, 0, settings, random, promptLength, { depth: draftLength + 1 }, arrays)) {
        rows.push(row);
        keep.push(r);
      }
    }
    let past = this.session.expandPast(state.past, settings.n);
    if (rows.length < settings.n) past = this.session.selectRows(past, keep);
    const positionOf = (row: Row): number => promptLength + row.output.length - 1;

    while (rows.length > 0) {
      signal?.throwIfAborted();
      // Draft: for each row up to draftLength tags from its draft distribution, without repeats.
      const drafts: number[][] = [];
      const proposals: TokenDistribution[][] = [];
      // Per row: a value likely below the k-th best of the next distributions (they move little).
      const hints: number[] = [];
      for (const row of rows) {
        const room = Math.min(draftLength, settings.maxTags - row.output.length, contextLength - 1 - positionOf(row));
        const rowDrafts: number[] = [];
        const rowProposals: TokenDistribution[] = [];
        // One ranking of the draft logits serves every draft: each excludes the tags before it. It is
        // the one the last tag was drawn from (deep enough for the drafts), so that tag is skipped too.
        const ranked = row.draftRanked ?? rankAllowed(row.draftLogits, row.draftOffset, vocab, row.mask, settings.topK + room, -Infinity, arrays);
        const skip = row.draftRanked ? [row.pending] : [];
        // The prompt's distribution is in log-probabilities, the model's next ones in logits.
        const shift = row.draftLogits === state.logProbs ? state.logSumExp : 0;
        hints.push(ranked.size >= settings.topK ? ranked.values[settings.topK - 1] + shift - HINT_MARGIN : -Infinity);
        for (let j = 0; j < room; j++) {
          const proposal = distributionOf(ranked, [...skip, ...rowDrafts], settings, arrays);
          if (proposal.size === 0) break;
          rowDrafts.push(drawFrom(proposal, random));
          rowProposals.push(proposal);
        }
        drafts.push(rowDrafts);
        proposals.push(rowProposals);
      }
      // Score: each row feeds its pending tag and its drafts; shorter rows are padded (hidden).
      const steps = 1 + Math.max(...drafts.map((d) => d.length));
      const inputs = rows.map((row, r) => {
        const fed = [row.pending, ...drafts[r]];
        while (fed.length < steps) fed.push(row.pending);
        return fed;
      });
      const layout = {
        attentionMask: rows.map((row, r) => [...row.attention, ...inputs[r].map((_, s) => (s <= drafts[r].length ? 1 : 0))]),
        positions: rows.map((row, r) => inputs[r].map((_, s) => Math.min(positionOf(row) + s, contextLength - 1))),
      };
      const result = await this.session.forward(inputs, past, layout);
      this.forwardPasses++;
      // Verify each row's drafts against the model's distribution after the tags before them.
      const stillActive: number[] = [];
      rows.forEach((row, r) => {
        const rowDrafts = drafts[r];
        let cached = 1; // the pending tag is now in the cache
        let active = true;
        let rejected = false;
        for (let j = 0; j < rowDrafts.length && active; j++) {
          const offset = (r * steps + j) * vocab;
          if (this.stopsHere(row, result.logits, offset, settings, random)) {
            active = false;
            break;
          }
          // Built at most once: when the quick probability is not exact, or when the draft is rejected.
          let target: TokenDistribution | undefined;
          let targetRanked: RankedTokens | undefined;
          const fullTarget = (): TokenDistribution => {
            // Ranked deep enough to serve as the next drafts' ranking if the draft is rejected.
            targetRanked ??= rankAllowed(result.logits, offset, vocab, row.mask, settings.topK + draftLength + 1, hints[r], arrays);
            return (target ??= distributionOf(targetRanked, [], settings, arrays));
          };
          const draft = rowDrafts[j];
          const quick = targetProbability(result.logits, offset, vocab, row.mask, draft, settings, hints[r]);
          const p = quick ?? probabilityOf(fullTarget(), draft);
          const { token, accepted } = verifyDraft(draft, p, proposals[r][j], random, fullTarget);
          this.draftStatistics.proposed[j] = (this.draftStatistics.proposed[j] ?? 0) + 1;
          if (accepted) this.draftStatistics.accepted[j] = (this.draftStatistics.accepted[j] ?? 0) + 1;
          row.output.push(token);
          row.mask[token] = 1;
          if (!accepted) {
            row.pending = token;
            row.draftLogits = result.logits;
            row.draftOffset = offset;
            row.draftRanked = targetRanked;
            rejected = true;
            active = this.mayContinue(row, settings, promptLength);
            break;
          }
          cached++;
          if (!this.mayContinue(row, settings, promptLength)) active = false;
        }
        if (active && !rejected) {
          // Every draft kept: the next tag comes from the last position's distribution.
          const offset = (r * steps + rowDrafts.length) * vocab;
          active = this.emitFromTarget(
            row,
            result.logits,
            offset,
            settings,
            random,
            promptLength,
            { depth: draftLength + 1, floor: hints[r] },
            arrays,
          );
          row.draftLogits = result.logits;
          row.draftOffset = offset;
        }
        for (let s = 0; s < steps; s++) row.attention.push(s < cached ? 1 : 0);
        if (active) stillActive.push(r);
      });
      past = result.past;
      if (stillActive.length < rows.length) {
        if (stillActive.length === 0) break;
        past = this.session.selectRows(past, stillActive);
        rows = stillActive.map((r) => rows[r]);
      }
    }
    return outputs;
  }

  /**
   * Runs `work` with the engine's pool of rankings and distributions, or a new one while another
   * sampling call holds it (calls interleave at each await). A pool made per call cost more than
   * the arrays it saves in bench:model, whose calls start on a collected heap.
   */
  private async withArrayPool<T>(work: (arrays: ArraySource) => Promise<T>): Promise<T> {
    const arrays = this.idleArrayPool ?? new ArrayPool();
    this.idleArrayPool = undefined;
    try {
      return await work(arrays);
    } finally {
      arrays.reset();
      this.idleArrayPool = arrays;
    }
  }

  /** Whether the row stops at this position (the stop token drawn with the model's probability). */
  private stopsHere(
    row: { output: number[]; mask: Uint8Array },
    logits: Float32Array,
    offset: number,
    settings: SampleSettings,
    random: () => number,
  ): boolean {
    const eos = this.eosId;
    if (eos < 0 || row.output.length < settings.minTags) return false;
    row.mask[eos] = 0;
    try {
      return stops(logits, offset, this.files.config.vocabSize, row.mask, eos, settings.temperature, random());
    } finally {
      row.mask[eos] = 1;
    }
  }

  /**
   * Draws the next tag of a row from the model's distribution (or stops); false when the row is
   * done. The ranking it drew from, `hints.depth` entries past top-k, is kept on the row for drafts.
   */
  private emitFromTarget(
    row: { output: number[]; mask: Uint8Array; pending: number; draftRanked?: RankedTokens },
    logits: Float32Array,
    offset: number,
    settings: SampleSettings,
    random: () => number,
    promptLength: number,
    hints: PositionHints = {},
    arrays?: ArraySource,
  ): boolean {
    const eos = this.eosId;
    if (eos >= 0) row.mask[eos] = row.output.length >= settings.minTags ? 0 : 1;
    const { token, ranked } = chooseTokenOrStop(logits, offset, this.files.config.vocabSize, row.mask, eos, settings, random, hints, arrays);
    if (eos >= 0) row.mask[eos] = 1;
    if (token < 0 || token === eos) return false;
    row.output.push(token);
    row.mask[token] = 1;
    row.pending = token;
    row.draftRanked = ranked;
    return this.mayContinue(row, settings, promptLength);
  }

  /** Whether a row may emit another tag: below maxTags, and the next position is in the context. */
  private mayContinue(row: { output: number[] }, settings: SampleSettings, promptLength: number): boolean {
    // The next tag is read at position promptLength + output.length - 1, the window's last at contextLength - 1.
    return row.output.length < settings.maxTags && promptLength + row.output.length <= this.files.config.contextLength;
  }
}

export interface SampleSettings {
  n: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  minTags: number;
  maxTags: number;
}

/** The largest seed: the sampler's PRNG state is 32 bits. */
export const MAX_SEED = 2 ** 32 - 1;

/** The largest top-k sampled with drafts: past it the ranked lists are sorted whole (rankAllowed). */
const MAX_DRAFT_TOP_K = 256;

/** Defaults and range checks for sample(); a bad value is a clear error. */
export function sampleSettings(options: SampleOptions, contextLength: number): SampleSettings {
  const settings: SampleSettings = {
    n: options.n ?? 1,
    temperature: options.temperature ?? 1,
    topK: options.topK ?? 50,
    topP: options.topP ?? 0.95,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
    minTags: options.minTags ?? 0,
    maxTags: options.maxTags ?? Math.min(40, contextLength - 1),
  };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`sample: ${what}`);
  };
  check(Number.isInteger(settings.n) && settings.n >= 1 && settings.n <= 256, `n must be an integer in 1..256`);
  check(Number.isFinite(settings.temperature) && settings.temperature >= 0, 'temperature must be ≥ 0');
  check(Number.isInteger(settings.topK) && settings.topK >= 0, 'top-k must be an integer ≥ 0 (0 = off)');
  check(Number.isFinite(settings.topP) && settings.topP > 0 && settings.topP <= 1, 'top-p must be in (0, 1]');
  // The PRNG takes 32 bits: outside them a seed would silently give another seed's samples.
  check(Number.isInteger(settings.seed) && settings.seed >= 0 && settings.seed <= MAX_SEED, `seed must be an integer in 0..${MAX_SEED}`);
  check(Number.isInteger(settings.maxTags) && settings.maxTags >= 1, 'max tags must be an integer ≥ 1');
  check(Number.isInteger(settings.minTags) && settings.minTags >= 0, 'min tags must be an integer ≥ 0');
  check(settings.minTags <= settings.maxTags, 'min tags must not exceed max tags');
  return settings;
}

function specialTokenIds(files: ModelFiles): Set<number> {
  const ids = new Set<number>();
  const added = files.tokenizer.json.added_tokens;
  if (Array.isArray(added)) {
    for (const token of added as { id?: unknown; special?: unknown }[]) {
      if (token.special === true && typeof token.id === 'number') ids.add(token.id);
    }
  }
  for (const [token, id] of files.tokenizer.vocab) if (/^<\|.*\|>$/.test(token)) ids.add(id);
  for (const id of [files.config.bosTokenId, files.config.eosTokenId, files.config.padTokenId]) {
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

function modelInfo(files: ModelFiles, kind: 'tag' | 'bpe'): ModelInfo {
  const listed = [
    files.configPath,
    files.tokenizerPath,
    files.tokenizerConfigPath,
    files.onnxPath,
    ...files.onnxDataPaths,
    files.rankingPath,
    files.relatedPath,
  ];
  const info: ModelInfo = {
    dir: files.dir,
    name: path.basename(files.dir),
    kind,
    vocabSize: files.config.vocabSize,
    layers: files.config.layers,
    heads: files.config.heads,
    embedding: files.config.embedding,
    contextLength: files.config.contextLength,
    files: listed
      .filter((file): file is string => file !== undefined)
      .map((file) => ({ path: path.relative(files.dir, file), bytes: fs.statSync(file).size })),
  };
  if (files.config.parameters !== undefined) info.parameters = files.config.parameters;
  return info;
}

/** Reads and validates the folder, opens the session and picks the engine for the tokenizer kind. */
export async function loadModelEngine(
  dictionary: CompactTagDictionary,
  options: EngineLoadOptions & { modelDir?: string },
): Promise<TagEngine> {
  const files = readModelFolder(options.modelDir ?? defaultModelDir());
  let ranking = readRanking(files.rankingPath);
  // Once, for ranking.json here and related.json where the engine loads it.
  files.vocabularySha256 = vocabularySha256(files.tokenizer.vocab);
  if (files.rankingPath) checkVocabulary(files.rankingPath, ranking.vocabularySha256, files.vocabularySha256);
  const relatedPath = path.join(files.dir, ranking.relatedFile ?? 'related.json');
  if (fs.existsSync(relatedPath)) files.relatedPath = relatedPath;
  else if (ranking.relatedWeight !== 0) ranking = rankingWithoutRelated(ranking);
  const session = await GptSession.create(files.onnxPath, files.configPath, files.config, { threads: options.threads });
  try {
    if (files.tokenizer.modelType === 'WordLevel') return new TagModelEngine(dictionary, files, session, ranking);
    const { BpeModelEngine } = await import('./bpe-engine');
    return new BpeModelEngine(dictionary, files, session, ranking);
  } catch (err) {
    await session.release();
    throw err;
  }
}
