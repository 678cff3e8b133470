// Human-readable text of a conversion's outcome, shared by the CLI and the VS Code command.
import path from 'node:path';
import { counted } from '../util/words';
import { NOTE_REASONS, formatProblem, type ConvertSummary, type ProblemReason, type SkipReason } from './types';

export { formatProblem };

const SKIP_LABELS: Record<SkipReason, string> = {
  'no-kept-tags': 'no kept tag',
  'too-few-tags': 'too few tags',
  rating: 'rating',
  deleted: 'deleted',
  score: 'score',
  duplicate: 'duplicate id',
};

export function skippedTotal(summary: ConvertSummary): number {
  return Object.values(summary.skipped).reduce((sum, count) => sum + count, 0);
}

/** Problems met, bad lines and notes: with several workers more than were passed on one by one (1,000 a file). */
export function problemsTotal(summary: ConvertSummary): number {
  return Object.values(summary.problems).reduce((sum: number, count) => sum + (count ?? 0), 0);
}

/** Several lines: files and speed, posts read/written/skipped by reason, bad lines by reason, outputs. */
export function describeSummary(summary: ConvertSummary): string {
  const megabytes = summary.bytesParsed / 1e6;
  const seconds = Math.max(summary.seconds, 1e-6);
  const lines: string[] = [];
  lines.push(
    `converted ${summary.filesRead < summary.files.length ? `${summary.filesRead} of ` : ''}${summary.files.length} file${summary.files.length === 1 ? '' : 's'}, ${megabytes.toFixed(1)} MB in ${summary.seconds.toFixed(2)} s (${(megabytes / seconds).toFixed(1)} MB/s)` +
      (summary.bytesRead !== summary.bytesParsed ? `, ${(summary.bytesRead / 1e6).toFixed(1)} MB compressed` : ''),
  );
  const skipped = skippedTotal(summary);
  const skipParts = Object.entries(summary.skipped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${SKIP_LABELS[reason as SkipReason]}: ${count}`);
  lines.push(`posts: ${summary.postsRead} read, ${summary.postsWritten} written, ${skipped} skipped${skipParts.length ? ` (${skipParts.join(', ')})` : ''}${summary.stoppedAtLimit ? ', stopped at --limit' : ''}`);
  const bad = problemParts(summary, false);
  lines.push(`bad lines: ${summary.badRecords}${bad.length ? ` (${bad.join(', ')})` : ''}`);
  const notes = problemParts(summary, true);
  if (notes.length) lines.push(`notes: ${notes.join(', ')}`);
  lines.push(`output: ${summary.output} (${counted(summary.postsWritten, 'post')}, ${counted(summary.tagsWritten, 'tag')})`);
  lines.push(`tag counts: ${summary.countsOutput} (${counted(summary.distinctTags, 'distinct tag')})`);
  const stale = summary.staleTempFilesRemoved ?? [];
  if (stale.length > 0) lines.push(`removed ${counted(stale.length, 'temporary file')} an earlier run left when its process went: ${stale.map((file) => path.basename(file)).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function problemParts(summary: ConvertSummary, notes: boolean): string[] {
  return Object.entries(summary.problems)
    .filter(([reason, count]) => (count ?? 0) > 0 && NOTE_REASONS.has(reason as ProblemReason) === notes)
    .map(([reason, count]) => `${reason}: ${count}`);
}
