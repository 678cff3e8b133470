// How completion candidates are scored: exactly the formula training/evaluate.py evaluates and tunes
// on the validation split, with the weights it writes to the model folder's ranking.json:
//   in vocabulary:      score = model_weight * log p(tag | context) + prior_weight * log(1 + post_count)
//                               + related_weight * related(tag)
//   out of vocabulary:  score = oov_offset + (prior_weight + oov_prior_weight) * log(1 + post_count)
// where log p is the log-softmax of the last position's logits over the whole vocabulary, the context
// being <|bos|> and the context tags in the vocabulary, in written order, and related(tag) the sum of
// the distinct context tags' weights for the tag in related.json (0 without it). Ties go to more posts.
// With oov_prior_weight 1, a tag the model never saw is scored like a backed-off unigram model: its
// post count, shifted by oov_offset (the validation bounds how high; see evaluate.py's TIE_TOLERANCE).
// Added here (the evaluation only types literal prefixes, so there is nothing to tune them on):
// word-start and alias matches lose wordPenalty / aliasPenalty; abbreviations (`detco` →
// detached_collar) come after every real match and typo-tolerant matches after those (model-engine.ts).
import type { Completion, TagDictionary } from './types';
import { MAX_BYTES, readBoundedFileSync } from '../util/files';

export interface RankingConfig {
  modelWeight: number;
  priorWeight: number;
  relatedWeight: number;
  oovOffset: number;
  /** Extra weight of log(1 + post_count) for tags outside the model's vocabulary. */
  oovPriorWeight: number;
  wordPenalty: number;
  aliasPenalty: number;
  /** Where the numbers came from: a file or "default". */
  source: string;
  /** related.json's name in the model folder (`related_file`). */
  relatedFile?: string;
  /** The weights tuned for running without the related file (`without_related`). */
  withoutRelated?: Partial<RankingConfig>;
  /** The vocabulary the weights were tuned with (`vocabulary_sha256`), when the file records it. */
  vocabularySha256?: string;
}

export const DEFAULT_RANKING: RankingConfig = {
  modelWeight: 1,
  priorWeight: 0,
  relatedWeight: 0,
  // Below any in-vocabulary candidate in practice: model log-probs stay above about -25.
  oovOffset: -30,
  oovPriorWeight: 0,
  // A word-start or alias match must be 10x likelier than a literal prefix match to outrank it.
  wordPenalty: Math.log(10),
  aliasPenalty: Math.log(10),
  source: 'default',
};

type Weight = 'modelWeight' | 'priorWeight' | 'relatedWeight' | 'oovOffset' | 'oovPriorWeight' | 'wordPenalty' | 'aliasPenalty';

const KEYS: Record<Weight, string[]> = {
  modelWeight: ['modelWeight', 'model_weight'],
  priorWeight: ['priorWeight', 'prior_weight'],
  relatedWeight: ['relatedWeight', 'related_weight'],
  oovOffset: ['oovOffset', 'oov_offset'],
  oovPriorWeight: ['oovPriorWeight', 'oov_prior_weight'],
  wordPenalty: ['wordPenalty', 'word_penalty'],
  aliasPenalty: ['aliasPenalty', 'alias_penalty'],
};

/** Reads ranking.json; unknown keys are ignored, a bad value is an error naming the file. */
export function readRanking(file: string | undefined): RankingConfig {
  if (!file) return { ...DEFAULT_RANKING };
  let raw: unknown;
  try {
    raw = JSON.parse(readBoundedFileSync(file, MAX_BYTES.modelJson, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error(`${file}: expected a JSON object`);
  const object = raw as Record<string, unknown>;
  const config: RankingConfig = { ...DEFAULT_RANKING, source: file, ...readWeights(object, file) };
  if (typeof object.vocabulary_sha256 === 'string') config.vocabularySha256 = object.vocabulary_sha256;
  if (typeof object.related_file === 'string' && object.related_file) config.relatedFile = object.related_file;
  const without = object.without_related;
  if (typeof without === 'object' && without !== null) {
    config.withoutRelated = readWeights(without as Record<string, unknown>, `${file} (without_related)`);
  }
  return config;
}

function readWeights(object: Record<string, unknown>, file: string): Partial<Pick<RankingConfig, Weight>> {
  const weights: Partial<Pick<RankingConfig, Weight>> = {};
  for (const [field, names] of Object.entries(KEYS) as [keyof typeof KEYS, string[]][]) {
    for (const name of names) {
      const value = object[name];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${file}: "${name}" must be a number`);
      weights[field] = value;
    }
  }
  return weights;
}

/** The ranking to use when the related file is missing: `without_related`'s weights, related off. */
export function rankingWithoutRelated(ranking: RankingConfig): RankingConfig {
  return { ...ranking, ...ranking.withoutRelated, relatedWeight: 0 };
}

/** log(1 + post_count), the dictionary prior of the ranking formula. */
export function logPrior(count: number): number {
  return Math.log1p(count);
}

export function inVocabularyScore(ranking: RankingConfig, logProbability: number, count: number, related = 0): number {
  return ranking.modelWeight * logProbability + ranking.priorWeight * logPrior(count) + ranking.relatedWeight * related;
}

export function outOfVocabularyScore(ranking: RankingConfig, count: number): number {
  return ranking.oovOffset + (ranking.priorWeight + ranking.oovPriorWeight) * logPrior(count);
}

/** Categories whose tags describe a picture (general, meta), not name a work, a character or an artist. */
const DESCRIPTIVE_CATEGORIES: readonly number[] = [0, 5];

/**
 * A tag typed in full (`solo`, `cat`, or an alias such as `longhair`) comes first, so that Tab or
 * Enter keeps it instead of replacing it with a longer tag (`solo_focus`); the editor and the CLI's
 * `complete` alike. Only a tag of the offered `categories` (the list holds no other). An alias counts
 * only when its tag is among the candidates already: `lo` and `gi` are aliases of rare tags (comic_lo,
 * dougi) and usually the start of another one. Nor does an alias of an artist, character or copyright
 * where a general or meta tag offered starts with it: the word is as likely on its way to that tag
 * (`air` → aircraft, not air_(visual_novel); `index`, `vert`), and Enter would write another name in
 * its place; such a match ranks as any other (`kancolle` → kantai_collection still comes first).
 * `insert`: a tag the list lacks is put first too (the editor, where the order is all; the CLI's
 * scores would not say).
 */
export function exactMatchFirst(
  dictionary: TagDictionary, list: Completion[], prefix: string, categories: readonly number[], elsewhere: ReadonlySet<string>, insert = true,
): Completion[] {
  const exact = dictionary.resolve(prefix);
  if (!exact || elsewhere.has(exact.tag.name) || !categories.includes(exact.tag.category)) return list;
  const index = list.findIndex((c) => c.tag === exact.tag.name);
  if (index === 0) return list;
  if (index < 0 && (!insert || exact.viaAlias !== undefined)) return list;
  if (exact.viaAlias !== undefined && !DESCRIPTIVE_CATEGORIES.includes(exact.tag.category) && startsDescriptiveTag(dictionary, prefix, categories, exact.tag.count)) return list;
  const match: Completion = index >= 0
    ? { ...list[index]! }
    : { tag: exact.tag.name, score: 0, category: exact.tag.category, count: exact.tag.count, kind: exact.viaAlias ? 'alias' : 'prefix' };
  if (exact.viaAlias !== undefined) match.alias = exact.viaAlias;
  return [match, ...list.filter((_, i) => i !== index)];
}

/** Whether a general or meta tag of `categories`, with more posts than `moreThan`, starts with `prefix`. */
function startsDescriptiveTag(dictionary: TagDictionary, prefix: string, categories: readonly number[], moreThan: number): boolean {
  const descriptive = categories.filter((category) => DESCRIPTIVE_CATEGORIES.includes(category));
  if (descriptive.length === 0) return false;
  // The most popular one, and more popular than the alias's tag: a 114-post meme tag starting with
  // `goku` does not outweigh son_goku, aircraft (20k) does air_(visual_novel) (2k).
  const first = dictionary.search(prefix, { categories: descriptive, limit: 1, fuzzy: false })[0];
  return first?.kind === 'prefix' && first.tag.count > moreThan;
}
