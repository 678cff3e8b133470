// Converts the a1111-sd-webui-tagcomplete tag CSV (`name,category,post_count,"alias1,alias2"`, no header)
// into the compact binary dictionary the engine ships (models/dictionary/danbooru-tags.bin).
//   node --import tsx scripts/build-dictionary.ts [../shared/data/danbooru-tags.csv] [models/dictionary/danbooru-tags.bin]
import fs from 'node:fs';
import path from 'node:path';
import { encodeSections, normalizeTag, wordStarts, type SectionName } from '../src/model/dictionary-format';

interface Row {
  name: string;
  category: number;
  count: number;
  aliases: string[];
}

/** Splits one CSV line into fields (RFC 4180 quoting: `""` is a quote inside a quoted field). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  fields.push(field);
  return fields;
}

export function readRows(file: string): Row[] {
  const rows: Row[] = [];
  const seen = new Set<string>();
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, index) => {
    if (!line.trim()) return;
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

export function buildDictionary(rows: Row[]): Buffer {
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

function main(): void {
  const root = path.join(__dirname, '..');
  const input = process.argv[2] ?? path.join(root, '..', 'shared', 'data', 'danbooru-tags.csv');
  const output = process.argv[3] ?? path.join(root, 'models', 'dictionary', 'danbooru-tags.bin');
  const rows = readRows(input);
  const data = buildDictionary(rows);
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const temporary = `${output}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, data);
  fs.renameSync(temporary, output);
  process.stdout.write(`${output}: ${rows.length} tags, ${data.length} bytes\n`);
}

if (require.main === module) main();
