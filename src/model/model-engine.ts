// The model engine for tag models (one token per tag, WordLevel tokenizer): completion ranked by the
// model's next-tag distribution over the context, next tags, and batched sampling.
// BPE text models (one tag = several tokens) are handled by bpe-engine.ts on the same session.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { normalizeTag, type CompactTagDictionary } from './dictionary';
import { DictionaryOnlyEngine } from './dictionary-engine';
import { defaultModelDir, readModelFolder, type ModelFiles } from './model-folder';
import { PrefixCache } from './prefix-cache';
import { inVocabularyScore, outOfVocabularyScore, rankingWithoutRelated, readRanking, type RankingConfig } from './ranking';
import { RelatedWeights } from './related';
import { compileBans, createRandom, pickTokenOrStop } from './sampler';
import { GptSession, logSoftmaxRow, type PastState } from './session';
import type { CompleteOptions, Completion, MatchKind, ModelInfo, NextTag, SampleOptions, TagEngine } from './types';

export { defaultModelDir } from './model-folder';

/** Contexts kept in the KV cache; a 30-tag context of the default model is ~150 KB. */
const CACHE_CAPACITY = 64;
/** Typo-tolerant matches sort after all real ones. */
const FUZZY_OFFSET = -1000;

export interface EngineLoadOptions {
  modelDir?: string;
  threads?: number;
}

/** A cached model state: the past after the context and the log-probabilities of the next token. */
export interface ContextState {
  past: PastState;
  logProbs: Float32Array;
}

export abstract class ModelEngineBase extends DictionaryOnlyEngine implements TagEngine {
  override readonly model: ModelInfo;
  private tokenizerInstance: Tokenizer | undefined;
  readonly cache = new PrefixCache<ContextState>(CACHE_CAPACITY);
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

  /** Model state after `tokens`, from the cache or by running only the tokens after the longest cached prefix. */
  async contextState(tokens: number[]): Promise<ContextState> {
    const cached = this.cache.longestPrefix(tokens);
    if (cached && cached.length === tokens.length) return cached.value;
    const start = cached?.length ?? 0;
    const past = cached?.value.past ?? this.session.emptyPast(1);
    const result = await this.session.forward([tokens.slice(start)], past);
    this.forwardPasses++;
    const steps = tokens.length - start;
    const state = { past: result.past, logProbs: logSoftmaxRow(result.logits, (steps - 1) * result.vocab, result.vocab) };
    this.cache.set(tokens, state);
    return state;
  }

  /** The same state computed from scratch (no cache): for sampling, whose results must not depend on cache history. */
  async freshState(tokens: number[]): Promise<ContextState> {
    const result = await this.session.forward([tokens], this.session.emptyPast(1));
    this.forwardPasses++;
    return {
      past: result.past,
      logProbs: logSoftmaxRow(result.logits, (tokens.length - 1) * result.vocab, result.vocab),
    };
  }

  /** Score of a candidate that the model cannot score (outside its vocabulary). */
  oovScore(id: number): number {
    return outOfVocabularyScore(this.ranking, this.dictionary.counts[id]);
  }

  kindPenalty(kind: MatchKind): number {
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
      results.push(this.completion(match.id, FUZZY_OFFSET + this.logPrior(match.id) - (match.distance ?? 0), 'fuzzy'));
    }
  }

  override async dispose(): Promise<void> {
    this.cache.clear();
    await this.session.release();
  }
}

/** One token per tag: the context is `<|bos|> tag tag ...`, tags outside the vocabulary left out. */
export class TagModelEngine extends ModelEngineBase {
  readonly bosId: number;
  readonly eosId: number;
  /** Vocabulary token -> dictionary id, through aliases for retired names (-1: not a dictionary tag). */
  readonly tokenToTag: Int32Array;
  /** Dictionary id -> the vocabulary token spelled exactly so (-1: outside the vocabulary), for ranking. */
  readonly tagToToken: Int32Array;
  /** Dictionary id -> the token of its retired name (e.g. hand_on_own_hip -> hand_on_hip), for contexts. */
  readonly tagToRetiredToken = new Map<number, number>();
  /** Vocabulary tokens as tags, normalized, for tokens the dictionary does not know. */
  readonly tokenNames: string[];
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
    // canonical tag (hand_on_own_hip) in contexts and in sampled tags; lowest id (most frequent) wins.
    // Ranking keeps training/evaluate.py's exact-name mapping: there the canonical tag stays out of
    // the vocabulary, as in the tuning (a 2020 post that holds hand_on_hip never holds hand_on_own_hip).
    for (let id = 0; id < this.tokenNames.length; id++) {
      if (!this.tokenNames[id] || this.tokenToTag[id] >= 0) continue;
      const resolved = dictionary.resolveId(this.tokenNames[id]);
      if (!resolved?.viaAlias || this.tagToToken[resolved.id] >= 0 || this.tagToRetiredToken.has(resolved.id)) continue;
      this.tokenToTag[id] = resolved.id;
      this.tagToRetiredToken.set(resolved.id, id);
    }
    this.vocabularyTagIds = [];
    for (let id = 0; id < dictionary.size; id++) if (this.tagToToken[id] >= 0) this.vocabularyTagIds.push(id);
    this.related =
      files.relatedPath && ranking.relatedWeight !== 0
        ? RelatedWeights.load(files.relatedPath, files.config.vocabSize)
        : undefined;
  }

  /** Vocabulary token of a tag or alias (any spelling), or -1. */
  tokenOf(tag: string): number {
    // The model's own spelling first: its vocabulary may hold names the dictionary now calls aliases.
    const exact = this.files.tokenizer.vocab.get(normalizeTag(tag));
    if (exact !== undefined && !this.specialTokens.has(exact)) return exact;
    const resolved = this.dictionary.resolveId(tag);
    if (!resolved) return -1;
    const token = this.tagToToken[resolved.id];
    return token >= 0 ? token : (this.tagToRetiredToken.get(resolved.id) ?? -1);
  }

  /** `<|bos|>` then the context's known tags once each, cut to the model's context length (latest kept). */
  contextTokens(context: string[]): number[] {
    const tokens: number[] = [];
    const seen = new Set<number>();
    for (const tag of context) {
      const token = this.tokenOf(tag);
      if (token < 0 || seen.has(token) || this.specialTokens.has(token)) continue;
      seen.add(token);
      tokens.push(token);
    }
    const room = this.files.config.contextLength - 1;
    return [this.bosId, ...tokens.slice(Math.max(0, tokens.length - room))];
  }

  override async complete(context: string[], prefix: string, options: CompleteOptions = {}): Promise<Completion[]> {
    const top = options.top ?? 10;
    const query = normalizeTag(prefix);
    const allowed = this.dictionary.categoryFilter(options.categories);
    const exclude = this.contextIds(context);
    const contextTokens = this.contextTokens(context);
    const state = await this.contextState(contextTokens);
    options.signal?.throwIfAborted();
    const { logProbs } = state;
    const related = this.related?.scores(contextTokens.slice(1), logProbs.length);
    const seen = new Set<number>(exclude);
    const results: Completion[] = [];
    const score = (id: number, kind: MatchKind): number => {
      const token = this.tagToToken[id];
      const base =
        token >= 0
          ? inVocabularyScore(this.ranking, logProbs[token], this.dictionary.counts[id], related?.[token] ?? 0)
          : this.oovScore(id);
      return base - this.kindPenalty(kind);
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
    if (query.length >= 3) {
      for (const id of this.dictionary.wordMatchIds(query)) add(id, 'word');
      for (const [id, alias] of this.dictionary.aliasMatches(query)) add(id, 'alias', alias);
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
    const inContext = new Set(tokens);
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
    const banned = compileBans(options.ban ?? [], normalizeTag);
    // Tokens no sample may emit: special tokens, tags the dictionary does not know (retired names
    // in the training data), banned tags, the prompt's tags.
    const blocked = new Uint8Array(this.files.config.vocabSize);
    for (let token = 0; token < blocked.length; token++) {
      if (this.tokenToTag[token] < 0 || banned(this.tagName(token))) blocked[token] = 1;
    }
    for (const token of promptTokens) blocked[token] = 1;
    const random = createRandom(settings.seed);
    const state = await this.freshState(promptTokens);
    options.signal?.throwIfAborted();

    const outputs: number[][] = Array.from({ length: settings.n }, () => []);
    // Per row: tokens it may not emit (the shared blocks, then its own tags as it emits them).
    const rowBlocked = outputs.map(() => blocked.slice());
    let active = outputs.map((_, row) => row);
    let past = this.session.expandPast(state.past, settings.n);
    let logits: Float32Array = new Float32Array(state.logProbs.length * settings.n);
    for (let row = 0; row < settings.n; row++) logits.set(state.logProbs, row * state.logProbs.length);
    const vocab = state.logProbs.length;
    let length = promptTokens.length;

    while (active.length > 0) {
      const next: number[] = [];
      const stillActive: number[] = [];
      active.forEach((row, index) => {
        const output = outputs[row];
        const mask = rowBlocked[row];
        if (this.eosId >= 0) mask[this.eosId] = output.length >= settings.minTags ? 0 : 1;
        const token = pickTokenOrStop(logits, index * vocab, vocab, mask, this.eosId, settings, random);
        if (token < 0 || token === this.eosId) return;
        output.push(token);
        mask[token] = 1;
        if (output.length < settings.maxTags && length + 1 < this.files.config.contextLength) {
          stillActive.push(row);
          next.push(token);
        }
      });
      if (stillActive.length === 0) break;
      options.signal?.throwIfAborted();
      if (stillActive.length < active.length) {
        past = this.session.selectRows(
          past,
          stillActive.map((row) => active.indexOf(row)),
        );
      }
      const result = await this.session.forward(
        next.map((token) => [token]),
        past,
      );
      this.forwardPasses++;
      past = result.past;
      logits = result.logits;
      active = stillActive;
      length++;
    }
    return outputs.map((tokens) => tokens.map((token) => this.tagName(token)));
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
  check(Number.isInteger(settings.seed), 'seed must be an integer');
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
  const relatedPath = path.join(files.dir, ranking.relatedFile ?? 'related.json');
  if (fs.existsSync(relatedPath)) files.relatedPath = relatedPath;
  else if (ranking.relatedWeight !== 0) ranking = rankingWithoutRelated(ranking);
  const session = await GptSession.create(files.onnxPath, files.config, { threads: options.threads });
  try {
    if (files.tokenizer.modelType === 'WordLevel') return new TagModelEngine(dictionary, files, session, ranking);
    const { BpeModelEngine } = await import('./bpe-engine');
    return new BpeModelEngine(dictionary, files, session, ranking);
  } catch (err) {
    await session.release();
    throw err;
  }
}
