// Prompt parsing: one line is one prompt, tags are comma-separated. The parser only reports where
// things are (tag spans, weights, LoRA, keywords, comments); it never rewrites text, so whatever it
// does not understand stays part of a tag's raw text. Pure functions, no LSP imports: the server,
// the client and the CLI's `complete` share them.
import { countBelow } from '../util/sorted';

/** One tag as written in a prompt. */
export interface PromptTag {
  /** Raw text as written, trimmed (but for a space a backslash escapes): `long hair`, `ganyu \(genshin impact\)`. */
  text: string;
  /** Dictionary form: unescaped, lower-case, spaces as underscores: `ganyu_(genshin_impact)`. */
  name: string;
  /** Column of the first character. */
  start: number;
  /** Column after the last character. */
  end: number;
  /** Index into `groups` of the innermost enclosing bracket group, if any. */
  group?: number;
}

/** A bracket group: `(…)`, `[…]` or `{…}` used for emphasis, weights, alternation or prompt editing. */
export interface PromptGroup {
  kind: '(' | '[' | '{';
  open: number;
  /** Column of the closing bracket; undefined while it is still being typed. */
  close?: number;
  parent?: number;
}

export type PromptTokenKind = 'weight' | 'network' | 'keyword' | 'comment' | 'category' | 'wildcard' | 'variable';

/**
 * Syntax that is not a tag: `:1.2` weights, `<lora:…>` networks, BREAK/AND, comments, `artist:` prefixes,
 * wildcards: `__hair_color__` with the rest of the tag it starts (`__color__ hair`), and Dynamic
 * Prompts' variables: `${color}` with the rest of the tag it starts, or the `${color=` of a value.
 */
export interface PromptToken {
  kind: PromptTokenKind;
  start: number;
  end: number;
}

export interface ParsedPrompt {
  tags: PromptTag[];
  tokens: PromptToken[];
  groups: PromptGroup[];
  /** Columns of separators: `,`, `|` in `[a|b]`, `:` in `[a:b:0.5]`. */
  separators: number[];
}

// Sticky (`y`) patterns are matched in place at an index: no substring per character.
const NETWORK = /<[A-Za-z][\w-]*:[^<>]*>/y;
// BREAK and AND (a1111), and Regional Prompter's region separators.
const KEYWORD = /(?:BREAK|AND|ADDCOMM|ADDBASE|ADDCOL|ADDROW)(?=[\s,()[\]{}|:]|$)/y;
// ComfyUI's (and a1111's) textual inversion, `embedding:EasyNegative` or `(embedding:name.pt:1.2)`.
const EMBEDDING = /embedding:[^\s,()[\]{}|:<>]+/iy;
// Danbooru's category prefixes (what its tag box takes for a new tag; NovelAI prompts write `artist:`),
// unless what follows is a weight (`(art:1.2)`); and NovelAI V4's action prefixes (`target#hug`).
const CATEGORY_PREFIX = /(?:(?:artist|art|character|char|copyright|copy|general|gen|meta):|(?:source|target|mutual)#)(?!\s*-?(?:\d+\.?\d*|\.\d+)\s*(?:[)\]}]|$))(?=[^\s,:|)\]}]|$)/iy;
const CATEGORY_OF_PREFIX: Readonly<Record<string, string>> = {
  artist: 'artist', art: 'artist', character: 'character', char: 'character', copyright: 'copyright', copy: 'copyright',
  general: 'general', gen: 'general', meta: 'meta',
};
/** First letters of those prefixes, lower-cased (code | 32): most tags start with none of them. */
const PREFIX_INITIALS = new Set([...'acgmst'].map((c) => c.charCodeAt(0)));
// Dynamic Prompts' (and ComfyUI Impact Pack's) wildcard, `__hair_color__`, `__animals/*__`: a file of
// options chosen when the image is made. No Danbooru name starts with `_`. As Dynamic Prompts reads
// it, its name may follow a sampler (`__~name__` random, `__@name__` cyclical, `__!name__`
// combinatorial), hold spaces (`__my colors__`, a file `my colors.txt`), and be followed by the
// variables a template file is given (`__name(var=value)__`). Its name holds no `__` (no name reaches
// across words to a later `__`: `__hair__long hair__`), nor `$` or `#`, which start other syntax there.
const WILDCARD = /__([~!@]?)([^\s,()[\]{}|<>$#](?:(?:(?!__)[^,()[\]{}|<>$#])*?[^\s,()[\]{}|<>$#])??)(?:\s*\([^)]+\))?__(?=[\s,()[\]{}|:]|$)/y;
// Dynamic Prompts' variables (its var_name: letters, digits, `_`, `-`): `${color}` is replaced by its
// value, `${color:red}` has a default, `${color=…}` (`?=`, `=!` too) sets it; the value or the default
// is read as the options of a choice, up to its `}`.
const VARIABLE = /\$\{\s*[A-Za-z_-][\w-]*\s*\}/y;
const VARIABLE_WITH_VALUE = /\$\{\s*[A-Za-z_-][\w-]*\s*(?:\??=!?|:)\s*/y;
// Dynamic Prompts' number of options to choose at the start of a `{…}`: `{2$$a|b|c}`, `{1-3$$ and $$a|b}`.
const QUANTITY = /(?:\d+|\d*-\d*)?\$\$(?:[^$|{}]*\$\$)?/y;
// a1111's weight of an AND segment, `1girl :1.2 AND 2girls`: its `:number` ends the segment.
const SEGMENT_WEIGHT = /:\s*[-+]?(?:\d+\.?\d*|\.\d+)(?=\s*(?:AND(?=[\s,()[\]{}|]|$)|$))/y;
// A weight ends at its group's closing bracket (or the end of the line while it is still being typed).
const WEIGHT = /:\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*(?=[)\]}]|$)/y;
const WHITESPACE = /\s/;
// Networks that are always syntax, even written right after a tag without a comma (`smile <lora:x:1>`).
const NETWORK_SYNTAX = /<(?:lora|lyco|hypernet|embedding):[^<>]*>/iy;
// A weight anywhere in a bracket group (`(blush:1.1)`, `((a, b:0.8))`, or one still being typed).
const HOLDS_WEIGHT = /:\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*(?:[)\]}]|$)/;
// NovelAI's numeric emphasis, `1.5::rain, night::`: the number that opens a section (`-1::` too).
const SECTION_WEIGHT = /^-?(?:\d+\.?\d*|\.\d+)\s*$/;

const BACKSLASH = 92;
const COMMA = 44;
/**
 * `，` and `、`, the commas a Chinese or Japanese input method types: separators as `,` is (CLIP's
 * text cleaning reads full-width characters as their ASCII ones).
 */
const FULLWIDTH_COMMA = 0xff0c;
const IDEOGRAPHIC_COMMA = 0x3001;
const COLON = 58;
// The rest of a1111's `[:to:when]` from its first colon: `:smile:0.5]` (no `|`: `[:d|:3]` is alternation of faces).
const EDIT_WITHOUT_FROM = /:(?:[^:[\]\\|]|\\.)+:\s*(?:\d+\.?\d*|\.\d+)\s*\]/y;
// What `[:to:when]` adds, between its colons (escapes kept as written).
const EDIT_TO = /:((?:[^:[\]\\|]|\\.)+):/y;
const PIPE = 124;
const HASH = 35;
const DOLLAR = 36;
const DASH = 45;
const UNDERSCORE = 95;
const SLASH = 47;
const LESS = 60;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const OPEN_SQUARE = 91;
const CLOSE_SQUARE = 93;
const OPEN_CURLY = 123;
const CLOSE_CURLY = 125;
const UPPER_A = 65;
const UPPER_B = 66;
const LOWER_E = 101;
const UPPER_E = 69;

/** The same characters as the regular expression `\s`, by char code (the parser's hot path). */
export function isSpace(code: number): boolean {
  if (code <= 32) return code === 32 || (code >= 9 && code <= 13);
  return code === 160 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029
    || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** Length of the sticky pattern's match at `index`, or 0. */
function matchAt(pattern: RegExp, line: string, index: number): number {
  pattern.lastIndex = index;
  const match = pattern.exec(line);
  return match ? match[0].length : 0;
}

/** A comment starts here: `//`, or `#` followed by whitespace or the end of the line. */
function isCommentAt(line: string, index: number): boolean {
  const code = line.charCodeAt(index);
  if (code === SLASH) return line.charCodeAt(index + 1) === SLASH;
  return code === HASH && (index + 1 === line.length || isSpace(line.charCodeAt(index + 1)));
}

/** The text of a line that is a comment (`# note`, `// note`), without its marker and the spaces round it; undefined for any other line. */
export function commentLineText(line: string): string | undefined {
  const start = line.length - line.trimStart().length;
  if (start === line.length || !isCommentAt(line, start)) return undefined;
  return line.slice(start + (line.charCodeAt(start) === SLASH ? 2 : 1)).trim();
}

/**
 * Characters a backslash escapes: the prompt syntax's (`\(` `\:` `\,` `\|`…, `\\` itself, a space). Before
 * any other the backslash is the tag's own, as ComfyUI and trainers read it: `\m/`, `\o/`, `double \n/`
 * are tags. (a1111 drops a lone backslash, reading `\m/` as `m/`; it would need `\\m/`, which ComfyUI
 * reads with two.) A character class's body: formatTag escapes a tag's own backslash before these.
 */
export const ESCAPABLE = '\\\\()[\\]{}|:,，、<>#\\s';
const ESCAPED = new RegExp(`\\\\([${ESCAPABLE}])`, 'g');

/** Dictionary form of a raw tag: unescape `\(` and the other syntax characters, lower-case, runs of spaces to one `_`. */
export function normalizeTag(raw: string): string {
  const unescaped = raw.includes('\\') ? raw.replace(ESCAPED, '$1') : raw;
  const text = unescaped.trim().toLowerCase();
  return /\s/.test(text) ? text.replace(/\s+/g, '_') : text;
}

export interface ParseOptions {
  /**
   * Whether a dictionary-form name is a known tag (or alias). Decides `smile (blush)` (emphasis after
   * a tag) against `ganyu (genshin impact)` (a qualifier, part of the tag). Without it such a `(` stays
   * part of the tag.
   */
  isTag?: (name: string) => boolean;
}

/** Column of the bracket closing the one at `open` (same kind, nested, escapes skipped), or -1. */
function matchingClose(line: string, open: number): number {
  const opener = line.charCodeAt(open);
  const closer = opener === OPEN_PAREN ? CLOSE_PAREN : opener === OPEN_SQUARE ? CLOSE_SQUARE : CLOSE_CURLY;
  let depth = 0;
  for (let i = open; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === opener) depth++;
    else if (code === closer && --depth === 0) return i;
  }
  return -1;
}

/**
 * What startsSyntaxInTag asks about a line, found in one pass each when first asked: scanning to the
 * end of the line for every unclosed `(` made a line of many (`smile (blush, …`) quadratic, 1.6 s to
 * parse 8,000 of them.
 */
class LineBrackets {
  private closes?: Map<number, number>;
  private weights?: number[];

  constructor(private readonly line: string) {}

  /** matchingClose(line, open), from a table of every bracket pair of the line. */
  closeOf(open: number): number {
    this.closes ??= bracketPairs(this.line);
    return this.closes.get(open) ?? matchingClose(this.line, open);
  }

  /** Whether HOLDS_WEIGHT matches in the line from `index` on: some match starts at or after it. */
  holdsWeightFrom(index: number): boolean {
    return this.firstWeightFrom(index) >= 0;
  }

  /**
   * Whether HOLDS_WEIGHT matches in the group `line[open..close]` (a match starting inside it ends at
   * its closing bracket at the latest): testing each group's text made nested groups quadratic.
   */
  holdsWeightIn(open: number, close: number): boolean {
    const first = this.firstWeightFrom(open);
    return first >= 0 && first < close;
  }

  /** The first column at or after `index` where HOLDS_WEIGHT matches, or -1. */
  private firstWeightFrom(index: number): number {
    const weights = (this.weights ??= weightStarts(this.line));
    const low = countBelow(weights, index);
    return low < weights.length ? weights[low]! : -1;
  }
}

/** Each opening bracket's closing column (-1: never closed), for the three kinds, escapes skipped. */
function bracketPairs(line: string): Map<number, number> {
  const pairs = new Map<number, number>();
  const stacks = new Map<number, number[]>([[OPEN_PAREN, []], [OPEN_SQUARE, []], [OPEN_CURLY, []]]);
  const openerOf = new Map([[CLOSE_PAREN, OPEN_PAREN], [CLOSE_SQUARE, OPEN_SQUARE], [CLOSE_CURLY, OPEN_CURLY]]);
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code === BACKSLASH) {
      i++;
      continue;
    }
    const stack = stacks.get(code) ?? stacks.get(openerOf.get(code) ?? -1);
    if (!stack) continue;
    if (!openerOf.has(code)) stack.push(i);
    else if (stack.length > 0) pairs.set(stack.pop()!, i);
  }
  for (const stack of stacks.values()) for (const open of stack) pairs.set(open, -1);
  return pairs;
}

const WEIGHT_AT = new RegExp(HOLDS_WEIGHT.source, 'y');

/** Where matches of HOLDS_WEIGHT start in the line, in order (it only looks forward from a `:`). */
function weightStarts(line: string): number[] {
  const starts: number[] = [];
  for (let colon = line.indexOf(':'); colon >= 0; colon = line.indexOf(':', colon + 1)) {
    if (matchAt(WEIGHT_AT, line, colon) > 0) starts.push(colon);
  }
  return starts;
}

/**
 * Whether the `(`, `[`, `{` or `<` at `index`, inside a tag that started at `tagStart`, begins syntax
 * rather than continuing the tag's name. Danbooru names hold `(` only as qualifiers
 * (`ganyu_(genshin_impact)`) and no name holds ` [`, ` {` or `<lora:`.
 */
function startsSyntaxInTag(line: string, index: number, tagStart: number, options: ParseOptions, brackets: LineBrackets): boolean {
  const code = line.charCodeAt(index);
  if (code === LESS) return matchAt(NETWORK_SYNTAX, line, index) > 0;
  if (!isSpace(line.charCodeAt(index - 1))) return false;
  if (code !== OPEN_PAREN) return true;
  const close = brackets.closeOf(index);
  const isTag = options.isTag;
  // (No name is longer: a long run of nested groups is not read as one name at each of them.)
  const known = (end: number): boolean => end - tagStart <= MAX_NAME_LENGTH && isTag!(normalizeTag(line.slice(tagStart, end)));
  if (close < 0 ? brackets.holdsWeightFrom(index) : brackets.holdsWeightIn(index, close)) {
    // `1girl (smile:1.2)` is a weight, but `vertin (reverse:1999)` the tag vertin_(reverse:1999) pasted as
    // written (a1111 weighs `reverse` ×1999: the check asks for the parentheses to be escaped).
    return close < 0 || !isTag || !known(close + 1);
  }
  // `(blush)` after a complete tag is emphasis unless tag + qualifier is itself a tag. An unclosed one
  // is still being typed: likely a qualifier (`ganyu (gensh`), and completion needs it in the prefix.
  if (close < 0 || !isTag) return false;
  if (!known(index)) return false;
  // Nor when it is the first of the tag's qualifiers: `medusa (rider) (fate)`.
  for (let qualifierEnd = close, more = 0; qualifierEnd >= 0 && more < MAX_QUALIFIERS; more++) {
    if (known(qualifierEnd + 1)) return false;
    let next = qualifierEnd + 1;
    while (isSpace(line.charCodeAt(next))) next++;
    if (line.charCodeAt(next) !== OPEN_PAREN) break;
    qualifierEnd = brackets.closeOf(next);
  }
  return true;
}

/** The first column at or after `index` that is not a space. */
export function skipSpaces(line: string, index: number): number {
  while (index < line.length && isSpace(line.charCodeAt(index))) index++;
  return index;
}

/** Longer than any Danbooru tag's name or alias (111 and 419 characters). */
const MAX_NAME_LENGTH = 512;
/** Qualifiers a name holds at most: `artoria_pendragon_(lancer_alter)_(royal_icing)_(fate)_(cosplay)`. */
const MAX_QUALIFIERS = 6;

/** Longer than any name the dictionary starts with a bracket (`(^_^)_(pixiv198858)`). */
const MAX_BRACKETED_NAME = 32;

/**
 * Whether a name the dictionary knows starts at `at` with its bracket (`(o)_(o)`, `(9)`, `[_]`: a few
 * short ones do) and ends where a tag may (a separator, `|`, a weight's `:`, a closing bracket).
 */
function isKnownNameAt(line: string, at: number, isTag: (name: string) => boolean): boolean {
  // No name holds a separator, and these hold their bracket's closer: one lookup for `(smile:1.2)`.
  let last = at + 1;
  while (last < line.length && last - at < MAX_BRACKETED_NAME && !SEPARATORS.has(line.charCodeAt(last))) last++;
  const opener = line.charCodeAt(at);
  const closer = line.indexOf(opener === OPEN_PAREN ? ')' : opener === OPEN_SQUARE ? ']' : '}', at + 1);
  if (closer < 0 || closer >= last) return false;
  for (let end = last; end > closer; end--) {
    if (end < line.length && !NAME_ENDS.has(line.charCodeAt(end))) continue;
    if (isTag(normalizeTag(line.slice(at, end)))) return true;
  }
  return false;
}

const SEPARATORS = new Set([COMMA, FULLWIDTH_COMMA, IDEOGRAPHIC_COMMA]);
/** Characters a tag may end before: separators, `|`, `:`, closing brackets, spaces. */
const NAME_ENDS = new Set([COMMA, FULLWIDTH_COMMA, IDEOGRAPHIC_COMMA, PIPE, COLON, CLOSE_PAREN, CLOSE_SQUARE, CLOSE_CURLY, 32, 9]);

/** The longest face of the dictionary holding `|` is `<|>_<|>`. */
const MAX_FACE_LENGTH = 8;

/** Letters and digits: what a face (`:|`, `|_|`, `<|>_<|>`) holds none of before or right after its `|`. */
function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code > 127;
}

/**
 * Whether the `|` at `index` is part of a face: the tag so far holds no letter or digit (`:|`), or it
 * starts one (`|_|`). No face has a letter, digit or space right after its `|`: there it separates
 * (`[>_<|smile]`, `[<|>_<|>|smile]`).
 */
function isPipeOfFace(line: string, index: number, tagStart: number): boolean {
  const next = line.charCodeAt(index + 1);
  if (tagStart < 0) {
    return index + 1 < line.length && !isAlphanumeric(next) && !isSpace(next) && next !== PIPE && next !== CLOSE_SQUARE && next !== CLOSE_CURLY;
  }
  if (index + 1 < line.length && (isAlphanumeric(next) || isSpace(next))) return false;
  // Faces are short: a long run of `|` is scanned once per tag, not once per `|`.
  if (index - tagStart > MAX_FACE_LENGTH) return false;
  for (let i = tagStart; i < index; i++) if (isAlphanumeric(line.charCodeAt(i)) || isSpace(line.charCodeAt(i))) return false;
  return true;
}

/** Parses one line (one prompt). Never throws; unknown syntax stays inside tag text. */
export function parsePrompt(line: string, options: ParseOptions = {}): ParsedPrompt {
  const tags: PromptTag[] = [];
  const tokens: PromptToken[] = [];
  const groups: PromptGroup[] = [];
  const separators: number[] = [];
  const stack: number[] = [];
  // The [ ] groups holding a `|` so far: a1111's alternation has no `:when`, so `[smile|:3]` ends in the face `:3`.
  const alternating = new Set<PromptGroup>();
  // The [ ] groups holding a `:` separator of prompt editing so far.
  const editing = new Set<PromptGroup>();
  const length = line.length;
  let tagStart = -1;
  // Where the tag now being read started with a wildcard or a variable: it is a token of that kind, not a tag.
  let templateStart = -1;
  let templateKind: PromptTokenKind = 'wildcard';
  // Parentheses opened inside a tag (`ganyu_(genshin_impact)`) are part of its name, not weights.
  let literalDepth = 0;
  const brackets = new LineBrackets(line);
  // Only a prompt of AND segments weighs them (a `:3` face ending a plain prompt is a tag).
  const hasAnd = line.includes('AND') && /\bAND\b/.test(line);

  const flush = (endExclusive: number): void => {
    if (tagStart < 0) return;
    let end = endExclusive;
    // (Not a space a backslash escapes, `smile\ `: Format Document dropped it, making `smile\ , blush` one tag.)
    while (end > tagStart && isSpace(line.charCodeAt(end - 1)) && !escapedAt(end - 1)) end--;
    if (end > tagStart && tagStart === templateStart) {
      tokens.push({ kind: templateKind, start: tagStart, end });
    } else if (end > tagStart) {
      const text = line.slice(tagStart, end);
      const tag: PromptTag = { text, name: normalizeTag(text), start: tagStart, end };
      if (stack.length > 0) tag.group = stack[stack.length - 1];
      tags.push(tag);
    }
    tagStart = -1;
    literalDepth = 0;
  };
  /** Whether the character at `at` follows an odd run of backslashes within the tag being read. */
  const escapedAt = (at: number): boolean => {
    let backslashes = 0;
    for (let j = at - 1; j >= tagStart && line.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    return backslashes % 2 === 1;
  };
  const separator = (at: number): void => {
    flush(at);
    separators.push(at);
  };
  // Whether only spaces stand between `at` and a `:` separator of `group` (the last separator read).
  const followsColonOf = (group: PromptGroup, at: number): boolean => {
    const last = separators.length ? separators[separators.length - 1]! : -1;
    return last > group.open && line.charCodeAt(last) === COLON && skipSpaces(line, last + 1) >= at;
  };
  // Whether the `:` at `at` and what follows it up to prompt editing's next colon make a face (`:3`,
  // `:d`) where what follows alone is no tag. Escaped text is none (`:\:d`, Fix All's writing).
  const faceAt = (at: number): boolean => {
    if (!options.isTag) return false;
    EDIT_TO.lastIndex = at;
    const to = EDIT_TO.exec(line)?.[1]?.trim();
    return to !== undefined && !to.includes('\\') && !options.isTag(normalizeTag(to)) && options.isTag(normalizeTag(`:${to}`));
  };
  // `[:3:0.5]`: a1111 adds `3` at half the steps, but `3` is no tag and `:3` a face, the one the prompt
  // means (and the check flags its colon). Only where the brackets open: `[cat:3:0.5]` separates.
  const faceOpening = (group: PromptGroup, at: number): boolean => skipSpaces(line, group.open + 1) >= at && faceAt(at);

  let i = 0;
  while (i < length) {
    const code = line.charCodeAt(i);
    if (code === BACKSLASH && i + 1 < length) {
      if (tagStart < 0) tagStart = i;
      i += 2;
      continue;
    }
    if (tagStart < 0) {
      if (isSpace(code)) {
        i++;
        continue;
      }
      if (isCommentAt(line, i)) {
        tokens.push({ kind: 'comment', start: i, end: length });
        break;
      }
      const network = code === LESS ? matchAt(NETWORK, line, i) : code === LOWER_E || code === UPPER_E ? matchAt(EMBEDDING, line, i) : 0;
      const special = network || (code === UPPER_B || code === UPPER_A ? matchAt(KEYWORD, line, i) : 0);
      if (special > 0) {
        tokens.push({ kind: network > 0 ? 'network' : 'keyword', start: i, end: i + special });
        i += special;
        continue;
      }
      if (code === UNDERSCORE && line.charCodeAt(i + 1) === UNDERSCORE) {
        const wildcard = matchAt(WILDCARD, line, i);
        if (wildcard > 0) {
          tagStart = templateStart = i;
          templateKind = 'wildcard';
          i += wildcard;
          continue;
        }
      }
      if (code === DOLLAR && line.charCodeAt(i + 1) === OPEN_CURLY) {
        const variable = matchAt(VARIABLE, line, i);
        if (variable > 0) {
          tagStart = templateStart = i;
          templateKind = 'variable';
          i += variable;
          continue;
        }
        const withValue = matchAt(VARIABLE_WITH_VALUE, line, i);
        if (withValue > 0) {
          tokens.push({ kind: 'variable', start: i, end: i + withValue });
          const group: PromptGroup = { kind: '{', open: i + 1 };
          if (stack.length) group.parent = stack[stack.length - 1];
          stack.push(groups.length);
          groups.push(group);
          i += withValue;
          continue;
        }
      }
      const opener = stack.length ? groups[stack[stack.length - 1]!]! : undefined;
      if (opener?.kind === '{' && (code === DOLLAR || code === DASH || (code >= 48 && code <= 57)) && line.slice(opener.open + 1, i).trim() === '') {
        const quantity = matchAt(QUANTITY, line, i);
        if (quantity > 0) {
          tokens.push({ kind: 'weight', start: i, end: i + quantity });
          i += quantity;
          continue;
        }
      }
      // In square brackets `art:photo` is prompt editing (`[from:to:when]`), not a prefix.
      const prefix = !PREFIX_INITIALS.has(code | 32) || opener?.kind === '[' ? 0 : matchAt(CATEGORY_PREFIX, line, i);
      if (prefix > 0) {
        tokens.push({ kind: 'category', start: i, end: i + prefix });
        i += prefix;
        continue;
      }
      if ((code === OPEN_PAREN || code === OPEN_SQUARE || code === OPEN_CURLY) && options.isTag && isKnownNameAt(line, i, options.isTag)) {
        // A name the dictionary knows that starts with a bracket (`(o)_(o)`, `(9)`, `[_]`): a tag, not emphasis.
        tagStart = i;
        if (code === OPEN_PAREN) literalDepth++;
        i++;
        continue;
      }
      if (code === OPEN_PAREN || code === OPEN_SQUARE || code === OPEN_CURLY) {
        const group: PromptGroup = { kind: line[i] as PromptGroup['kind'], open: i };
        if (stack.length) group.parent = stack[stack.length - 1];
        stack.push(groups.length);
        groups.push(group);
        i++;
        continue;
      }
    }
    if (code === COMMA || code === FULLWIDTH_COMMA || code === IDEOGRAPHIC_COMMA) {
      separator(i++);
      continue;
    }
    const group = stack.length ? groups[stack[stack.length - 1]!] : undefined;
    if (code === COLON && literalDepth === 0) {
      // A weight: in a bracket group, before its closing bracket; outside one, ending an AND segment.
      const pattern = group ? (alternating.has(group) ? undefined : WEIGHT) : hasAnd ? SEGMENT_WEIGHT : undefined;
      const weight = pattern ? matchAt(pattern, line, i) : 0;
      if (weight > 0) {
        flush(i);
        tokens.push({ kind: 'weight', start: i, end: i + weight });
        i += weight;
        continue;
      }
      // `(d::1.2)`: the tag `d:` (`c:`, `kos-mos re:`) with its weight, as a1111 and ComfyUI read it.
      if (group?.kind === '(' && tagStart >= 0 && line.charCodeAt(i + 1) === COLON && matchAt(WEIGHT, line, i + 1) > 0) {
        i++;
        continue;
      }
      // `[d:]`, `[smile, 3:]`: a name ending in `:` that ends the brackets, no separator (a1111 reads the tag, de-emphasized).
      if (group?.kind === '[' && tagStart >= 0 && options.isTag && line.charCodeAt(skipSpaces(line, i + 1)) === CLOSE_SQUARE && options.isTag(normalizeTag(line.slice(tagStart, i + 1)))) {
        i++;
        continue;
      }
      if (line.charCodeAt(i + 1) === COLON && group?.kind !== '[') {
        // No Danbooru name holds `::`, so it is NovelAI's section syntax: `1.5::` opens one (the number
        // is its weight, not a tag), `::` closes it. In square brackets it is a1111's `[from::0.5]`.
        let start = i;
        if (tagStart >= 0 && SECTION_WEIGHT.test(line.slice(tagStart, i))) {
          start = tagStart;
          tagStart = -1;
        } else {
          flush(i);
        }
        tokens.push({ kind: 'weight', start, end: i + 2 });
        i += 2;
        continue;
      }
      // `[from:to:when]`; with nothing before it (`[:to:when]`, a1111's "add `to` at step `when`") only
      // when the group is that, so that a face (`[:3]`, `[:d]`) stays a tag.
      // Right after the group's first `:` (`[smile::d:0.5]`) it starts a face: a1111's `[from:to:when]`
      // has no room for a third colon, and the face is what the prompt means (the check flags its colon).
      if (group?.kind === '[' && (tagStart >= 0 || (matchAt(EDIT_WITHOUT_FROM, line, i) > 0 && !(followsColonOf(group, i) && faceAt(i)) && !faceOpening(group, i))
        // ... as it does after an empty or bracketed `from` (`[::d:0.5]`, `[[smile]::d:0.5]`), whose first `:` separates.
        || (line.charCodeAt(i + 1) === COLON && matchAt(EDIT_WITHOUT_FROM, line, i + 1) > 0 && !editing.has(group)))) {
        editing.add(group);
        separator(i++);
        continue;
      }
    }
    // `[a|b]` is a1111's alternation, `{a|b}` ComfyUI's (and dynamic prompts') random choice; a face
    // holding `|` (`:|`, `|_|`) stays a tag.
    if (code === PIPE && (group?.kind === '[' || group?.kind === '{') && literalDepth === 0 && !isPipeOfFace(line, i, tagStart)) {
      if (group.kind === '[') alternating.add(group);
      separator(i++);
      continue;
    }
    if (code === CLOSE_PAREN || code === CLOSE_SQUARE || code === CLOSE_CURLY) {
      if (code === CLOSE_PAREN && literalDepth > 0) {
        literalDepth--;
        i++;
        continue;
      }
      const opener = code === CLOSE_PAREN ? '(' : code === CLOSE_SQUARE ? '[' : '{';
      if (group && group.kind === opener) {
        flush(i);
        group.close = i;
        stack.pop();
        i++;
        continue;
      }
    }
    if (tagStart >= 0 && isSpace(code)) {
      // `1girl BREAK solo`, `smile // comment`: a keyword or a comment ends the tag even without a comma.
      let next = i;
      while (next < length && isSpace(line.charCodeAt(next))) next++;
      const nextCode = line.charCodeAt(next);
      if (next < length && (((nextCode === UPPER_B || nextCode === UPPER_A) && matchAt(KEYWORD, line, next) > 0) || isCommentAt(line, next))) {
        flush(i);
      }
      i = next;
      continue;
    }
    if (tagStart >= 0 && literalDepth === 0 && (code === LESS || code === OPEN_PAREN || code === OPEN_SQUARE || code === OPEN_CURLY)
      && startsSyntaxInTag(line, i, tagStart, options, brackets)) {
      // `smile <lora:x:1>`, `1girl (smile:1.2)`: the tag ends here; the next pass reads the syntax.
      flush(i);
      continue;
    }
    if (tagStart < 0) tagStart = i;
    else if (code === OPEN_PAREN) literalDepth++;
    i++;
  }
  flush(length);
  return { tags, tokens, groups, separators };
}

/** The token of that kind under `column` (from its start up to, not at, its end). */
export function tokenAt(parsed: ParsedPrompt, column: number, kind: PromptTokenKind): PromptToken | undefined {
  return parsed.tokens.find((t) => t.kind === kind && t.start <= column && column < t.end);
}

/** A wildcard as written: the name Dynamic Prompts looks up, the columns of that name, and the wildcard's end. */
export interface WrittenWildcard {
  name: string;
  nameStart: number;
  nameEnd: number;
  end: number;
}

/** The wildcard a `wildcard` token starts with: `__~color__ shirt` → `color` (columns 3–8, ending at 10); undefined for other text. */
export function wildcardOf(text: string): WrittenWildcard | undefined {
  WILDCARD.lastIndex = 0;
  const match = WILDCARD.exec(text);
  if (!match) return undefined;
  const nameStart = 2 + match[1]!.length;
  const written = match[2]!;
  // As Dynamic Prompts' clean_wildcard: `\` is `/` (`__animals\cat__`), a run of them one, none at either end.
  const name = written.replace(/[\\/]+/g, '/').replace(/^\/|\/$/g, '');
  return { name, nameStart, nameEnd: nameStart + written.length, end: match[0].length };
}

/**
 * Every wildcard a text holds where one may start (at its start or after a space): `__a__ __b__`,
 * `long __color__ hair`; columns from the text's start.
 */
export function wildcardsIn(text: string): (WrittenWildcard & { start: number })[] {
  const found: (WrittenWildcard & { start: number })[] = [];
  for (let at = text.indexOf('__'); at >= 0; at = text.indexOf('__', at)) {
    if (at > 0 && !isSpace(text.charCodeAt(at - 1))) {
      at += 2;
      continue;
    }
    const wildcard = wildcardOf(text.slice(at));
    if (!wildcard) {
      at += 2;
      continue;
    }
    found.push({ start: at, name: wildcard.name, nameStart: at + wildcard.nameStart, nameEnd: at + wildcard.nameEnd, end: at + wildcard.end });
    at += wildcard.end;
  }
  return found;
}

/** The name of the wildcard a `wildcard` token starts with: `__color__ shirt` → `color`; undefined for other text. */
export function wildcardName(text: string): string | undefined {
  return wildcardOf(text)?.name;
}

/** The tag under the cursor: its span and what has been typed of it. */
export interface CurrentTag {
  start: number;
  end: number;
  /** Raw text from `start` to the cursor. */
  typed: string;
  /** `typed` in dictionary form, for the dictionary search. */
  prefix: string;
}

/**
 * Where the tag being typed starts, to leave it out of the prompt's written tags; undefined for an
 * empty place between tags, where a tag starting right after it (`1girl, |smile`) is written.
 */
export function typedTagStart(current: CurrentTag): number | undefined {
  return current.end > current.start ? current.start : undefined;
}

export interface CursorContext {
  parsed: ParsedPrompt;
  /** Plain tags of the prompt left of the cursor, dictionary form: the model's context. */
  before: string[];
  /** The tag being typed (possibly empty, between separators); undefined inside a weight, LoRA, keyword or comment. */
  current?: CurrentTag;
  /** The category its prefix names (`artist:wl` → `artist`): what completion offers there. */
  category?: string;
}

/** Characters after which a new tag may start. */
const TAG_START_AFTER = new Set([',', '，', '、', '|', '(', '[', '{', ':']);

/** What the cursor at `character` on `line` is writing, and the tags before it. */
export function contextAt(line: string, character: number, parsed: ParsedPrompt = parsePrompt(line)): CursorContext {
  const tokenHere = parsed.tokens.find((t) => t.start < character && character < t.end)
    ?? parsed.tokens.find((t) => t.kind === 'comment' && t.start <= character);
  let current: CurrentTag | undefined;
  let currentIndex = -1;
  if (!tokenHere) {
    // (At a tag's first character nothing of it is typed: the cursor is between tags, and what is
    // written there goes before it; `1girl, |smile` replaced smile.)
    currentIndex = parsed.tags.findIndex((t) => t.start < character && character <= t.end);
    if (currentIndex < 0) {
      // Trailing spaces of a multi-word tag being typed (`long |`) still belong to it.
      currentIndex = parsed.tags.findIndex((t) => t.end < character && /^\s+$/.test(line.slice(t.end, character)) && !isTagEndedAt(parsed, t.end, character));
    }
    if (currentIndex >= 0) {
      const tag = parsed.tags[currentIndex]!;
      const end = Math.max(tag.end, character);
      const typed = line.slice(tag.start, character);
      current = { start: tag.start, end, typed, prefix: normalizePrefix(typed) };
    } else {
      let back = character - 1;
      while (back >= 0 && WHITESPACE.test(line[back]!)) back--;
      const previous = back < 0 ? undefined : line[back];
      // Only once a space follows BREAK/AND: `BREAK|` is the keyword just typed, and a tag written
      // right there would read `BREAKsolo` (and Enter would accept it instead of a new line).
      const afterKeyword = back + 1 < character && parsed.tokens.some((t) => t.kind === 'keyword' && t.end === back + 1);
      // `{2$$|`: the first option of a Dynamic Prompts choice.
      const afterQuantity = previous === '$' && parsed.tokens.some((t) => t.kind === 'weight' && t.end === back + 1);
      // `target#|` (NovelAI's action prefixes end in `#`, the category ones in `:`).
      const afterPrefix = parsed.tokens.some((t) => t.kind === 'category' && t.end === back + 1);
      if (previous === undefined || TAG_START_AFTER.has(previous) || afterKeyword || afterQuantity || afterPrefix) {
        current = { start: character, end: character, typed: '', prefix: '' };
      }
    }
  }
  const limit = current ? current.start : character;
  const before = parsed.tags.filter((t, index) => index !== currentIndex && t.end <= limit).map((t) => t.name);
  const prefix = current && parsed.tokens.find((t) => t.kind === 'category' && t.end === current.start);
  if (!prefix) return { parsed, before, current };
  return { parsed, before, current, category: CATEGORY_OF_PREFIX[line.slice(prefix.start, prefix.end - 1).toLowerCase()] };
}

/**
 * The names of a prompt's tags as `canonical` spells them (aliases resolved: `longhair` is `long_hair`),
 * left and right of the cursor, to leave out of suggestions; `exceptStart`: the tag being typed, which
 * is not written yet.
 */
export function writtenTags(parsed: ParsedPrompt, canonical: (name: string) => string, exceptStart?: number): Set<string> {
  const names = new Set<string>();
  for (const tag of parsed.tags) if (tag.start !== exceptStart) names.add(canonical(tag.name));
  return names;
}

/**
 * `(long hair:|` or `long hair: |`: a colon after a complete tag starts a weight, not a tag name with
 * a colon (`re:zero…` still completes, `re` being no tag).
 */
export function isTypingWeight(typed: string, isTag: (name: string) => boolean): boolean {
  const match = /^(.*\S)\s*:\s*$/.exec(typed);
  return match !== null && isTag(normalizeTag(match[1]!));
}

/** True when something other than whitespace (a separator, a bracket) ends the tag between `end` and `cursor`. */
function isTagEndedAt(parsed: ParsedPrompt, end: number, cursor: number): boolean {
  return parsed.separators.some((s) => s >= end && s < cursor)
    || parsed.groups.some((g) => (g.close !== undefined && g.close >= end && g.close < cursor) || (g.open >= end && g.open < cursor));
}

/** Like normalizeTag, but keeps a trailing space as `_` (the user is typing the next word). */
function normalizePrefix(typed: string): string {
  const trailing = /\s$/.test(typed) && typed.trim() !== '';
  const name = normalizeTag(typed);
  return trailing ? `${name}_` : name;
}

/**
 * The range to delete to remove one tag with its separator, keeping the rest of the prompt well-formed:
 * `a, dup, b` → `a, b`; a tag alone in its group removes the group (`(dup:1.2)`).
 */
export function removalRange(line: string, parsed: ParsedPrompt, tagIndex: number): { start: number; end: number } {
  const tag = parsed.tags[tagIndex]!;
  let start = tag.start;
  let end = tag.end;
  // A prefix goes with its tag (`artist:wlop`), or it would prefix the next one.
  const prefix = parsed.tokens.find((t) => t.kind === 'category' && t.end === tag.start);
  if (prefix) start = prefix.start;
  // A NovelAI section holding only this tag goes whole (`1.5::dup::`), not leaving `1.5::::`.
  const opener = parsed.tokens.find((t) => t.end <= start && opensSection(line, t) && line.slice(t.end, start).trim() === '');
  const closer = opener && parsed.tokens.find((t) => t.start >= end && closesSection(line, t) && line.slice(end, t.start).trim() === '');
  if (opener && closer) {
    start = opener.start;
    end = closer.end;
  }
  let group = tag.group;
  // Climb out of groups that hold nothing but this tag (and its weight).
  while (group !== undefined) {
    const g = parsed.groups[group]!;
    const close = g.close ?? line.length - 1;
    const others = parsed.tags.some((t, i) => i !== tagIndex && t.start > g.open && t.end <= close + 1)
      || parsed.tokens.some((t) => t.kind === 'network' && t.start > g.open && t.end <= close + 1);
    if (others) break;
    start = g.open;
    end = g.close === undefined ? line.length : g.close + 1;
    group = g.parent;
  }
  const lowerBound = group === undefined ? 0 : parsed.groups[group]!.open + 1;
  const upperBound = group === undefined ? line.length : parsed.groups[group]!.close ?? line.length;
  // Prefer eating the separator before the tag with the space before it (`a , dup , b` → `a , b`);
  // the first tag eats the one after it (`dup, `).
  let left = start;
  while (left > lowerBound && WHITESPACE.test(line[left - 1]!)) left--;
  if (left > lowerBound && isSeparatorChar(line[left - 1]!)) {
    left--;
    while (left > lowerBound && WHITESPACE.test(line[left - 1]!)) left--;
    return { start: left, end };
  }
  let right = end;
  while (right < upperBound && WHITESPACE.test(line[right]!)) right++;
  if (right < upperBound && isSeparatorChar(line[right]!)) {
    right++;
    while (right < upperBound && WHITESPACE.test(line[right]!)) right++;
    return { start, end: right };
  }
  // No separator (`smile BREAK dup`): take the space before it, else the one after, not both.
  if (left < start && left > lowerBound) return { start: left, end };
  return { start, end: right };
}

/**
 * Whether the tag is an option of alternation, prompt editing or a random choice (`[a|b]`, `[a:b:0.5]`,
 * `{a|b}`): removing it there changes what the prompt means (`[smile|blush]` → `[blush]` is de-emphasis).
 */
/**
 * The innermost group open at each column asked, asked in order (columns never decreasing): one sweep
 * of the line's groups, which are in the order they open, with a stack of those open.
 */
export function groupSweep(parsed: ParsedPrompt, lineLength: number): (column: number) => number | undefined {
  const open: number[] = [];
  let next = 0;
  return (column) => {
    for (; next < parsed.groups.length && parsed.groups[next]!.open < column; next++) open.push(next);
    while (open.length > 0 && (parsed.groups[open[open.length - 1]!]!.close ?? lineLength) < column) open.pop();
    return open[open.length - 1];
  };
}

/** By group, the columns of the `|` and `:` separators it holds itself (not those of the groups inside it), in order. */
export function ownSeparatorsOf(line: string, parsed: ParsedPrompt): number[][] {
  const own: number[][] = parsed.groups.map(() => []);
  const innermostAt = groupSweep(parsed, line.length);
  for (const at of parsed.separators) {
    if (line[at] !== '|' && line[at] !== ':') continue;
    const innermost = innermostAt(at);
    if (innermost !== undefined) own[innermost]!.push(at);
  }
  return own;
}

export function isInAlternation(line: string, parsed: ParsedPrompt, tagIndex: number): boolean {
  for (let group = parsed.tags[tagIndex]!.group; group !== undefined; group = parsed.groups[group]!.parent) {
    const g = parsed.groups[group]!;
    if (g.kind === '(') continue;
    const close = g.close ?? line.length;
    if (parsed.separators.some((s) => s > g.open && s < close && (line[s] === '|' || line[s] === ':'))) return true;
    // `[smile:0.5]` is a1111's prompt editing too (smile from that step on), not a weight.
    if (g.kind === '[' && parsed.tokens.some((t) => t.kind === 'weight' && t.start > g.open && t.start < close)) return true;
  }
  return false;
}

function isSeparatorChar(c: string): boolean {
  return c === ',' || c === '，' || c === '、' || c === '|';
}

/**
 * Where tags that continue the prompt at `column` go (Sample Tags, Related Tags): after the tag, the
 * weighted group, LoRA or keyword the cursor is in, and before a comment; never inside one of them.
 */
export function continuationColumn(line: string, column: number, parsed: ParsedPrompt = parsePrompt(line)): number {
  const comment = parsed.tokens.find((t) => t.kind === 'comment');
  if (comment && column > comment.start) return endBefore(line, comment.start);
  // In a bracket group the tags would take its weight, emphasis or alternation: after the outermost one.
  let outer: PromptGroup | undefined;
  for (const group of parsed.groups) {
    if (group.close !== undefined && group.open < column && column <= group.close && (outer === undefined || group.open < outer.open)) outer = group;
  }
  if (outer?.close !== undefined) {
    // `[cat|dog] ears`: a tag written on from the group belongs with it; go past that too.
    const after = outer.close + 1;
    const joined = parsed.tags.find((t) => t.start >= after && line.slice(after, t.start).trim() === '');
    return joined ? joined.end : after;
  }
  // In a NovelAI section (`1.5::rain, night::`) they would take its weight too: after its `::`.
  const section = sectionAround(line, parsed, column);
  if (section) return section.end;
  // In or after an AND segment's weight (`1girl :1.|2 AND`): before it, which must stay the segment's end.
  // (Its place first: whether a weight weighs a segment looks at every group, once for the one token that can.)
  const segmentWeight = parsed.tokens.find((t) => t.start < column && line.slice(t.end, column).trim() === '' && isSegmentWeight(line, parsed, t));
  if (segmentWeight) return endBefore(line, segmentWeight.start);
  // (A weight in a closed group was handled above; one still being typed ends the line.)
  const inside = parsed.tags.find((t) => t.start < column && column < t.end) ?? parsed.tokens.find((t) => t.start < column && column < t.end);
  // In a prefix (`art|ist:wlop`): after the tag it prefixes, not between the two.
  const prefixed = inside && 'kind' in inside && inside.kind === 'category' ? parsed.tags.find((t) => t.start === inside.end) : undefined;
  const at = (prefixed ?? inside)?.end ?? column;
  // Right after a prefix with no tag yet (`artist:|`): before it, which stays for the tag to come.
  const bare = parsed.tokens.find((t) => t.kind === 'category' && t.end === at && !parsed.tags.some((tag) => tag.start === at));
  return bare ? bare.start : at;
}

/** Whether the line is a comment only (`# portrait`, `// negative`): no prompt there to continue. */
export function isCommentLine(line: string, parsed: ParsedPrompt = parsePrompt(line)): boolean {
  return parsed.tokens.some((t) => t.kind === 'comment' && line.slice(0, t.start).trim() === '');
}

/** Where the text before `position` ends, the spaces before it left out. */
function endBefore(line: string, position: number): number {
  let end = position;
  while (end > 0 && isSpace(line.charCodeAt(end - 1))) end--;
  return end;
}

/** Whether the token is the `:1.2` that weighs an AND segment (a weight outside every bracket group and NovelAI section). */
function isSegmentWeight(line: string, parsed: ParsedPrompt, token: PromptToken): boolean {
  if (token.kind !== 'weight' || line.endsWith('::', token.end)) return false;
  return !parsed.groups.some((group) => group.open < token.start && (group.close === undefined || token.end <= group.close));
}

/** Whether the token is the `1.5::` that opens a NovelAI section (not the `::` that closes one). */
export function opensSection(line: string, token: PromptToken): boolean {
  return token.kind === 'weight' && token.end - token.start > 2 && line.endsWith('::', token.end);
}

/** Whether the token is the `::` that closes a NovelAI section. */
function closesSection(line: string, token: PromptToken): boolean {
  return token.kind === 'weight' && token.end - token.start === 2 && line.endsWith('::', token.end);
}

/**
 * The closing `::` of the NovelAI section holding `column` (from inside its opening number to inside
 * its closing `::`), or undefined: outside one, in an empty one, or in one left open to the end of the line.
 */
function sectionAround(line: string, parsed: ParsedPrompt, column: number): PromptToken | undefined {
  let opener: PromptToken | undefined;
  for (const token of parsed.tokens) {
    if (opensSection(line, token)) opener = token;
    else if (opener && closesSection(line, token)) {
      // An empty one (`1.5::|::`) is there to be filled.
      const empty = line.slice(opener.end, token.start).trim() === '';
      if (opener.start < column && column < token.end && !empty) return token;
      opener = undefined;
    }
  }
  return undefined;
}

/** Keywords that start another prompt: a1111's AND (composable diffusion), Regional Prompter's regions. BREAK does not. */
const PROMPT_SEPARATORS = new Set(['AND', 'ADDCOMM', 'ADDBASE', 'ADDCOL', 'ADDROW']);

/**
 * The prompt each tag belongs to (0, 1, …): a line of `AND` segments or Regional Prompter regions
 * holds several, where a tag written again is meant (`2girls, cat ears AND 2girls, dog ears`).
 */
export function promptSegmentsOf(line: string, parsed: ParsedPrompt): number[] {
  const starts = parsed.tokens.filter((token) => token.kind === 'keyword' && PROMPT_SEPARATORS.has(line.slice(token.start, token.end))).map((token) => token.start);
  if (starts.length === 0) return parsed.tags.map(() => 0);
  // Tags and keywords are both in the order of the line: one walk.
  let segment = 0;
  return parsed.tags.map((tag) => {
    while (segment < starts.length && starts[segment]! < tag.start) segment++;
    return segment;
  });
}
