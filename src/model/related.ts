// Related-tag weights shipped beside a tag model as related.json (training/related.py: EASE, an
// item-to-item linear model over the training posts). related(candidate) = the sum, over the distinct
// context tags in the vocabulary, of their weight for the candidate; ranking.json's related_weight
// says how much it adds to the model's log-probability.
//   {"version": 1, "rows": [[[candidate_id, weight], ...] for each token id], ...}
import crypto from 'node:crypto';
import { MAX_BYTES, readBoundedFileSync } from '../util/files';

/**
 * What training/tags.py's vocabulary_sha256 computes: the SHA-256 of the tokens in id order joined
 * by newlines. related.json and ranking.json record it; their rows and weights index tokens by id.
 */
export function vocabularySha256(vocab: ReadonlyMap<string, number>): string {
  const tokens: string[] = [];
  for (const [token, id] of vocab) tokens[id] = token;
  return crypto.createHash('sha256').update(tokens.join('\n'), 'utf8').digest('hex');
}

/**
 * Refuses a file made for another vocabulary (another training run's, copied beside this model):
 * its ids would score other tags, silently. Files that record no hash (older exports) are taken.
 */
export function checkVocabulary(file: string, recorded: unknown, expected: string | undefined): void {
  if (expected === undefined || recorded === undefined || recorded === null) return;
  if (recorded !== expected) {
    throw new Error(`${file}: made for another vocabulary than this model's tokenizer.json (its vocabulary_sha256 differs): a file of another training run; export this run again, or delete the file`);
  }
}

export class RelatedWeights {
  private constructor(
    /** rows[t] spans targets/weights[rowStart[t] .. rowStart[t + 1]). */
    private readonly rowStart: Uint32Array,
    private readonly targets: Uint32Array,
    private readonly weights: Float32Array,
  ) {}

  /** @param vocabularySha256 the model's (vocabularySha256 of its tokenizer): a file recording another is refused. */
  static load(file: string, vocabSize: number, vocabularySha256?: string): RelatedWeights {
    let data: unknown;
    try {
      data = JSON.parse(readBoundedFileSync(file, MAX_BYTES.modelJson, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not a readable related.json (${(err as Error).message})`);
    }
    const rows = (data as { rows?: unknown }).rows;
    if ((data as { version?: unknown }).version !== 1 || !Array.isArray(rows)) {
      throw new Error(`${file}: expected a related.json of version 1 with rows`);
    }
    checkVocabulary(file, (data as { vocabulary_sha256?: unknown }).vocabulary_sha256, vocabularySha256);
    if (rows.length > vocabSize) throw new Error(`${file}: ${rows.length} rows but the vocabulary has ${vocabSize} tokens`);
    let total = 0;
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row)) throw new Error(`${file}: every row must be a list of [id, weight] pairs`);
      total += row.length;
    }
    const rowStart = new Uint32Array(vocabSize + 1);
    const targets = new Uint32Array(total);
    const weights = new Float32Array(total);
    let at = 0;
    (rows as unknown[][]).forEach((row, token) => {
      rowStart[token] = at;
      for (const pair of row) {
        const [target, weight] = pair as [unknown, unknown];
        if (!Number.isInteger(target) || (target as number) < 0 || (target as number) >= vocabSize || typeof weight !== 'number') {
          throw new Error(`${file}: row ${token} has a bad pair ${JSON.stringify(pair)}`);
        }
        targets[at] = target as number;
        weights[at] = weight;
        at++;
      }
    });
    rowStart.fill(at, rows.length);
    return new RelatedWeights(rowStart, targets, weights);
  }

  /** related(candidate) for every token after the given (distinct) context tokens. */
  scores(contextTokens: Iterable<number>, vocabSize: number): Float32Array {
    const out = new Float32Array(vocabSize);
    for (const token of new Set(contextTokens)) {
      if (token >= this.rowStart.length - 1) continue;
      for (let i = this.rowStart[token]; i < this.rowStart[token + 1]; i++) out[this.targets[i]] += this.weights[i];
    }
    return out;
  }
}
