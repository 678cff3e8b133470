// Writer-side stages: tag order, the output line of a post, and the tag-count table.
import type { Post } from './schema';
import type { OutputFormat, TagCategory, TagOrder } from './types';
import { createRandom, shuffleInPlace } from '../util/random';
import { TagCounter } from './tag-table';

export { TagCounter };

export interface FormatOptions {
  format: OutputFormat;
  order: TagOrder;
  seed: number;
  categories: readonly TagCategory[];
}

/** Formats posts as dataset lines (without the newline) and counts the tags it writes. */
export class PostFormatter {
  readonly tagCounts = new TagCounter();
  /** The input file's place in the run and the post's in the file: what shuffles a post without an id. */
  private fileIndex = 0;
  private postIndex = 0;

  constructor(private readonly options: FormatOptions) {}

  /** The posts that follow are the file's at `index` among the run's inputs. */
  startFile(index: number): void {
    this.fileIndex = index;
    this.postIndex = 0;
  }

  /** The dataset line of a post (arranging its tag lists in place); count() it once it is written. */
  format(post: Post): string {
    const { order, format } = this.options;
    // Shuffles depend on the seed and the post's id (or its file and place in it), not on how files were split among workers.
    const random = order === 'shuffle' ? seededRandom(this.options.seed, post.id ?? this.fileIndex * 2 ** 32 + this.postIndex) : undefined;
    this.postIndex++;
    let line: string;
    if (format === 'txt') {
      const tags = post.tags.length === 1 ? post.tags[0] : post.tags.flat();
      this.arrange(tags, random);
      line = tags.join(',');
    } else {
      const byCategory: Record<string, string[]> = {};
      this.options.categories.forEach((category, slot) => {
        const tags = post.tags[slot];
        this.arrange(tags, random);
        byCategory[category] = tags;
      });
      line = JSON.stringify({ id: post.id ?? null, rating: post.rating ?? null, score: post.score ?? null, tags: byCategory });
    }
    return line;
  }

  /** Takes back the counts of a line this formatter produced (a duplicate dropped when merging parts). */
  uncount(line: string): void {
    for (const tag of this.tagsOfLine(line)) this.tagCounts.remove(tag);
  }

  addCounts(counts: Iterable<[string, number]>): void {
    for (const [tag, count] of counts) this.tagCounts.add(tag, count);
  }

  private arrange(tags: string[], random: (() => number) | undefined): void {
    if (this.options.order === 'sort') tags.sort(compareCodeUnits);
    else if (random !== undefined) shuffleInPlace(tags, random);
  }

  /** Counts the kept tags of a post that is written; `line` is what format() returned for it. */
  count(post: Post, line: string): void {
    // A txt line is the tags joined by ",", which the table counts in one call.
    this.tagCounts.addTags(post.tags, this.options.format === 'txt' ? line : undefined);
  }

  private tagsOfLine(line: string): string[] {
    if (this.options.format === 'txt') return line === '' ? [] : line.split(',');
    return Object.values((JSON.parse(line) as { tags: Record<string, string[]> }).tags).flat();
  }
}

/** The `name,count` table, most frequent first (ties by name), with a header line. */
export function formatTagCounts(counts: TagCounter): string[] {
  const rows = counts.entries().sort((a, b) => b[1] - a[1] || compareCodeUnits(a[0], b[0]));
  const lines = ['name,count'];
  for (const [tag, count] of rows) lines.push(`${csvField(tag)},${count}`);
  return lines;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The project's PRNG seeded from (seed, key): one independent stream per post. */
export function seededRandom(seed: number, key: number): () => number {
  return createRandom(Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(key | 0, 0x85ebca6b) ^ Math.floor(key / 2 ** 32));
}
