// Formatting a prompt line (Format Document, Format Selection, format on save): one separator
// between tags, no empty tags (`a,, b`), no space inside brackets or before a weight
// (`( long  hair : 1.2 )` → `(long hair:1.2)`), runs of spaces as one. Only whitespace and empty
// separators change, which no image model reads (a1111 and ComfyUI split on commas and CLIP ignores
// spacing), so the tags, weights and syntax the parser reads are the same before and after (a test
// checks it on real prompts). Comments, LoRA tags, wildcards and keywords are copied as written.
// Optionally tags' words are rewritten with spaces or underscores (tags the dictionary knows only).
import { isKaomoji, type WordSeparator } from './insertStyle';
import { commentLineText, isSpace, normalizeTag, opensSection, parsePrompt, type ParsedPrompt, type ParseOptions } from './parser';

/** `a, b` or `a,b` (how the converter writes a dataset, as `mio/danbooru2021-tags` does). */
export type SeparatorStyle = 'commaSpace' | 'comma';

export interface FormatOptions extends ParseOptions {
  separator: SeparatorStyle;
  /** Rewrite the words of known tags (`isTag`) with spaces or underscores; `keep` leaves them. */
  tagWords: 'keep' | WordSeparator;
}

type UnitKind = 'text' | 'tag' | 'comma' | 'open' | 'close' | 'weight' | 'comment' | 'editSeparator';

interface Unit {
  kind: UnitKind;
  start: number;
  end: number;
  /** No space before it (a group's weight `:1.2`, NovelAI's closing `::`) or after it (its opening `1.5::`). */
  tightBefore?: boolean;
  tightAfter?: boolean;
}

const COMMA = 44;
const COLON = 58;
const WHITESPACE_RUN = /\s+/g;

/** The parts of a line in order: what the parser found, and any other non-space run as text. */
function unitsOf(line: string, parsed: ParsedPrompt): Unit[] {
  const found: Unit[] = [];
  for (const tag of parsed.tags) found.push({ kind: 'tag', start: tag.start, end: tag.end });
  for (const token of parsed.tokens) {
    if (token.kind === 'comment') found.push({ kind: 'comment', start: token.start, end: token.end });
    else if (token.kind !== 'weight') found.push({ kind: 'text', start: token.start, end: token.end });
    else if (line.slice(token.start, token.end).includes('$$')) {
      // A choice's count (`{2$$`, `{1-3$$ and $$`): its joiner is text the user chose.
      found.push({ kind: 'text', start: token.start, end: token.end });
    } else if (line.charCodeAt(token.start) === COLON && line.charCodeAt(token.start + 1) !== COLON) {
      // `:1.2`: against its group's closing bracket; an AND segment's (`1girl :1.2 AND`) keeps its space.
      found.push({ kind: 'weight', start: token.start, end: token.end, tightBefore: endsGroup(line, token.end) });
    } else {
      // NovelAI's `1.5::rain, night::`: against the tags it weighs.
      const opens = opensSection(line, token);
      found.push({ kind: 'weight', start: token.start, end: token.end, tightBefore: !opens, tightAfter: opens });
    }
  }
  for (const group of parsed.groups) {
    found.push({ kind: 'open', start: group.open, end: group.open + 1 });
    if (group.close !== undefined) found.push({ kind: 'close', start: group.close, end: group.close + 1 });
  }
  for (const at of parsed.separators) {
    const code = line.charCodeAt(at);
    found.push({ kind: code === COMMA ? 'comma' : code === COLON ? 'editSeparator' : 'text', start: at, end: at + 1 });
  }
  found.sort((a, b) => a.start - b.start);
  const units: Unit[] = [];
  let covered = 0;
  const addText = (from: number, to: number): void => {
    // What the parser named nothing (a stray `)`): kept, split at whitespace.
    for (let i = from; i < to;) {
      if (isSpace(line.charCodeAt(i))) {
        i++;
        continue;
      }
      let end = i;
      while (end < to && !isSpace(line.charCodeAt(end))) end++;
      units.push({ kind: 'text', start: i, end });
      i = end;
    }
  };
  for (const unit of found) {
    if (unit.start < covered) continue;
    addText(covered, unit.start);
    units.push(unit);
    covered = unit.end;
  }
  addText(covered, line.length);
  return units;
}

/** Whether a group's closing bracket (or the end of a line still being typed) follows, after spaces. */
function endsGroup(line: string, end: number): boolean {
  let i = end;
  while (i < line.length && isSpace(line.charCodeAt(i))) i++;
  return i === line.length || ')]}'.includes(line[i]!);
}

/** A tag's text with its words joined as asked; a kaomoji (`^_^`) keeps its underscore. */
function tagText(text: string, options: FormatOptions): string {
  const collapsed = text.replace(WHITESPACE_RUN, ' ');
  if (options.tagWords === 'keep') return collapsed;
  const name = normalizeTag(collapsed);
  if (!options.isTag?.(name)) return collapsed;
  if (options.tagWords === 'underscores') return collapsed.replace(/ /g, '_');
  return isKaomoji(name) ? collapsed : collapsed.replace(/_/g, ' ');
}

function unitText(line: string, unit: Unit, options: FormatOptions): string {
  const text = line.slice(unit.start, unit.end);
  switch (unit.kind) {
    case 'tag':
      return tagText(text, options);
    case 'weight':
      return text.replace(WHITESPACE_RUN, '');
    case 'comment':
      return text.trimEnd();
    default:
      return text;
  }
}

const SPACE = 32;
const SLASH = 47;
const HASH = 35;
const PLUS = 43;
const DASH = 45;
const DOT = 46;
const isOpenBracket = (code: number): boolean => code === 40 || code === 91 || code === 123;
const isCloseBracket = (code: number): boolean => code === 41 || code === 93 || code === 125;
const isDigit = (code: number): boolean => code >= 48 && code <= 57;
/** Whitespace other than a plain space: tabs, line feeds, no-break and other Unicode spaces. */
const isOtherWhitespace = (code: number): boolean => code !== SPACE && isSpace(code);

/**
 * Whether formatPrompt may change the line; false for most lines of a tidy file. What any change needs
 * (a superset: a line holding none of it is left as it is): whitespace other than single spaces between
 * words, a space against a bracket, comma or colon, an empty separator, a comment (a space goes before
 * it), or a comma without the style's space. One pass over the characters: a 200,000-line dataset is
 * looked at in about an eighth of the time parsing its lines takes (one regex of the alternatives took
 * 1.7 times as long as this loop).
 */
export function mayNeedFormatting(line: string, options: Pick<FormatOptions, 'separator' | 'tagWords'>): boolean {
  if (options.tagWords !== 'keep') return true;
  const last = line.length - 1;
  const spaceAfterComma = options.separator !== 'comma';
  for (let i = 0; i <= last; i++) {
    const code = line.charCodeAt(i);
    if (code === SPACE) {
      if (i === 0 || i === last) return true;
      const next = line.charCodeAt(i + 1);
      if (next === SPACE || next === COMMA || isCloseBracket(next)) return true;
      // A space before a `:` (a weight's) unless a comma precedes it and a face follows, `, :d`.
      if (next === COLON) {
        const after = line.charCodeAt(i + 2);
        if (line.charCodeAt(i - 1) !== COMMA || isDigit(after) || after === DOT || after === DASH || after === PLUS) return true;
      }
    } else if (code === COMMA) {
      if (i === 0) return true;
      if (i === last) continue;
      const next = line.charCodeAt(i + 1);
      if (next === COMMA || (next === SPACE) !== spaceAfterComma || (next === SPACE && line.charCodeAt(i + 2) === COMMA)) return true;
    } else if (isOpenBracket(code)) {
      const next = line.charCodeAt(i + 1);
      if (next === SPACE || next === COMMA) return true;
    } else if (code === COLON) {
      if (line.charCodeAt(i + 1) === SPACE) return true;
    } else if ((code === SLASH && line.charCodeAt(i + 1) === SLASH) || code === HASH || isOtherWhitespace(code)) {
      return true;
    }
  }
  return false;
}

/** The line formatted; the same line when nothing changes. */
export function formatPrompt(line: string, options: FormatOptions, parsed: ParsedPrompt = parsePrompt(line, options)): string {
  const afterComma = options.separator === 'comma' ? '' : ' ';
  const pieces: string[] = [];
  // The last character written (asking the growing string for it flattened it each time: a line of
  // 16,000 weighted tags took 5 s).
  let last = '';
  let previous: Unit | undefined;
  for (const unit of unitsOf(line, parsed)) {
    if (unit.kind === 'comma' && (!previous || previous.kind === 'comma' || previous.kind === 'open')) continue;
    let gap = '';
    if (!previous || unit.kind === 'comma' || unit.kind === 'close' || unit.tightBefore || previous.kind === 'open' || previous.tightAfter
      || unit.kind === 'editSeparator' || previous.kind === 'editSeparator') {
      gap = '';
    } else if (unit.kind === 'comment') {
      gap = ' ';
    } else if (previous.kind === 'comma') {
      gap = afterComma;
    } else if (unit.start > previous.end) {
      // Only whitespace lies between two units (every other character is in one).
      gap = ' ';
    }
    const text = unitText(line, unit, options);
    // `3:` (a face) before its weight `:1.2`: joined they would read as NovelAI's `::`. (Not prompt
    // editing's own `::`, `[smile::5]`, which became `[smile: :5]`.)
    if (gap === '' && last === ':' && text.startsWith(':') && previous?.kind === 'tag') gap = ' ';
    pieces.push(gap, text);
    last = text === '' ? (gap === '' ? last : gap[gap.length - 1]!) : text[text.length - 1]!;
    previous = unit;
  }
  const out = pieces.join('');
  // `, # portraits` without its empty first separator would read as a comment (a section heading):
  // formatting never changes what a line is.
  if (commentLineText(out) !== undefined && commentLineText(line) === undefined) return line;
  return out;
}

const COMMA_CODE = 44;
/** `//` where the parser reads a comment: at the start, or after a space, a separator or an opening bracket. */
const TRAILING_COMMENT = /(^|[\s,([{|])\/\//;

/** Lines read to tell a file's separator style. */
const STYLE_SAMPLE_LINES = 1000;

/**
 * The separator a file mostly uses: `a, b` unless most of its commas have no space after them (a
 * dataset the converter wrote). Counted on its first lines.
 */
export function separatorStyleOf(lineAt: (index: number) => string, lineCount: number): SeparatorStyle {
  let spaced = 0;
  let bare = 0;
  for (let index = 0; index < Math.min(lineCount, STYLE_SAMPLE_LINES); index++) {
    let line = lineAt(index);
    // Comments are prose; a comment after the prompt (`//` where a tag could start) too.
    if (commentLineText(line) !== undefined) continue;
    const comment = line.includes('//') ? TRAILING_COMMENT.exec(line) : null;
    if (comment) line = line.slice(0, comment.index + comment[1]!.length);
    // Only separators between two tags: an empty tag (`,,`, `, ,`) and a comma opening or ending the
    // line have no style, and formatting takes them out (else the file's style would change with it).
    for (let at = line.indexOf(','); at >= 0; at = line.indexOf(',', at + 1)) {
      let before = at - 1;
      while (before >= 0 && isSpace(line.charCodeAt(before))) before--;
      if (before < 0 || line.charCodeAt(before) === COMMA_CODE) continue;
      let next = at + 1;
      while (next < line.length && isSpace(line.charCodeAt(next))) next++;
      if (next === line.length || line.charCodeAt(next) === COMMA_CODE) continue;
      if (next > at + 1) spaced++;
      else bare++;
    }
  }
  return bare > spaced ? 'comma' : 'commaSpace';
}
