// Schema adapter: one parsed JSON record -> a Post, whichever of the two Danbooru schemas it uses.
// gwern Danbooru2017-2020: `tags: [{id, name, category}]` (strings; numbers accepted).
// Danbooru API / BigQuery (2021+): `tag_string_general` etc., space-separated; ids may be floats.
import { TAG_CATEGORIES, type ProblemReason, type TagCategory } from './types';

/** A whole number as text: `5`, `05`, `5.0`. */
const WHOLE_NUMBER_TEXT = /^\d+(\.0*)?$/;

export interface Post {
  id: number | undefined;
  rating: string | undefined;
  score: number | undefined;
  deleted: boolean;
  /** Kept tags, one list per kept category, in the order the categories were asked for. */
  tags: string[][];
}

export interface RecordProblem {
  reason: ProblemReason;
  detail: string;
}

/** Reads posts keeping only the given categories; built once per run. */
export class PostAdapter {
  private readonly slotByCategoryId = new Int8Array(256).fill(-1);
  private readonly apiFields: string[];

  /**
   * @param commaFree whether a kept tag holding "," is a bad record: a txt line is its tags joined by
   * ",", so such a tag would be read back as two (none of the shared dictionary's 140,782 tags has one).
   */
  constructor(
    readonly categories: readonly TagCategory[],
    private readonly commaFree = false,
  ) {
    categories.forEach((name, slot) => {
      this.slotByCategoryId[TAG_CATEGORIES[name]] = slot;
    });
    this.apiFields = categories.map((name) => `tag_string_${name}`);
  }

  /** Returns the post, or why the record cannot be one. */
  adapt(record: unknown): Post | RecordProblem {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { reason: 'not-an-object', detail: `expected a post object, got ${describe(record)}` };
    }
    const fields = record as Record<string, unknown>;
    const id = readId(fields.id);
    if (typeof id === 'object') return id;
    const rating = fields.rating;
    if (rating !== undefined && rating !== null && typeof rating !== 'string') {
      return wrongType('rating', 'a string', rating);
    }
    const score = readInteger(fields.score, 'score');
    if (typeof score === 'object') return score;
    const deleted = readBoolean(fields.is_deleted, 'is_deleted');
    if (typeof deleted === 'object') return deleted;

    const tags = Array.isArray(fields.tags) ? this.gwernTags(fields.tags) : this.apiTags(fields);
    if (!Array.isArray(tags)) return tags;
    return { id, rating: rating ?? undefined, score, deleted, tags };
  }

  private gwernTags(list: unknown[]): string[][] | RecordProblem {
    const tags: string[][] = this.categories.map(() => []);
    for (let i = 0; i < list.length; i++) {
      const tag = list[i];
      if (typeof tag !== 'object' || tag === null) return wrongType(`tags[${i}]`, 'an object', tag);
      const { name, category } = tag as { name?: unknown; category?: unknown };
      if (typeof name !== 'string' || name === '') return wrongType(`tags[${i}].name`, 'a non-empty string', name);
      // Category strings are almost always one digit: read it without Number(). Others are digits as ids
      // are (`"00"`, `"4.0"`), not whatever Number() takes (`"  "` is 0, `"0x1"` 1, `"4e0"` 4).
      const categoryId = typeof category === 'string' ? (category.length === 1 ? digitValue(category) : WHOLE_NUMBER_TEXT.test(category) ? Number(category) : undefined) : category;
      if (typeof categoryId !== 'number' || !Number.isInteger(categoryId) || categoryId < 0 || categoryId > 255) {
        return wrongType(`tags[${i}].category`, 'a category number', category);
      }
      const slot = this.slotByCategoryId[categoryId];
      if (slot < 0) continue;
      // A newline in a kept name would split the post over two dataset lines; a dropped tag's name
      // is never written (as in the API schema, whose dropped fields are not read).
      if (hasControlCharacter(name)) return wrongType(`tags[${i}].name`, 'a tag name without control characters or lone surrogates', name);
      if (this.commaFree && name.includes(',')) return wrongType(`tags[${i}].name`, 'a tag name without "," (the txt output joins tags with ",")', name);
      tags[slot].push(name);
    }
    return tags;
  }

  private apiTags(fields: Record<string, unknown>): string[][] | RecordProblem {
    if (fields.tags !== undefined && fields.tags !== null) {
      // `{"general": [...], ...}`: a line of the converter's own --format jsonl (an earlier output saved
      // in the dump's folder and read back with it).
      const convertersOwn = typeof fields.tags === 'object' && !Array.isArray(fields.tags) && Object.values(fields.tags).every(Array.isArray);
      return wrongType('tags', 'an array of {name, category}', fields.tags, convertersOwn ? ' of categories: a tag dataset danbooru-gpt wrote (--format jsonl), not Danbooru metadata; leave it out of the inputs' : '');
    }
    let anyTagField = false;
    const tags: string[][] = [];
    for (const field of this.apiFields) {
      const value = fields[field];
      if (value === undefined || value === null) {
        tags.push([]);
        continue;
      }
      if (typeof value !== 'string') return wrongType(field, 'a string', value);
      anyTagField = true;
      const split = splitTagString(value);
      if (split === undefined) return wrongType(field, 'tags without control characters or lone surrogates', value);
      if (this.commaFree && value.includes(',')) return wrongType(field, 'tags without "," (the txt output joins tags with ",")', value);
      tags.push(split);
    }
    if (!anyTagField && !hasAnyApiTagField(fields)) {
      return { reason: 'missing-tags', detail: 'no "tags" array and no "tag_string_general"/"tag_string_*" field' };
    }
    return tags;
  }
}

export function isRecordProblem(value: Post | RecordProblem): value is RecordProblem {
  return (value as RecordProblem).reason !== undefined;
}

function digitValue(text: string): number {
  const digit = text.charCodeAt(0) - 48;
  return digit >= 0 && digit <= 9 ? digit : NaN;
}

function hasAnyApiTagField(fields: Record<string, unknown>): boolean {
  for (const name of Object.keys(TAG_CATEGORIES)) {
    const value = fields[`tag_string_${name}`];
    if (typeof value === 'string') return true;
  }
  return false;
}

/**
 * Whether a tag's text holds a control character, or a lone surrogate (an escape such as `\ud800`:
 * UTF-8 cannot write it, and the dataset would hold U+FFFD where the counts hold the surrogate).
 */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
    if (code >= 0xd800 && code <= 0xdfff) {
      // A high surrogate before a low one is one character beyond U+FFFF; any other is alone.
      const next = text.charCodeAt(i + 1);
      if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    }
  }
  return false;
}

/** The tags of a space-separated tag string, or undefined when a tag holds a control character. */
function splitTagString(value: string): string[] | undefined {
  if (value === '') return [];
  if (hasControlCharacter(value)) {
    // Danbooru splits tag strings on any whitespace, so tabs and newlines separate tags too.
    const parts = value.split(/[ \t\n\r\f\v]+/).filter((part) => part !== '');
    return parts.some((part) => hasControlCharacter(part)) ? undefined : parts;
  }
  const parts = value.split(' ');
  // Double spaces are rare; only then pay for the filter.
  return parts.includes('') ? parts.filter((part) => part !== '') : parts;
}

function readId(value: unknown): number | undefined | RecordProblem {
  if (value === undefined || value === null) return undefined;
  const id = typeof value === 'string' && WHOLE_NUMBER_TEXT.test(value) ? Number(value) : value;
  // Past 2^53 JSON.parse has rounded the number: the message says so, as it cannot show the file's digits.
  if (typeof id === 'number' && Number.isInteger(id) && id > Number.MAX_SAFE_INTEGER) return wrongType('id', 'a whole number below 2^53', value, typeof value === 'number' ? ' (as read: digits past 2^53 are lost)' : '');
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return wrongType('id', 'a whole number', value);
  return id;
}

function readInteger(value: unknown, field: string): number | undefined | RecordProblem {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^-?\d+(\.\d*)?$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) return wrongType(field, 'a number', value);
  return number;
}

function readBoolean(value: unknown, field: string): boolean | RecordProblem {
  if (value === undefined || value === null || value === false || value === 0 || value === 'false') return false;
  if (value === true || value === 1 || value === 'true') return true;
  return wrongType(field, 'true or false', value);
}

function wrongType(field: string, expected: string, value: unknown, note = ''): RecordProblem {
  return { reason: 'wrong-type', detail: `"${field}" should be ${expected}, got ${describe(value)}${note}` };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  // DEL and the C1 controls escaped too (JSON.stringify leaves them): `"del\u007f"`, not an invisible `"del"`.
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value).replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
