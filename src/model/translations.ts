// Tag translations in the CSV that a1111-sd-webui-tagcomplete reads (`translationFile`): one tag a line
// with its translation, `tag,translation`, or the older `tag,category,translation`, or a row of an
// extra-tags file, `tag,category,count,aliases,translation`. The community's files (Chinese, Japanese,
// Korean...) let a user type in their language and get the Danbooru tag. Searched as tagcomplete
// searches them: the typed text where a translation's word starts (anywhere in CJK text, where no
// Latin letter comes before it), case-insensitive.
import type { TagDictionary } from './types';
import { parseCsvLine } from './dictionary-csv';
import { normalizeTag } from './dictionary-format';
import { withoutByteOrderMark } from '../util/text';
import { MAX_BYTES, decodeUtf8Text, readBoundedFileSync } from '../util/files';

export interface TranslationMatch {
  /** The tag, in dictionary form (`long_hair`), as the file names it. */
  tag: string;
  /** The translation (one of a tag's alternatives) the typed text was found in. */
  translation: string;
}

export interface TranslationsLoad {
  translations: TagTranslations;
  /** Lines that are not one of the layouts (no translation): how many, and the first's number. */
  skipped: { count: number; firstLine: number };
}

/** Separators between alternatives inside one translation (`长发,长头发`, `長い髪、ロングヘア`). */
const ALTERNATIVES = /[,，、/|;；]/;

export class TagTranslations {
  /** Tag → its translation as written. */
  private readonly byTag = new Map<string, string>();
  /** Every alternative, lower-cased, each followed by `\n`: one string to search with indexOf. */
  private readonly haystack: string;
  /** Where each alternative starts in the haystack, and whose it is. */
  private readonly starts: number[] = [];
  private readonly owners: { tag: string; translation: string }[] = [];
  /** Alternative (lower-cased) → its tag, the first the file gives. */
  private readonly exact = new Map<string, string>();

  constructor(rows: Iterable<[tag: string, translation: string]>, readonly file: string) {
    const parts: string[] = [];
    let length = 0;
    for (const [tag, translation] of rows) {
      if (this.byTag.has(tag)) continue;
      this.byTag.set(tag, translation);
      for (const alternative of translation.split(ALTERNATIVES)) {
        const text = alternative.trim();
        if (!text) continue;
        const key = searchForm(text);
        if (!this.exact.has(key)) this.exact.set(key, tag);
        this.starts.push(length);
        this.owners.push({ tag, translation: text });
        parts.push(key, '\n');
        length += key.length + 1;
      }
    }
    this.haystack = parts.join('');
  }

  get size(): number {
    return this.byTag.size;
  }

  /** The translation of a tag (in any spelling the dictionary form reads), or undefined. */
  of(tag: string): string | undefined {
    return this.byTag.get(normalizeTag(tag));
  }

  /** The first of a tag's alternatives (`校服` of `校服,学生制服`): where a short one reads best. */
  firstOf(tag: string): string | undefined {
    return this.of(tag)?.split(ALTERNATIVES)[0]?.trim() || undefined;
  }

  /** The tag one of whose alternatives is exactly `text` (case-insensitive), or undefined. */
  tagOf(text: string): string | undefined {
    return this.exact.get(searchForm(text.trim()));
  }

  /**
   * The tags whose translation holds the typed text where a word starts, each once (with the first
   * alternative it was found in), in file order; at most `limit`.
   */
  search(typed: string, limit: number): TranslationMatch[] {
    const needle = searchForm(typed.trim());
    if (!needle || needle.includes('\n')) return [];
    const matches: TranslationMatch[] = [];
    const found = new Set<string>();
    for (let at = this.haystack.indexOf(needle); at >= 0 && matches.length < limit; at = this.haystack.indexOf(needle, at + 1)) {
      if (isLatinLetter(this.haystack.charCodeAt(at - 1))) continue;
      const owner = this.owners[this.alternativeAt(at)]!;
      if (found.has(owner.tag)) continue;
      found.add(owner.tag);
      matches.push(owner);
    }
    return matches;
  }

  /** The index of the alternative whose text holds haystack offset `at`. */
  private alternativeAt(at: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Full-width and compatibility forms as their plain ones, lower-cased: what is searched. */
function searchForm(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** An ASCII letter: before the typed text, it means the match is inside a word (tagcomplete's rule). */
function isLatinLetter(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
}

/** The translation of one CSV row in any of the three layouts, or undefined. */
function translationOfRow(fields: string[]): string | undefined {
  const numeric = fields.length >= 3 && /^\s*\d+\s*$/.test(fields[1]!);
  const translation = numeric ? (fields.length >= 5 ? fields[4] : fields[2]) : fields[1];
  return translation?.trim() || undefined;
}

/** Reads a translation CSV; `file` names it in errors. A line that is no row of a layout is skipped and counted. */
export function parseTranslations(text: string, file: string): TranslationsLoad {
  const rows: [string, string][] = [];
  const skipped = { count: 0, firstLine: 0 };
  withoutByteOrderMark(text).split(/\r\n|\n|\r/).forEach((line, index) => {
    if (!line.trim()) return;
    let fields: string[];
    try {
      fields = parseCsvLine(line);
    } catch {
      fields = [];
    }
    const tag = normalizeTag(fields[0] ?? '');
    const translation = translationOfRow(fields);
    if (!tag || !translation) {
      if (skipped.count++ === 0) skipped.firstLine = index + 1;
      return;
    }
    rows.push([tag, translation]);
  });
  return { translations: new TagTranslations(rows, file), skipped };
}

export function loadTranslations(file: string): TranslationsLoad {
  let data: Buffer;
  try {
    data = readBoundedFileSync(file, MAX_BYTES.translations);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: file not found` : `${file}: ${(err as Error).message}`);
  }
  // Community files for Chinese were often saved as GBK: refused with the line, not loaded garbled.
  return parseTranslations(decodeUtf8Text(data, file), file);
}

/** Translations searched per keystroke at most, and tags handed to the engine to rank (the most popular). */
const SEARCHED = 5000;
const RANKED = 200;

/**
 * The tags whose translation holds what was typed, canonical (a file may name an alias), of the
 * offered categories and not in the prompt already: the most popular RANKED, each with the
 * translation it was found by, for the engine to rank as aliases.
 */
export function translationCandidates(
  translations: TagTranslations, typed: string, dictionary: TagDictionary, categories: number[], elsewhere: ReadonlySet<string>,
): Map<string, string> {
  const found: { name: string; count: number; translation: string }[] = [];
  const seen = new Set<string>();
  for (const { tag, translation } of translations.search(typed, SEARCHED)) {
    const resolved = dictionary.resolve(tag)?.tag;
    if (!resolved || seen.has(resolved.name) || elsewhere.has(resolved.name) || !categories.includes(resolved.category)) continue;
    seen.add(resolved.name);
    found.push({ name: resolved.name, count: resolved.count, translation });
  }
  found.sort((a, b) => b.count - a.count);
  return new Map(found.slice(0, RANKED).map(({ name, translation }) => [name, translation]));
}
