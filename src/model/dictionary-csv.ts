// The tag CSV that a1111-sd-webui-tagcomplete and most booru tools share (`name,category,post_count,
// "alias1,alias2"`, no header: a first line naming the columns is skipped) and its conversion into the compact dictionary format. The shipped
// dictionary is built from it once (scripts/build-dictionary.ts); a user's own CSV is converted on load.
import { encodeSections, normalizeTag, wordStarts, type SectionName } from './dictionary-format';
import { withoutByteOrderMark } from '../util/text';
import { MAX_BYTES, decodeUtf8Text, readBoundedFileSync } from '../util/files';

export interface DictionaryRow {
  name: string;
  category: number;
  count: number;
  aliases: string[];
}

/**
 * Splits one CSV line into fields (RFC 4180 quoting: `""` is a quote inside a quoted field). A field
 * is cut out in runs between quotes and commas, not built a character at a time: that kept ~34 bytes
 * a character (a 50 MB line of a translation file took 1.7 GB).
 */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let pieces: string[] = [];
  let at = 0;
  let quoted = false;
  for (;;) {
    if (quoted) {
      const quote = line.indexOf('"', at);
      if (quote < 0) throw new Error('unterminated quoted field');
      pieces.push(line.slice(at, quote));
      if (line.charCodeAt(quote + 1) === 34) {
        pieces.push('"');
        at = quote + 2;
      } else {
        quoted = false;
        at = quote + 1;
      }
      continue;
    }
    const comma = line.indexOf(',', at);
    const quote = line.indexOf('"', at);
    if (quote >= 0 && (comma < 0 || quote < comma)) {
      pieces.push(line.slice(at, quote));
      quoted = true;
      at = quote + 1;
      continue;
    }
    const end = comma < 0 ? line.length : comma;
    pieces.push(line.slice(at, end));
    fields.push(pieces.length === 1 ? pieces[0]! : pieces.join(''));
    pieces = [];
    if (comma < 0) return fields;
    at = comma + 1;
  }
}

/** A first line naming the columns: neither its category nor its post count is a number. */
function isHeader(fields: string[]): boolean {
  const notNumber = (field: string | undefined): boolean => field === undefined || field.trim() === '' || Number.isNaN(Number(field));
  return notNumber(fields[1]) && notNumber(fields[2]);
}

export function readRows(file: string): DictionaryRow[] {
  return parseRows(decodeUtf8Text(readBoundedFileSync(file, MAX_BYTES.dictionary), file), file);
}

/** The CSV's rows; `file` names the source in errors (`FILE:LINE: ...`). */
export function parseRows(text: string, file: string): DictionaryRow[] {
  const rows: DictionaryRow[] = [];
  const seen = new Set<string>();
  const lines = withoutByteOrderMark(text).split(/\r?\n/);
  let first = true;
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    const isFirst = first;
    first = false;
    const where = `${file}:${index + 1}`;
    let fields: string[];
    try {
      fields = parseCsvLine(line);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    if (fields.length < 3) throw new Error(`${where}: expected name,category,post_count[,aliases]`);
    const name = normalizeTag(fields[0]);
    const category = Number(fields[1]);
    const count = Number(fields[2]);
    // A header (`name,category,post_count,aliases`, as exports from a spreadsheet or a database have): skipped.
    // The first line only: any number of them was skipped, so a file of junk lines said "no tags", or named a late line.
    if (isFirst && isHeader(fields)) return;
    if (!name || !Number.isInteger(category) || category < 0 || category > 255) {
      throw new Error(`${where}: bad name or category`);
    }
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new Error(`${where}: bad post count`);
    if (seen.has(name)) return; // the first (most complete) entry wins
    seen.add(name);
    const aliases = (fields[3] ?? '')
      .split(',')
      .map(normalizeTag)
      .filter((alias) => alias && alias !== name);
    rows.push({ name, category, count, aliases: [...new Set(aliases)] });
  });
  return rows;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function buildDictionary(rows: DictionaryRow[]): Buffer {
  // Ids are popularity ranks; ties by name keep the output deterministic.
  rows.sort((a, b) => b.count - a.count || byString(a.name, b.name));
  const names = rows.map((row) => row.name);
  if (names.some((name) => name.includes('\n'))) throw new Error('a tag name contains a newline');

  const nameOrder = Uint32Array.from(names.keys()).sort((a, b) => byString(names[a], names[b]));

  const aliasPairs: { alias: string; id: number }[] = [];
  rows.forEach((row, id) => row.aliases.forEach((alias) => aliasPairs.push({ alias, id })));
  aliasPairs.sort((a, b) => byString(a.alias, b.alias) || a.id - b.id);

  const words: { id: number; offset: number; suffix: string }[] = [];
  names.forEach((name, id) => {
    for (const offset of wordStarts(name)) words.push({ id, offset, suffix: name.slice(offset) });
  });
  words.sort((a, b) => byString(a.suffix, b.suffix) || a.id - b.id);

  const u8 = (array: Uint8Array | Uint16Array | Uint32Array): Uint8Array =>
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const sections = new Map<SectionName, Uint8Array>([
    ['names', Buffer.from(names.join('\n'), 'utf8')],
    ['categories', Uint8Array.from(rows.map((row) => row.category))],
    ['counts', u8(Uint32Array.from(rows.map((row) => row.count)))],
    ['nameOrder', u8(nameOrder)],
    ['aliases', Buffer.from(aliasPairs.map((pair) => pair.alias).join('\n'), 'utf8')],
    ['aliasTargets', u8(Uint32Array.from(aliasPairs.map((pair) => pair.id)))],
    ['wordTags', u8(Uint32Array.from(words.map((word) => word.id)))],
    ['wordOffsets', u8(Uint16Array.from(words.map((word) => word.offset)))],
  ]);
  return encodeSections(sections);
}
