// Binary layout of the shipped compact tag dictionary (models/dictionary/danbooru-tags.bin).
// The writer (scripts/build-dictionary.ts) precomputes every sorted index so loading is a few
// typed-array views and one string split: no sorting at load time.
//
// Layout (little-endian): magic "DGTD", u32 version, u32 section count, then per section
// u32 name length, name (ASCII), u32 byte length, padding to 4 bytes, bytes, padding to 4 bytes.

export const DICTIONARY_MAGIC = 'DGTD';
export const DICTIONARY_VERSION = 1;

/** Section names; every section is required. Tag ids are popularity ranks (0 = most posts). */
export const SECTIONS = [
  'names', // UTF-8, canonical tag names joined by "\n", in id order
  'categories', // Uint8[tagCount]
  'counts', // Uint32[tagCount] post counts, non-increasing
  'nameOrder', // Uint32[tagCount] tag ids sorted by name (UTF-16 code unit order)
  'aliases', // UTF-8, normalized aliases joined by "\n", sorted
  'aliasTargets', // Uint32[aliasCount] tag id of each alias
  'wordTags', // Uint32[wordCount] tag id of each word start (not the first word)
  'wordOffsets', // Uint16[wordCount] character offset of the word in the name; sorted by the suffix
] as const;

export type SectionName = (typeof SECTIONS)[number];

/** Lower-case, trimmed, spaces as underscores: the form names and aliases are indexed in. */
export function normalizeTag(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, '_');
}

/**
 * What was typed, as a prefix of names in dictionary form: as normalizeTag, but a space typed last
 * is the word's end (`hair ` matches `hair_ornament`, not `hairband`), as `hair_` is.
 */
export function normalizePrefix(text: string): string {
  return foldWidth(text).trimStart().toLowerCase().replace(/\s+/g, '_');
}

const FULL_WIDTH = /[\uff01-\uff5e\u3000]/;

/**
 * Full-width ASCII (`ｌｏｎｇ`, `１girl`, what a Japanese input method types) as ASCII, as CLIP's text
 * cleaning reads it; other text as it is.
 */
export function foldWidth(text: string): string {
  if (!FULL_WIDTH.test(text)) return text;
  return text.replace(/[\uff01-\uff5e\u3000]/g, (c) => (c === '\u3000' ? ' ' : String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
}

/** Whether the text holds full-width ASCII (foldWidth changes it). */
export function hasFullWidth(text: string): boolean {
  return FULL_WIDTH.test(text);
}

/** Offsets where a word after the first starts: just after each `_` (not at the end). */
export function wordStarts(name: string): number[] {
  const offsets: number[] = [];
  for (let i = 0; i < name.length - 1; i++) {
    if (name.charCodeAt(i) === 95 /* _ */ && name.charCodeAt(i + 1) !== 95) offsets.push(i + 1);
  }
  return offsets;
}

export function encodeSections(sections: Map<SectionName, Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write(DICTIONARY_MAGIC, 0, 'ascii');
  header.writeUInt32LE(DICTIONARY_VERSION, 4);
  header.writeUInt32LE(SECTIONS.length, 8);
  parts.push(header);
  let length = header.length;
  const pad = (): void => {
    const extra = (4 - (length % 4)) % 4;
    if (extra) {
      parts.push(Buffer.alloc(extra));
      length += extra;
    }
  };
  for (const name of SECTIONS) {
    const bytes = sections.get(name);
    if (!bytes) throw new Error(`missing dictionary section ${name}`);
    const nameBytes = Buffer.from(name, 'ascii');
    const head = Buffer.alloc(4 + nameBytes.length);
    head.writeUInt32LE(nameBytes.length, 0);
    nameBytes.copy(head, 4);
    parts.push(head);
    length += head.length;
    const size = Buffer.alloc(4);
    // The section size goes after the name, then padding so typed-array views are aligned.
    pad();
    size.writeUInt32LE(bytes.byteLength, 0);
    parts.push(size);
    length += 4;
    parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    length += bytes.byteLength;
    pad();
  }
  return Buffer.concat(parts, length);
}

export function decodeSections(data: Buffer, file: string): Map<SectionName, Buffer> {
  const fail = (why: string): never => {
    throw new Error(`${file}: not a danbooru-gpt dictionary (${why})`);
  };
  if (data.length < 12 || data.toString('ascii', 0, 4) !== DICTIONARY_MAGIC) {
    fail('bad magic; expected the compact format of models/dictionary/danbooru-tags.bin, or a tag CSV named *.csv');
  }
  const version = data.readUInt32LE(4);
  if (version !== DICTIONARY_VERSION) fail(`version ${version}, expected ${DICTIONARY_VERSION}`);
  const count = data.readUInt32LE(8);
  const sections = new Map<SectionName, Buffer>();
  let offset = 12;
  const align = (): void => {
    offset += (4 - (offset % 4)) % 4;
  };
  for (let i = 0; i < count; i++) {
    if (offset + 4 > data.length) fail('truncated');
    const nameLength = data.readUInt32LE(offset);
    offset += 4;
    const name = data.toString('ascii', offset, offset + nameLength) as SectionName;
    offset += nameLength;
    align();
    if (offset + 4 > data.length) fail('truncated');
    const size = data.readUInt32LE(offset);
    offset += 4;
    if (offset + size > data.length) fail(`section ${name} truncated`);
    sections.set(name, data.subarray(offset, offset + size));
    offset += size;
    align();
  }
  for (const name of SECTIONS) if (!sections.has(name)) fail(`section ${name} missing`);
  return sections;
}
