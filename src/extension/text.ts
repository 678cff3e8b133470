// Words the user reads: counts ("1 tag", "2 tags", "1,204 bad lines"), the Related Tags view's line
// and Sample Tags' note on the tags the model cannot read.
import type { RelatedTagsResult } from '../protocol';

/** `count` with `noun` (singular), or `plural` (default: noun + "s") for any count but 1. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? noun : plural}`;
}

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
