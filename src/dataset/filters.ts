// Filter stage: decides whether a well-formed post is written, and if not, why.
import type { Post } from './schema';
import type { SkipReason } from './types';

export interface FilterOptions {
  minTags: number;
  ratings: ReadonlySet<string> | undefined;
  excludeDeleted: boolean;
  minScore: number | undefined;
}

/** Returns why the post is skipped, or undefined when it is kept (duplicates are checked separately). */
export function skipReason(post: Post, options: FilterOptions): SkipReason | undefined {
  let tagCount = 0;
  for (const list of post.tags) tagCount += list.length;
  return skipReasonOf(post, tagCount, options);
}

/** skipReason for a post read by the fast path, whose tags are already joined: only their count is known. */
export function skipReasonOf(post: Pick<Post, 'deleted' | 'rating' | 'score'>, tagCount: number, options: FilterOptions): SkipReason | undefined {
  if (options.excludeDeleted && post.deleted) return 'deleted';
  if (options.ratings !== undefined && (post.rating === undefined || !options.ratings.has(post.rating))) return 'rating';
  if (options.minScore !== undefined && (post.score === undefined || post.score < options.minScore)) return 'score';
  if (tagCount === 0) return 'no-kept-tags';
  if (tagCount < options.minTags) return 'too-few-tags';
  return undefined;
}

/**
 * The post ids already written. Danbooru ids are small whole numbers, so a growing bitmap holds
 * millions of them in a few MB (a Set would take ~100 MB for a full dump); others go to a Set.
 */
export class PostIdSet {
  private bits = new Uint8Array(1 << 17);
  private readonly others = new Set<number>();
  private static readonly bitmapLimit = 2 ** 31;

  /** Adds the id; returns false when it was already there. */
  add(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= PostIdSet.bitmapLimit) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const byte = id >>> 3;
    if (byte >= this.bits.length) {
      let size = this.bits.length * 2;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (id & 7);
    if (this.bits[byte] & mask) return false;
    this.bits[byte] |= mask;
    return true;
  }
}
