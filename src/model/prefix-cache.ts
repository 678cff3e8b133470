// LRU of model states keyed by the context's token sequence. A keystroke that only changes the typed
// prefix finds its context here (no forward pass); appending one tag finds the previous context as
// the longest cached prefix, so only the new token is run.

export class PrefixCache<T> {
  private readonly entries = new Map<string, T>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached state of the longest prefix of `tokens` (all of it first), or undefined. */
  longestPrefix(tokens: readonly number[]): { length: number; value: T } | undefined {
    const keys = prefixKeys(tokens);
    for (let length = tokens.length; length >= 1; length--) {
      const value = this.entries.get(keys[length]);
      if (value !== undefined) {
        this.touch(keys[length], value);
        if (length === tokens.length) this.hits++;
        else this.misses++;
        return { length, value };
      }
    }
    this.misses++;
    return undefined;
  }

  /** The state cached for exactly `tokens`, or undefined. */
  get(tokens: readonly number[]): T | undefined {
    const key = cacheKey(tokens);
    const value = this.entries.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.touch(key, value);
    return value;
  }

  set(tokens: readonly number[], value: T): void {
    this.touch(cacheKey(tokens), value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  /** Stores `value` under `key` as the most recently used entry (Map order is the LRU order). */
  private touch(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
  }
}

/** The cache key of a token sequence. */
function cacheKey(tokens: readonly number[]): string {
  return tokens.join(',');
}

/** keys[L] is the cache key of the first L tokens (cacheKey of each prefix, built incrementally). */
function prefixKeys(tokens: readonly number[]): string[] {
  const keys = [''];
  let key = '';
  for (let i = 0; i < tokens.length; i++) {
    key = i === 0 ? String(tokens[0]) : `${key},${tokens[i]}`;
    keys.push(key);
  }
  return keys;
}
