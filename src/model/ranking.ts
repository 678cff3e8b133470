// How completion candidates are scored. The shipped model's ranking.json (written by the training
// engineer's evaluation, tuned on the validation split) overrides these defaults:
//   in vocabulary:      score = modelWeight * log p_model(tag | context) + priorWeight * log prior(tag)
//   out of vocabulary:  score = oovPriorWeight * log prior(tag) + oovOffset
//   prior(tag) = post_count(tag) / sum of all post counts in the dictionary
// Word-start and alias matches (not what the user literally typed) lose wordPenalty / aliasPenalty;
// typo-tolerant matches always come after every real match.
import fs from 'node:fs';

export interface RankingConfig {
  modelWeight: number;
  priorWeight: number;
  oovPriorWeight: number;
  oovOffset: number;
  wordPenalty: number;
  aliasPenalty: number;
  /** Where the numbers came from: a file or "default". */
  source: string;
}

export const DEFAULT_RANKING: RankingConfig = {
  modelWeight: 1,
  priorWeight: 0,
  oovPriorWeight: 1,
  // Below any in-vocabulary candidate in practice: model log-probs stay above about -25.
  oovOffset: -30,
  // A word-start or alias match must be 10x likelier than a literal prefix match to outrank it.
  wordPenalty: Math.log(10),
  aliasPenalty: Math.log(10),
  source: 'default',
};

const KEYS: Record<Exclude<keyof RankingConfig, 'source'>, string[]> = {
  modelWeight: ['modelWeight', 'model_weight'],
  priorWeight: ['priorWeight', 'prior_weight'],
  oovPriorWeight: ['oovPriorWeight', 'oov_prior_weight'],
  oovOffset: ['oovOffset', 'oov_offset'],
  wordPenalty: ['wordPenalty', 'word_penalty'],
  aliasPenalty: ['aliasPenalty', 'alias_penalty'],
};

/** Reads ranking.json; unknown keys are ignored, a bad value is an error naming the file. */
export function readRanking(file: string | undefined): RankingConfig {
  if (!file) return { ...DEFAULT_RANKING };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error(`${file}: expected a JSON object`);
  const object = raw as Record<string, unknown>;
  const config: RankingConfig = { ...DEFAULT_RANKING, source: file };
  for (const [field, names] of Object.entries(KEYS) as [keyof typeof KEYS, string[]][]) {
    for (const name of names) {
      const value = object[name];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${file}: "${name}" must be a number`);
      config[field] = value;
    }
  }
  return config;
}
