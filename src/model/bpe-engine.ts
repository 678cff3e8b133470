// The model engine for sub-word text models (a GPT-2 with a byte-level BPE tokenizer over
// comma-separated tags, such as an ONNX export of mio/danbooru-gpt2): one tag spans several tokens.
// A candidate tag is scored by the summed log-probability of its tokens followed by the separator,
// all candidates of a completion in batched forward passes after the cached context.
import { lastContextMemo } from '../util/memo';
import { normalizePrefix, normalizeTag, type CompactTagDictionary, type IdMatch } from './dictionary';
import { sharedLogitScanner } from './logit-scan';
import { ModelEngineBase, sampleSettings, type ContextState, type SampleSettings } from './model-engine';
import { PrefixCache } from './prefix-cache';
import type { ModelFiles } from './model-folder';
import { inVocabularyScore, type RankingConfig } from './ranking';
import { chooseTokenOrStop, createRandom, rankAllowed, type PickOptions } from './sampler';
import { logSoftmaxRow, PastTiles, pastRowBytes, type GptSession } from './session';
import { NothingToSampleError, type CompleteOptions, type Completion, type MatchKind, type NextTag, type SampleOptions } from './types';

/** Candidates scored per completion: the most popular dictionary matches of the typed prefix. */
const CANDIDATES_PER_COMPLETION = 96;
/**
 * With nothing typed, popularity alone would never score a tag the context makes likely but few
 * posts have (`cat_tail` after `cat_ears, tail`): this many candidates come instead from the model's
 * likeliest first tokens, each read as the start of a tag.
 */
const GUIDED_CANDIDATES = 48;
/** First tokens looked at for those, and tags taken per token (the most popular that start with it). */
const GUIDED_FIRST_TOKENS = 32;
const TAGS_PER_FIRST_TOKEN = 4;
/** Candidates per batched forward pass (bounds the logits tensor: rows x tokens x vocabulary). */
const SCORING_BATCH = 48;
/**
 * The context's past copied into a run's rows at most (each row carries its own copy; onnxruntime
 * makes another as the present): fewer rows a run after a long prompt. 48 rows of a 1,000-token
 * GPT-2-small past were 3.5 GB (8.3 GB peak for one keystroke); 20 tags' past fits 48 rows.
 */
const SCORING_PAST_BYTES = 256 * 2 ** 20;

/** Candidates scored in one run after a context whose past takes `rowBytes` a row. */
export function scoringRows(rowBytes: number): number {
  return Math.max(1, Math.min(SCORING_BATCH, Math.floor(SCORING_PAST_BYTES / Math.max(1, rowBytes))));
}
/** Padded positions a run may carry before its candidates are split into two runs (see lengthGroups). */
const PADDING_PER_RUN = 12;
/** Contexts whose exact candidate scores are remembered, and scores kept per context at most. */
const SCORE_MEMO_CONTEXTS = 8;
const SCORE_MEMO_TAGS = 20_000;
/** Popular tags scored for nextTags(), which has no prefix to narrow them. */
const NEXT_TAG_CANDIDATES = 256;
/**
 * Sampling: tokens one tag may take, and tries for a valid new tag before a sample ends. A retry is
 * rejection sampling (the distribution is the model's, given a valid tag); with heavy bans 16 tries
 * ended rows short of minTags (tested with the BPE fixture), and each try costs a run a token.
 */
const MAX_TOKENS_PER_TAG = 24;
const MAX_TRIES_PER_TAG = 32;
/** A greedy row gives up a tag's start after this many of its continuations were rejected (RejectedPaths). */
const REJECTED_CHILDREN = 3;

/**
 * A greedy draw's rejected tags at one tag slot: drawn again from the tag's start, a greedy row would
 * write the same tokens every try (and end after MAX_TRIES_PER_TAG, short of minTags), so the token
 * that would complete a rejected path is left out of the next draws there, best first as greedy is;
 * a start whose continuations were rejected REJECTED_CHILDREN times is given up too (`simple_` after
 * simple_background was written: the next tries go back to another first token). (A random draw
 * starts over instead: leaving tokens out would shift the odds toward the rejected tag's neighbours.)
 */
class RejectedPaths {
  private readonly paths: number[][] = [];
  private readonly rejectedChildren = new Map<string, number>();

  add(tokens: readonly number[]): void {
    this.paths.push([...tokens]);
    if (tokens.length < 2) return;
    const parent = tokens.slice(0, -1);
    const key = parent.join(',');
    const count = (this.rejectedChildren.get(key) ?? 0) + 1;
    this.rejectedChildren.set(key, count);
    if (count === REJECTED_CHILDREN) this.add(parent);
  }

  clear(): void {
    this.paths.length = 0;
    this.rejectedChildren.clear();
  }

  /** Blocks in `blocked` the tokens that after `partial` would end a rejected path; returns them, to unblock after the draw. */
  block(partial: readonly number[], blocked: Uint8Array): number[] {
    const set: number[] = [];
    for (const path of this.paths) {
      if (path.length !== partial.length + 1 || blocked[path[partial.length]] === 1) continue;
      if (partial.every((token, i) => path[i] === token)) {
        blocked[path[partial.length]] = 1;
        set.push(path[partial.length]);
      }
    }
    return set;
  }
}

/** Whether every draw takes the best token (temperature 0, top-k 1). */
function drawsGreedily(settings: { temperature: number; topK: number }): boolean {
  return settings.temperature <= 0 || settings.topK === 1;
}

/**
 * Whether this draw can only take the best allowed token though the settings are not greedy: a top-p
 * below its share (among the top-k, which top-p cuts further) keeps it alone (top-p 0.001 is top-k 1),
 * as does a temperature that leaves the rest below 1e-9 together. Such a row redrew a rejected tag
 * every try and ended after one tag.
 */
export function keepsOnlyBest(logProbs: Float32Array, blocked: Uint8Array, settings: PickOptions): boolean {
  // Past this the best token's share is below top-p (and the rest above 1e-9): most draws stop early.
  const enough = Math.max(1 / settings.topP - 1, 1e-9);
  const share = (others: number): boolean => 1 / (1 + others) >= settings.topP || others < 1e-9;
  /** Within the top-k, ranked: the others' weights beside the best's (up to `enough`). */
  const withinTopK = (): boolean => {
    const ranked = rankAllowed(logProbs, 0, logProbs.length, blocked, settings.topK);
    if (ranked.size === 0) return false;
    let others = 0;
    for (let i = 1; i < ranked.size && others <= enough; i++) others += Math.exp((ranked.values[i] - ranked.values[0]) / settings.temperature);
    return share(others);
  };
  // A short top-k ranked at once (cheap).
  if (settings.topK > 0 && settings.topK <= 256) return withinTopK();
  let best = -Infinity;
  for (let token = 0; token < logProbs.length; token++) if (blocked[token] === 0 && logProbs[token] > best) best = logProbs[token];
  if (best === -Infinity) return false;
  // All the others, and the largest of them: the top-k's others lie between the two.
  let others = 0;
  let second = 0;
  let skippedBest = false;
  for (let token = 0; token < logProbs.length; token++) {
    if (blocked[token] !== 0) continue;
    if (logProbs[token] === best && !skippedBest) {
      skippedBest = true;
      continue;
    }
    const weight = Math.exp((logProbs[token] - best) / settings.temperature);
    others += weight;
    if (weight > second) second = weight;
  }
  if (share(others)) return true;
  // A long top-k (past 256) between the two: ranked by selection, only in this rare case.
  return settings.topK > 0 && share(second) && withinTopK();
}

/**
 * The normalized start that every accepted ending of a tag being sampled shares, read from the text
 * of its tokens so far (as the tag is read when it ends, without the clean-up of tokenization
 * spaces): null when no ending can be accepted (a later tag does not start with `betweenTags`), ''
 * when nothing is settled yet. It must be exact, so that rejecting a tag early keeps rejection
 * sampling's distribution: the text stops at an unfinished UTF-8 character and at the separator's
 * first character, so that whatever follows, the accepted text starts with what is kept.
 */
export function settledTagStart(text: string, first: boolean, betweenTags: string, separator: string): string | null {
  let end = text.indexOf('\uFFFD');
  if (end < 0) end = text.length;
  const separatorStart = text.indexOf(separator[0]);
  if (separatorStart >= 0 && separatorStart < end) end = separatorStart;
  const settled = text.slice(0, end);
  let body = settled;
  if (!first && betweenTags) {
    if (settled.length < betweenTags.length) return betweenTags.startsWith(settled) ? '' : null;
    if (!settled.startsWith(betweenTags)) return null;
    body = settled.slice(betweenTags.length);
  }
  // A capital sigma lower-cases by what follows it (final ς or σ): the start stops before it.
  const sigma = body.indexOf('\u03A3');
  return normalizeTag(sigma < 0 ? body : body.slice(0, sigma));
}

export class BpeModelEngine extends ModelEngineBase {
  readonly bosId: number;
  readonly eosId: number;
  readonly separator: string;
  /** Whether the model writes tags with spaces instead of underscores. */
  readonly tagSpaces: boolean;
  /** What comes before every tag after the first (after the previous tag's separator). */
  readonly betweenTags: string;
  private readonly candidateTokens = new Map<string, number[]>();
  /** contextTokens, the last context's answer kept: a completion asks two or three times for one context. */
  private readonly lastContextTokens = lastContextMemo((context) => this.tokensOfContext(context));
  /** Exact candidate scores by context tokens, for the last SCORE_MEMO_CONTEXTS contexts. */
  private readonly scoreMemos = new PrefixCache<Map<string, number>>(SCORE_MEMO_CONTEXTS);
  /** The context's past tiled into rows, kept across a completion's runs and the next keystroke's. */
  private readonly pastTiles: PastTiles;

  constructor(dictionary: CompactTagDictionary, files: ModelFiles, session: GptSession, ranking: RankingConfig) {
    super(dictionary, files, session, ranking, 'bpe');
    this.pastTiles = new PastTiles(session);
    const end = files.tokenizer.vocab.get('<|endoftext|>');
    this.bosId = files.config.bosTokenId ?? end ?? -1;
    this.eosId = files.config.eosTokenId ?? end ?? -1;
    if (this.bosId < 0) throw new Error(`${files.configPath}: no bos_token_id and no <|endoftext|> token`);
    const separator = files.config.tagModel.separator;
    this.separator = typeof separator === 'string' && separator ? separator : ',';
    this.tagSpaces = files.config.tagModel.tag_spaces === true;
    // `t1, t2,` by default; a model trained on `t1,t2,` (as mio/danbooru2021-tags is written) says "".
    const between = files.config.tagModel.between_tags;
    this.betweenTags = typeof between === 'string' ? between : ' ';
    // A tag is read back up to the separator: one in between_tags would end every tag early.
    if (this.betweenTags.includes(this.separator)) {
      throw new Error(`${files.configPath}: tag_model.between_tags ${JSON.stringify(this.betweenTags)} holds the separator ${JSON.stringify(this.separator)}`);
    }
  }

  /** A tag as the model writes it. */
  private written(tag: string): string {
    return this.tagSpaces ? tag.replace(/_/g, ' ') : tag;
  }

  /**
   * Tokens as the text the model wrote. Never with the tokenizer's clean-up of tokenization spaces
   * (on unless tokenizer_config.json says false): it deletes the space before `?`, `!`, `.`, so a later
   * tag ` ?,` would read `?,` and never be accepted.
   */
  private writtenText(tokens: number[]): string {
    return this.tokenizer.decode(tokens, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * `<|endoftext|>t1, t2, t3,`: canonical tags once each, cut to fit the context (latest kept); a tag
   * that holds a special token's text (`<|endoftext|>` written in a prompt) is left out, as the tag
   * model leaves special tokens out: the tokenizer would read it as the token itself.
   */
  contextTokens(context: readonly string[]): number[] {
    return this.lastContextTokens(context);
  }

  private tokensOfContext(context: readonly string[]): number[] {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const tag of context) {
      const resolved = this.dictionary.resolveId(tag);
      const name = resolved ? this.dictionary.names[resolved.id] : normalizeTag(tag);
      if (!name || seen.has(name)) continue;
      if (name.includes('<') && this.encodeText(this.written(name)).some((id) => this.specialTokens.has(id))) continue;
      seen.add(name);
      names.push(name);
    }
    const textFrom = (first: number): string => names.slice(first).map((name) => this.written(name) + this.separator).join(this.betweenTags);
    let tokens = this.encodeText(textFrom(0));
    // Leave room for a candidate's tokens after the context.
    const room = this.files.config.contextLength - 1 - MAX_TOKENS_PER_TAG;
    if (tokens.length > room) {
      // The latest tags that fit, found from each tag's own tokens (remembered across keystrokes):
      // encoding the text again after each tag dropped was quadratic (a 1,000-tag prompt: 5-10 s a
      // keystroke). The cut is checked on the text itself, for tokenizers that merge across tags.
      let first = names.length;
      let after = 0;
      while (first > 0 && this.tagTokens(names[first - 1], true).length + after <= room) {
        first--;
        after += this.tagTokens(names[first], false).length;
      }
      tokens = this.encodeText(textFrom(first));
      while (tokens.length > room && first < names.length) tokens = this.encodeText(textFrom(++first));
    }
    return [this.bosId, ...tokens];
  }

  /** Tokens of a candidate tag followed by the separator, as written after a context (or first). */
  tagTokens(tag: string, first: boolean): number[] {
    const key = `${first ? 1 : 0}${tag}`;
    let tokens = this.candidateTokens.get(key);
    if (!tokens) {
      tokens = this.encodeText(`${first ? '' : this.betweenTags}${this.written(tag)}${this.separator}`);
      if (this.candidateTokens.size > 50_000) this.candidateTokens.clear();
      this.candidateTokens.set(key, tokens);
    }
    return tokens;
  }

  /**
   * Dictionary ids of tags that start with one of the model's likeliest next tokens after the
   * context (the token's text as a tag prefix, its most popular tags first), likeliest token first.
   */
  private async guidedCandidates(context: string[], categories: number[] | undefined, exclude: ReadonlySet<number>, limit: number): Promise<number[]> {
    const { logProbs } = await this.contextState(this.contextTokens(context));
    // The best few of a 50k vocabulary: kept sorted by insertion, not a sort of all of it.
    const firstTokens: number[] = [];
    for (let token = 0; token < logProbs.length; token++) {
      if (token === this.eosId || token === this.bosId) continue;
      if (firstTokens.length >= GUIDED_FIRST_TOKENS) {
        if (logProbs[token] <= logProbs[firstTokens[firstTokens.length - 1]]) continue;
        firstTokens.pop();
      }
      let at = firstTokens.length;
      while (at > 0 && logProbs[firstTokens[at - 1]] < logProbs[token]) at--;
      firstTokens.splice(at, 0, token);
    }
    const ids: number[] = [];
    const seen = new Set<number>(exclude);
    for (const token of firstTokens) {
      const start = normalizeTag(this.writtenText([token]));
      if (!start) continue;
      const matches = this.dictionary.searchIds(start, { categories, limit: TAGS_PER_FIRST_TOKEN + seen.size, fuzzy: false });
      let taken = 0;
      for (const match of matches) {
        if (match.kind !== 'prefix' || seen.has(match.id) || taken >= TAGS_PER_FIRST_TOKEN) continue;
        seen.add(match.id);
        ids.push(match.id);
        taken++;
        if (ids.length >= limit) return ids;
      }
    }
    return ids;
  }

  /**
   * Summed log-probability of each candidate's tokens after the context, every one exact; -Infinity
   * for a candidate too long for the room a long context leaves in the window (see scoreBest).
   */
  scoreTags(context: string[], tags: string[], signal?: AbortSignal): Promise<Float64Array> {
    return this.scoreBest(context, tags, undefined, signal);
  }

  /**
   * The candidates' summed log-probabilities (their tokens after the context): exact for every
   * candidate that can be among the `best.keep` highest by `best.rank(index, logProbability)` (a
   * non-decreasing function of it), -Infinity for the others; all exact without `best`. A candidate's
   * first token costs nothing (the context's next-token distribution) and each later one only lowers
   * the sum, so candidates run in batches from the highest bound down and stop as soon as the next
   * bound is below the keep-th best exact rank: the same best `keep` as scoring all of them, for a
   * fraction of the forward passes. Exact sums are remembered for the last few contexts, so another
   * keystroke in the same prompt runs only candidates not scored yet.
   */
  async scoreBest(context: string[], tags: string[], best?: { keep: number; rank: (index: number, logProbability: number) => number }, signal?: AbortSignal): Promise<Float64Array> {
    const contextTokens = this.contextTokens(context);
    const state = await this.contextState(contextTokens);
    const first = contextTokens.length === 1;
    const memo = this.scoreMemo(contextTokens);
    const scores = new Float64Array(tags.length).fill(-Infinity);
    const ranks = new BestRanks(best?.keep ?? 0);
    const exact = (index: number, score: number): void => {
      scores[index] = score;
      if (best) ranks.add(best.rank(index, score));
    };
    const pending: { index: number; tokens: number[]; firstLogProb: number; bound: number }[] = [];
    tags.forEach((tag, index) => {
      const known = memo.get(tag);
      if (known !== undefined) return exact(index, known);
      const tokens = this.tagTokens(tag, first);
      // Past the window after a long prompt (the context leaves MAX_TOKENS_PER_TAG tokens): not
      // scored, as if it could not be among the best, rather than failing the whole list.
      if (tokens.length - 1 > this.files.config.contextLength - contextTokens.length) return;
      const firstLogProb = state.logProbs[tokens[0]];
      if (tokens.length === 1) {
        memo.set(tag, firstLogProb);
        return exact(index, firstLogProb);
      }
      pending.push({ index, tokens, firstLogProb, bound: best ? best.rank(index, firstLogProb) : 0 });
    });
    // From the highest bound down; without one, by token count, so that batches need little padding.
    if (best) pending.sort((a, b) => b.bound - a.bound);
    else pending.sort((a, b) => a.tokens.length - b.tokens.length);
    const rowsPerRun = scoringRows(pastRowBytes(state.past));
    for (let start = 0; start < pending.length; ) {
      if (best && pending[start].bound < ranks.threshold()) break;
      const chunk = pending.slice(start, start + rowsPerRun);
      start += chunk.length;
      for (const candidates of lengthGroups(chunk)) {
        // The scores of the runs before may have raised the threshold above some of these bounds.
        const group = best ? candidates.filter((candidate) => candidate.bound >= ranks.threshold()) : candidates;
        if (group.length === 0) continue;
        // Checked before every run: a keystroke cancels a stale completion within one run.
        signal?.throwIfAborted();
        const steps = group[group.length - 1].tokens.length - 1;
        // Right padding is harmless: causal attention never lets a real position see a later pad.
        const rows = group.map(({ tokens }) => {
          const row = tokens.slice(0, -1);
          while (row.length < steps) row.push(this.eosId);
          return row;
        });
        const result = await this.session.logitsAfter(rows, this.pastTiles.tile(state.past, rows.length));
        this.forwardPasses++;
        const vocab = result.vocab;
        const scanner = sharedLogitScanner();
        group.forEach(({ index, tokens, firstLogProb }, row) => {
          let score = firstLogProb;
          for (let j = 1; j < tokens.length; j++) {
            const offset = (row * steps + j - 1) * vocab;
            score += result.logits[offset + tokens[j]] - scanner.logSumExp(result.logits, offset, vocab);
          }
          memo.set(tags[index], score);
          exact(index, score);
        });
      }
    }
    return scores;
  }

  /** Forgets the remembered candidate scores (tests compare fresh scoring with remembered). */
  forgetScores(): void {
    this.scoreMemos.clear();
  }

  override async dispose(): Promise<void> {
    this.scoreMemos.clear();
    this.pastTiles.clear();
    await super.dispose();
  }

  /** The exact sums already known after these context tokens (the last SCORE_MEMO_CONTEXTS contexts). */
  private scoreMemo(contextTokens: number[]): Map<string, number> {
    let memo = this.scoreMemos.get(contextTokens);
    if (!memo) this.scoreMemos.set(contextTokens, (memo = new Map()));
    if (memo.size > SCORE_MEMO_TAGS) memo.clear();
    return memo;
  }

  override async complete(context: string[], prefix: string, options: CompleteOptions = {}): Promise<Completion[]> {
    const top = options.top ?? 10;
    const query = normalizePrefix(prefix);
    const allowed = this.dictionary.categoryFilter(options.categories);
    const exclude = this.contextIds(context);
    // Asked for more than the usual pool, score as many as asked for: slower, but what was asked.
    const pool = Math.max(CANDIDATES_PER_COMPLETION, top);
    const guided = query ? [] : await this.guidedCandidates(context, options.categories, exclude, GUIDED_CANDIDATES);
    const popular = this.dictionary
      .searchIds(query, { categories: options.categories, limit: pool + exclude.size + guided.length, fuzzy: false })
      .filter((match) => !exclude.has(match.id));
    const { bonus } = options;
    const guidedIds = new Set(guided);
    // A one-edit typo of a tag more popular than the abbreviations found, scored with them (`holdig` → holding).
    const abbreviations = popular.filter((match) => match.kind === 'abbreviation').map((match) => match.id);
    const listed = new Set([...exclude, ...popular.map((match) => match.id)]);
    const typos = abbreviations.length > 0 ? this.dictionary.popularTypos(query, abbreviations, allowed, listed).map((id) => ({ id, kind: 'fuzzy' as MatchKind })) : [];
    const real: IdMatch[] = [
      ...guided.map((id) => ({ id, kind: 'prefix' as MatchKind })),
      ...popular.filter((match) => !guidedIds.has(match.id)),
    ].slice(0, Math.max(0, pool - typos.length)).concat(typos);
    // The user's picked tags the prefix reaches and the extra aliases (translations) are scored
    // whatever their popularity.
    const matches = this.withExtraCandidates(real, options, query, allowed, exclude);
    const bonusOf = this.bonusOfIds(bonus);
    const rank = (i: number, logProbability: number): number =>
      inVocabularyScore(this.ranking, logProbability, this.dictionary.counts[matches[i].id]) - this.kindPenalty(matches[i].kind) + bonusOf(matches[i].id);
    const scores = await this.scoreBest(
      context,
      matches.map((match) => this.dictionary.names[match.id]),
      // The bound needs a score that grows with the log-probability.
      this.ranking.modelWeight >= 0 ? { keep: top, rank } : undefined,
      options.signal,
    );
    // Candidates left unscored (-Infinity) cannot be among the best `top`.
    const results = matches.flatMap((match, i) => (scores[i] === -Infinity ? [] : [this.completion(match.id, rank(i, scores[i]), match.kind as MatchKind, match.alias)]));
    results.sort((a, b) => b.score - a.score || b.count - a.count);
    results.length = Math.min(results.length, top);
    const seen = new Set<number>([...exclude, ...matches.map((match) => match.id)]);
    this.addFuzzy(results, query, top, allowed, seen);
    return results;
  }

  override async nextTags(context: string[], k: number, signal?: AbortSignal): Promise<NextTag[]> {
    const exclude = this.contextIds(context);
    const allowed = this.dictionary.categoryFilter([0]);
    const ids = await this.guidedCandidates(context, [0], exclude, GUIDED_CANDIDATES);
    const guided = new Set(ids);
    for (let id = 0; id < this.dictionary.size && ids.length < NEXT_TAG_CANDIDATES; id++) {
      if (allowed(id) && !exclude.has(id) && !guided.has(id)) ids.push(id);
    }
    const scores = await this.scoreBest(
      context,
      ids.map((id) => this.dictionary.names[id]),
      { keep: k, rank: (_, logProbability) => logProbability },
      signal,
    );
    return ids
      .flatMap((id, i) => (scores[i] === -Infinity ? [] : [{ tag: this.dictionary.names[id], probability: Math.exp(scores[i]) }]))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, k);
  }

  /**
   * Samples token by token; when a tag's separator comes, the tag must be a dictionary tag (aliases
   * resolved) of the categories asked for (general by default: a sub-word model spells any name, and
   * a stray `mot`, `san` is some artist's or character's), new and not banned, else the row goes back
   * to the tag's start and tries again. All
   * rows run in one batch: a rejected tag's tokens stay in that row's cache but are hidden by its
   * attention mask, and its positions continue from the tag's start. Graphs without per-row masks
   * and positions run the rows one after another instead.
   */
  override async sample(options: SampleOptions = {}): Promise<string[][]> {
    return this.session.supportsRowLayout ? this.sampleBatched(options) : this.sampleOneByOne(options);
  }

  /** What both sampling paths start from: settings, bans, the seeded PRNG, the prompt's state and tags. */
  private async prepareSampling(options: SampleOptions) {
    const settings = sampleSettings(options, this.files.config.contextLength);
    const bannedName = this.bannedTest(options.ban ?? []);
    const inCategories = this.dictionary.categoryFilter(options.categories);
    /** Whether a row may not write this dictionary tag: of another category, or banned. */
    const barred = (id: number): boolean => !inCategories(id) || bannedName(this.dictionary.names[id]);
    const random = createRandom(settings.seed);
    const promptTokens = this.contextTokens(options.prompt ?? []);
    const promptTags = new Set<string>();
    for (const tag of options.prompt ?? []) {
      const resolved = this.dictionary.resolveId(tag);
      promptTags.add(resolved ? this.dictionary.names[resolved.id] : normalizeTag(tag));
    }
    // (The first tag allowed ends the scan: only bans of nearly everything look far.)
    if (!this.dictionary.names.some((name, id) => !barred(id) && !promptTags.has(name))) {
      const leftByBans = this.dictionary.names.some((_, id) => !barred(id));
      throw new NothingToSampleError({ ban: (options.ban?.length ?? 0) > 0, categories: options.categories !== undefined, prompt: leftByBans });
    }
    const start = await this.freshState(promptTokens);
    // Special tokens are never emitted as tags.
    const blocked = new Uint8Array(this.files.config.vocabSize);
    for (const token of this.specialTokens) blocked[token] = 1;
    return { settings, barred, random, promptTokens, promptTags, start, blocked };
  }

  private async sampleBatched(options: SampleOptions): Promise<string[][]> {
    const { settings, barred, random, promptTokens, promptTags, start, blocked } = await this.prepareSampling(options);
    const contextLength = this.files.config.contextLength;
    const rows = Array.from({ length: settings.n }, () => ({
      tags: [] as string[],
      used: new Set(promptTags),
      /** Tokens of the tag being written, and their positions in the cache. */
      partial: [] as number[],
      partialSlots: [] as number[],
      /** One entry per cached position: 1 seen, 0 hidden (a rejected tag's tokens). */
      mask: new Array<number>(promptTokens.length).fill(1),
      position: promptTokens.length,
      boundary: start.logProbs,
      boundaryPosition: promptTokens.length,
      next: start.logProbs,
      tries: 0,
      rejected: new RejectedPaths(),
      /** Whether every token of the tag being written was the only one its draw could take. */
      pathGreedy: true,
      /** Tokens of the accepted tags, in order (what the row's sequence holds, less the hidden ones). */
      tokens: [] as number[],
    }));
    const greedy = drawsGreedily(settings);
    let active = rows.map((_, index) => index);
    let past = this.session.expandPast(start.past, settings.n);
    // The cache holds rejected tags' tokens too (hidden): past this many slots the rows still going
    // go on one by one from their own sequences (they ended here, short of minTags, at ~45% of the window).
    const maxSlots = 2 * contextLength;
    let capped = false;
    while (active.length > 0) {
      if (past.length + 1 >= maxSlots) {
        capped = true;
        break;
      }
      options.signal?.throwIfAborted();
      const kept: number[] = [];
      const feed: number[] = [];
      const seen: number[] = [];
      const positions: number[] = [];
      const atBoundary: boolean[] = [];
      const rewound: boolean[] = [];
      for (const index of active) {
        const row = rows[index];
        const token = this.drawToken(row.next, row.partial.length === 0 && row.tags.length >= settings.minTags, row.partial, row.rejected, greedy, blocked, settings, random);
        if (token.greedy === false) row.pathGreedy = false;
        if (token.id < 0 || token.id === this.eosId) continue;
        row.partial.push(token.id);
        const text = this.writtenText(row.partial);
        const complete = text.includes(this.separator);
        const first = promptTokens.length === 1 && row.tags.length === 0;
        if (complete || row.partial.length >= MAX_TOKENS_PER_TAG || this.cannotBecomeTag(text, first, row.used, barred)) {
          const tag = complete ? this.acceptTag(text, first, row.used, barred) : undefined;
          if (tag) {
            row.tags.push(tag);
            row.used.add(tag);
            row.tokens.push(...row.partial);
            row.partial = [];
            row.pathGreedy = true;
            row.partialSlots = [];
            row.tries = 0;
            row.rejected.clear();
            // Its last token is fed at row.position, the window's last at contextLength - 1.
            if (row.tags.length >= settings.maxTags || row.position >= contextLength) continue;
            kept.push(index);
            feed.push(token.id);
            seen.push(1);
            positions.push(row.position++);
            atBoundary.push(true);
            rewound.push(false);
          } else {
            // Hide the rejected tag's cached tokens; the row draws again from the tag's start.
            if (greedy || row.pathGreedy) row.rejected.add(row.partial);
            row.pathGreedy = true;
            for (const slot of row.partialSlots) row.mask[slot] = 0;
            row.partial = [];
            row.partialSlots = [];
            row.position = row.boundaryPosition;
            if (++row.tries >= MAX_TRIES_PER_TAG) continue;
            kept.push(index);
            feed.push(this.eosId >= 0 ? this.eosId : token.id);
            seen.push(0);
            positions.push(row.position);
            atBoundary.push(false);
            rewound.push(true);
          }
        } else {
          if (row.position >= contextLength) continue;
          row.partialSlots.push(past.length);
          kept.push(index);
          feed.push(token.id);
          seen.push(1);
          positions.push(row.position++);
          atBoundary.push(false);
          rewound.push(false);
        }
      }
      if (kept.length === 0) break;
      if (kept.length < active.length) {
        past = this.session.selectRows(
          past,
          kept.map((index) => active.indexOf(index)),
        );
      }
      kept.forEach((index, i) => rows[index].mask.push(seen[i]));
      const result = await this.session.forward(
        feed.map((token) => [token]),
        past,
        { attentionMask: kept.map((index) => rows[index].mask), positions: positions.map((position) => [position]) },
      );
      this.forwardPasses++;
      past = result.past;
      kept.forEach((index, i) => {
        const row = rows[index];
        if (rewound[i]) {
          row.next = row.boundary;
          return;
        }
        row.next = logSoftmaxRow(result.logits, i * result.vocab, result.vocab);
        if (atBoundary[i]) {
          row.boundary = row.next;
          row.boundaryPosition = row.position;
        }
      });
      active = kept;
    }
    if (capped) {
      for (const index of active) {
        const row = rows[index];
        const sequence = [...promptTokens, ...row.tokens];
        await this.continueRow({ settings, barred, random, blocked, signal: options.signal }, await this.freshState(sequence), sequence.length, row.tags, row.used);
      }
    }
    return rows.map((row) => row.tags);
  }

  /**
   * Draws a row's next token (or the stop, where `mayStop`): the stop with the model's own probability
   * (as the tag model draws it: top-k and top-p cut the choice of a tag's tokens, not its length),
   * then a token, the rejected paths' next tokens left out where the draw can take only the best.
   * `greedy` false: the draw could take another token (the path is then not one to leave out).
   */
  private drawToken(
    logProbs: Float32Array, mayStop: boolean, partial: readonly number[], rejected: RejectedPaths, greedy: boolean,
    blocked: Uint8Array, settings: PickOptions, random: () => number,
  ): { id: number; greedy: boolean } {
    // Judged among the tokens of a tag (the stop is drawn apart): with the stop blocked.
    if (this.eosId >= 0) blocked[this.eosId] = 1;
    const unblock = rejected.block(partial, blocked);
    try {
      const onlyBest = greedy || keepsOnlyBest(logProbs, blocked, settings);
      if (this.eosId >= 0) blocked[this.eosId] = mayStop ? 0 : 1;
      return { id: chooseTokenOrStop(logProbs, 0, logProbs.length, blocked, this.eosId, settings, random).token, greedy: onlyBest };
    } finally {
      for (const id of unblock) blocked[id] = 0;
    }
  }

  private async sampleOneByOne(options: SampleOptions): Promise<string[][]> {
    const { settings, barred, random, promptTokens, promptTags, start, blocked } = await this.prepareSampling(options);
    const samples: string[][] = [];
    for (let row = 0; row < settings.n; row++) {
      options.signal?.throwIfAborted();
      const tags: string[] = [];
      await this.continueRow({ settings, barred, random, blocked, signal: options.signal }, start, promptTokens.length, tags, new Set(promptTags));
      samples.push(tags);
    }
    return samples;
  }

  /**
   * Samples one row's tags on from `boundary` (its cache of `length` tokens, ending at a tag's end),
   * a token a run, into `tags` (and `used`): until the stop, maxTags, the window's end, or
   * MAX_TRIES_PER_TAG rejected tries for one tag.
   */
  private async continueRow(
    sampling: { settings: SampleSettings; barred: (id: number) => boolean; random: () => number; blocked: Uint8Array; signal?: AbortSignal },
    boundary: ContextState,
    length: number,
    tags: string[],
    used: Set<string>,
  ): Promise<void> {
    const { settings, barred, random, blocked } = sampling;
    const contextLength = this.files.config.contextLength;
    let tries = 0;
    const rejected = new RejectedPaths();
    const greedy = drawsGreedily(settings);
    while (tags.length < settings.maxTags && tries < MAX_TRIES_PER_TAG) {
      sampling.signal?.throwIfAborted();
      const first = length === 1;
      const generated: number[] = [];
      let state = boundary;
      let text = '';
      let ended = false;
      let pathGreedy = true;
      while (generated.length < MAX_TOKENS_PER_TAG && length + generated.length < contextLength) {
        const token = this.drawToken(state.logProbs, generated.length === 0 && tags.length >= settings.minTags, generated, rejected, greedy, blocked, settings, random);
        if (!token.greedy) pathGreedy = false;
        if (token.id < 0 || token.id === this.eosId) {
          ended = true;
          break;
        }
        generated.push(token.id);
        text = this.writtenText(generated);
        // A text that can no longer become a tag is rejected below (it has no separator).
        if (text.includes(this.separator) || this.cannotBecomeTag(text, first, used, barred)) break;
        const result = await this.session.forward([[token.id]], state.past);
        this.forwardPasses++;
        state = { past: result.past, logProbs: logSoftmaxRow(result.logits, 0, result.vocab) };
      }
      if (ended) break;
      const tag = this.acceptTag(text, first, used, barred);
      if (!tag) {
        if (pathGreedy) rejected.add(generated);
        tries++;
        continue;
      }
      tries = 0;
      rejected.clear();
      tags.push(tag);
      used.add(tag);
      const result = await this.session.forward([[generated[generated.length - 1]]], state.past);
      this.forwardPasses++;
      boundary = { past: result.past, logProbs: logSoftmaxRow(result.logits, 0, result.vocab) };
      length += generated.length;
      // The next tag's first token is fed at position `length`, the window's last at contextLength - 1.
      if (length >= contextLength) break;
    }
  }

  /**
   * Whether a tag's tokens so far (`text`, their writtenText) can no longer become a dictionary tag or alias
   * the row may write (not used, not barred) whatever follows: the row can draw again now instead of
   * writing the rest of a tag it would reject. (Rejecting as soon as that is certain keeps the
   * distribution of rejecting at the separator.)
   */
  private cannotBecomeTag(text: string, first: boolean, used: Set<string>, barred: (id: number) => boolean): boolean {
    const start = settledTagStart(text, first, this.betweenTags, this.separator);
    if (start === null) return true;
    // Only tags the row may not write (used, barred) start so: it would be rejected at its separator.
    const allowed = (id: number): boolean => !used.has(this.dictionary.names[id]) && !barred(id);
    return start !== '' && !this.dictionary.startsSomeAllowedTag(start, allowed);
  }

  /** The canonical tag a generated `tag,` text names, when it is a new dictionary tag the row may write. */
  private acceptTag(
    text: string,
    first: boolean,
    used: Set<string>,
    barred: (id: number) => boolean,
  ): string | undefined {
    const end = text.indexOf(this.separator);
    if (end < 0 || text.slice(end + this.separator.length).trim()) return undefined;
    const body = text.slice(0, end);
    if (!first && !body.startsWith(this.betweenTags)) return undefined;
    const resolved = this.dictionary.resolveId(first ? body : body.slice(this.betweenTags.length));
    if (!resolved) return undefined;
    const name = this.dictionary.names[resolved.id];
    if (used.has(name) || barred(resolved.id)) return undefined;
    return name;
  }
}

/**
 * Candidates split into runs by token count, shortest first: a run takes longer ones while the
 * padding it adds stays at most PADDING_PER_RUN positions (a padded position costs about a 12th of a
 * run's fixed cost, weights read and launch, in a GPT-2-small model; measured in docs/benchmarks.md).
 */
function lengthGroups<T extends { tokens: number[] }>(candidates: T[]): T[][] {
  const sorted = [...candidates].sort((a, b) => a.tokens.length - b.tokens.length);
  const groups: T[][] = [];
  let padding = 0;
  for (const candidate of sorted) {
    const group = groups[groups.length - 1];
    const added = group ? (candidate.tokens.length - group[group.length - 1].tokens.length) * group.length : Infinity;
    if (!group || padding + added > PADDING_PER_RUN) {
      groups.push([candidate]);
      padding = 0;
    } else {
      group.push(candidate);
      padding += added;
    }
  }
  return groups;
}

/** The `keep` highest ranks seen, to tell whether a bound can still reach them. */
class BestRanks {
  private readonly ranks: number[] = [];

  constructor(private readonly keep: number) {}

  add(rank: number): void {
    if (this.keep === 0) return;
    if (this.ranks.length === this.keep && rank <= this.ranks[this.keep - 1]) return;
    let at = this.ranks.length;
    while (at > 0 && this.ranks[at - 1] < rank) at--;
    this.ranks.splice(at, 0, rank);
    if (this.ranks.length > this.keep) this.ranks.pop();
  }

  /** The keep-th highest rank, or -Infinity while fewer than `keep` are known. */
  threshold(): number {
    return this.keep > 0 && this.ranks.length === this.keep ? this.ranks[this.keep - 1] : -Infinity;
  }
}
