// Words the user reads (counts, "1 tag", are util/words.ts's): the Related Tags view's line,
// Sample Tags' note on the tags the model cannot read, and the rows of Tag Counts.
import { categoryName } from '../model/describe';
import type { RelatedTagsResult, TagCount } from '../protocol';
import { counted } from '../util/words';

/**
 * The Related Tags view's line: the last tags the model read, and the ones it cannot read (a
 * character tag, `1girl` for the shipped model), which would otherwise look like its context.
 */
export function relatedTagsMessage(result: Pick<RelatedTagsResult, 'context' | 'unseen' | 'fromModel'>): string {
  if (!result.fromModel) return 'No model loaded: most popular tags';
  const unseen = new Set(result.unseen);
  const read = result.context.filter((tag) => !unseen.has(tag));
  const next = read.length > 0 ? `Next after: ${read.slice(-3).join(', ')}` : 'Most likely first tags';
  return result.unseen.length > 0 ? `${next} · the model does not read ${result.unseen.join(', ')}` : next;
}

/** `, 1 not read by the model: hatsune_miku`: tags the samples cannot follow, so their absence is explained. */
export function unseenNote(unseen: string[]): string {
  return unseen.length > 0 ? `, ${unseen.length} not read by the model: ${unseen.join(', ')}` : '';
}

/** A Tag Counts row's description: `12 prompts · 40%` (of the file's prompts). */
export function tagCountDescription(count: Pick<TagCount, 'prompts'>, prompts: number): string {
  const share = (100 * count.prompts) / Math.max(1, prompts);
  return `${counted(count.prompts, 'prompt')} · ${share >= 10 || share === 0 ? share.toFixed(0) : share.toFixed(1)}%`;
}

/**
 * A Tag Counts row's detail: `general · 4,350,743 posts on Danbooru`, or that the dictionary does not
 * know it; after its translation (`长发 · general · …`) when the translation file has one.
 */
export function tagCountDetail(count: Pick<TagCount, 'category' | 'posts' | 'translation'>): string {
  const translation = count.translation ? `${count.translation} · ` : '';
  if (count.category === undefined) return `${translation}not in the tag dictionary`;
  return `${translation}${categoryName(count.category)} · ${counted(count.posts ?? 0, 'post')} on Danbooru`;
}
