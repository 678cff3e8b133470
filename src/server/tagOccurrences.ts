// The tag under the cursor and where the same tag is written elsewhere in a document, in any
// spelling (`long hair`, `long_hair`, `Long_Hair`, `(long hair:1.2)`) or as one of its aliases:
// what Document Highlights, Find All References, Rename and Tag Counts share. Syntax (LoRA names,
// wildcards, weights) is never a tag.
import type { Position, Range } from 'vscode-languageserver/node';
import type { TagDictionary } from '../model/index';
import type { PromptTag } from '../prompt/parser';
import type { Turns } from './cancellation';
import type { LineDocument } from './lineDocument';
import { readTags, type ReadTag } from './lineTags';
import { canonicalName, resolveCached } from './serverContext';

export interface TagOccurrence {
  line: number;
  tag: ReadTag;
}

/** One name for a tag however it is written: its canonical tag's, or its own dictionary form. */
export function tagKey(dictionary: TagDictionary, tag: PromptTag): string {
  return canonicalName(dictionary, tag.name);
}

/** The tag at `position` (from its first character to just after its last, as a word is). */
export function tagAt(document: LineDocument, dictionary: TagDictionary, position: Position): TagOccurrence | undefined {
  const line = document.line(position.line);
  // (As the tags are read: an escaped space alone, `\ `, a wildcard or a number is no tag to rename or find.)
  const tags = readTags(line, dictionary);
  // Past the line's end is its end (LSP).
  const column = Math.min(position.character, line.length);
  const tag = tags.find((t) => t.start <= column && column < t.end) ?? tags.find((t) => t.end === column);
  return tag ? { line: position.line, tag } : undefined;
}

export function rangeOf(occurrence: TagOccurrence): Range {
  return { start: { line: occurrence.line, character: occurrence.tag.start }, end: { line: occurrence.line, character: occurrence.tag.end } };
}

/** Lines looked at between two turns of the event loop when a whole document is read. */
const LINES_PER_TURN = 5000;

/** Every place the document writes the tag `key`, in order, with a turn of the event loop every few thousand lines. */
export async function* everyOccurrence(document: LineDocument, dictionary: TagDictionary, key: string, turns: Turns): AsyncGenerator<TagOccurrence> {
  for (let first = 0; first < document.lineCount; first += LINES_PER_TURN) {
    if (first > 0) await turns.take();
    yield* occurrencesIn(document, dictionary, key, first, Math.min(document.lineCount, first + LINES_PER_TURN) - 1);
  }
}

/** The tags of lines `first`…`last` whose key is `key`, in order. */
export function occurrencesIn(document: LineDocument, dictionary: TagDictionary, key: string, first: number, last: number): TagOccurrence[] {
  const found: TagOccurrence[] = [];
  const needles = needlesOf(dictionary, key);
  for (let line = first; line <= last; line++) {
    const text = document.line(line);
    if (needles) {
      const lower = text.toLowerCase();
      if (!needles.some((needle) => lower.includes(needle))) continue;
    }
    for (const tag of readTags(text, dictionary)) if (tagKey(dictionary, tag) === key) found.push({ line, tag });
  }
  return found;
}

/**
 * Text a line must hold (one of them, lower-cased) to hold the tag in any of its spellings: the
 * longest run of letters and digits of its name and of each alias (a line without them is not
 * parsed). Undefined where a spelling has none (faces such as `^_^`): every line is parsed.
 */
function needlesOf(dictionary: TagDictionary, key: string): string[] | undefined {
  const spellings = [key, ...(resolveCached(dictionary, key)?.tag.aliases ?? [])];
  const needles: string[] = [];
  for (const spelling of spellings) {
    const runs = spelling.match(/[\p{L}\p{N}]+/gu);
    if (!runs) return undefined;
    needles.push(runs.reduce((longest, run) => (run.length > longest.length ? run : longest)));
  }
  return needles;
}
