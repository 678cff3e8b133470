// How a tag is written into a prompt: spaces or underscores, escaped parentheses, and the `, `
// separator. Pure functions shared by the server (completion, quick fixes, samples) and the client
// (Related Tags view inserts).
import { continuationColumn, ESCAPABLE, opensSection, parsePrompt, type ParsedPrompt } from './parser';

export type WordSeparator = 'spaces' | 'underscores';

export interface InsertStyle {
  separator: WordSeparator;
  escapeParentheses: boolean;
  appendComma: boolean;
}

/**
 * Whether parentheses in the document at `uri` are emphasis (a1111, ComfyUI), by the
 * diagnostics.unescapedParentheses setting: `.prompt` files by default, every file (`always`), none
 * (`never`: NovelAI); datasets and caption files are read by trainers as written.
 */
export function parenthesesAreEmphasis(unescapedParentheses: string, uri: string): boolean {
  if (unescapedParentheses === 'never') return false;
  return unescapedParentheses === 'always' || /\.prompt$/i.test(uri);
}

export const DEFAULT_INSERT_STYLE: InsertStyle = { separator: 'spaces', escapeParentheses: true, appendComma: true };

/**
 * Kaomoji such as `^_^`, `>_<`, `o_o`, `0_0`, `|_|`: the underscore is part of the face, never a word
 * separator. No two letters or digits in a row (`h&k_g11`, a gun, and 54 artist names such as
 * `m_(m073111)` have them), and two at most (`t_k_g`, `s&w_m&p`, `y_o_u_k_a`: names spelt out):
 * their underscores are spaces.
 */
export function isKaomoji(tag: string): boolean {
  return tag.includes('_') && !/[\p{L}\p{N}]{2}/u.test(tag) && (tag.match(/[\p{L}\p{N}]/gu)?.length ?? 0) <= 2;
}

/**
 * A canonical (underscore) tag written in the given style, so that it reads back as that tag: a
 * backslash of its own before what a backslash escapes (or at its end) is written `\\`
 * (`\(^o^)/` → `\\\(^o^\)/`, which a1111 and ComfyUI both read back), not before other characters
 * (`\m/`, as ComfyUI and trainers read it; a1111 drops that one: see normalizeTag). Escaping
 * parentheses escapes square brackets too: a1111 reads `00_qan[t]` as `00_qan` and a weaker `t`.
 */
export function formatTag(tag: string, style: Pick<InsertStyle, 'separator' | 'escapeParentheses'>): string {
  const words = style.separator === 'spaces' && !isKaomoji(tag) ? tag.replace(/_/g, ' ') : tag;
  const text = words.includes('\\') ? words.replace(OWN_BACKSLASH, '\\\\') : words;
  return style.escapeParentheses ? text.replace(/[()[\]]/g, '\\$&') : text;
}

/** A tag's own backslash that a parser would read as an escape (see normalizeTag). */
const OWN_BACKSLASH = new RegExp(`\\\\(?=[${ESCAPABLE}]|$)`, 'g');

/** `saber (fate)` → `saber \(fate\)`: parentheses escaped, which a1111 and ComfyUI then read as written. */
export function escapeParentheses(text: string): string {
  return text.replace(/(?<!\\)([()])/g, '\\$1');
}

/**
 * Whether a tag's text holds a parenthesis without its `\` (a1111 and ComfyUI read it as emphasis) in a
 * name of words or numbers (`saber_(fate)`, `u2_(5798239)`), or opens one it never closes (`>:(`: a1111
 * weights the rest of the prompt). Other faces (`:)`, `(o)_(o)`, `\(^o^)/`) hold no two letters or
 * digits in a row and close what they open: left as written.
 */
export function hasUnescapedParentheses(text: string): boolean {
  if (!/(?<!\\)[()]/.test(text)) return false;
  if (/[\p{L}\p{N}]{2}/u.test(text)) return true;
  const opened = text.match(/(?<!\\)\(/g)?.length ?? 0;
  const closed = text.match(/(?<!\\)\)/g)?.length ?? 0;
  return opened > closed;
}

/** How a written tag separates its words (`long hair` spaces, `long_hair` underscores); undefined for one word (`1girl`) or a face. */
export function writtenSeparator(written: string): WordSeparator | undefined {
  if (/\S\s+\S/.test(written)) return 'spaces';
  return written.includes('_') && !isKaomoji(written) ? 'underscores' : undefined;
}

/** The style the user already used for a tag (`long hair` → spaces), falling back to the settings. */
export function styleOf(written: string, fallback: InsertStyle): InsertStyle {
  const separator = writtenSeparator(written) ?? fallback.separator;
  const escapeParentheses = written.includes('\\(') || written.includes('\\)') ? true : /[()]/.test(written) ? false : fallback.escapeParentheses;
  return { ...fallback, separator, escapeParentheses };
}

/**
 * The style a prompt (parsed) writes its tags in: words as the first tag that shows how
 * (`long_hair`; `1girl` shows nothing), escapes as its tags show them; the fallback for what none shows.
 */
export function lineStyleOf(parsed: Pick<ParsedPrompt, 'tags'>, fallback: InsertStyle): InsertStyle {
  const written = parsed.tags.map((tag) => tag.text);
  const separator = written.map(writtenSeparator).find((each) => each !== undefined) ?? fallback.separator;
  // A face's parentheses (`;)`, `:)`, `(^_^)`: no two letters or digits in a row) are its own, not a
  // bare qualifier: they say nothing of escapes.
  return { ...styleOf(written.filter((text) => /[\p{L}\p{N}]{2}/u.test(text)).join(','), fallback), separator };
}

/**
 * The separator the line writes near `column`, for what is inserted there: `，` or `、` (an input
 * method's commas, which carry their own space) where the user wrote one (the nearest before the
 * column, else the first after), else `, `. A `，` line stays one.
 */
export function lineSeparator(line: string, column: number): string {
  for (let i = Math.min(column, line.length) - 1; i >= 0; i--) {
    const c = line[i]!;
    if (c === ',' || c === '，' || c === '、') return c === ',' ? ', ' : c;
  }
  const after = /[,，、]/.exec(line.slice(column));
  return after && after[0] !== ',' ? after[0] : ', ';
}

/**
 * Text to put after a tag inserted so that it ends at column `end`: the line's separator (`, `) unless
 * a separator, a closing bracket or a weight already follows (or the setting is off).
 */
export function separatorAfter(line: string, end: number, style: Pick<InsertStyle, 'appendComma'>): string {
  if (!style.appendComma) return '';
  const after = line.slice(end);
  const rest = after.trimStart();
  const separator = lineSeparator(line, end);
  // (The line's own trailing space stays the one after the comma: `long| ` became `long hair,  `.)
  if (rest === '') return after === '' ? separator : separator.trimEnd();
  return /^[,，、|)\]}:>]/.test(rest) ? '' : separator;
}

/** An edit on one line: replace columns [start, end) with text. */
export interface LineEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * The line with the edits made, in column order; an edit starting inside one made before it is left
 * out (`deferred`: two removals side by side each take the separator between them; the caller edits
 * the line again).
 */
export function applyLineEdits(line: string, edits: readonly LineEdit[]): { text: string; deferred: boolean } {
  let text = '';
  let at = 0;
  let deferred = false;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    if (edit.start < at) {
      deferred = true;
      continue;
    }
    text += line.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return { text: text + line.slice(at), deferred };
}

/**
 * Tags written as a continuation of `line` at `column` (Sample Tags, Related Tags): formatted, joined
 * with the line's separator (lineSeparator), with the separators the surrounding text needs. The tags go where continuationColumn
 * says (after the tag, weight, LoRA or keyword under the cursor, before a comment). Whitespace between
 * the previous tag and that point is replaced, so `1girl, solo |` becomes `1girl, solo, long hair, `.
 */
export function continuationEdit(line: string, column: number, tags: string[], style: InsertStyle, parsed: ParsedPrompt = parsePrompt(line), commaSpace = true): LineEdit {
  let at = continuationColumn(line, column, parsed);
  // `BREAK, smile` with the cursor on BREAK: the tags go after that comma, as the user separates there.
  const keywordComma = parsed.tokens.some((t) => t.kind === 'keyword' && t.end === at) ? /^\s*,/.exec(line.slice(at)) : null;
  if (keywordComma) at += keywordComma[0].length;
  // A file of `a,b` (a dataset the converter wrote, separatorStyleOf) gets `,` where others get `, `.
  const bare = (separator: string): string => (!commaSpace && separator === ', ' ? ',' : separator);
  const separator = bare(lineSeparator(line, at));
  const body = tags.map((t) => formatTag(t, style)).join(separator);
  const comment = parsed.tokens.find((t) => t.kind === 'comment' && t.start >= at);
  // Before a comment: no separator after the tags (nothing follows them), one space before `//`.
  let after = comment && line.slice(at, comment.start).trim() === '' ? (at === comment.start ? ' ' : '') : bare(separatorAfter(line, at, style));
  // The text already has a space there: `, ` would make two.
  if (after.endsWith(' ') && /\s/.test(line[at] ?? '')) after = after.trimEnd();
  const before = line.slice(0, at);
  const trimmed = before.trimEnd();
  const last = trimmed[trimmed.length - 1];
  if (last === undefined) return { start: at, end: at, text: body + after };
  // (Any space already there will do: a tab or a full-width one got a second.)
  if (last === ',') {
    const text = (/\s$/.test(before) || !commaSpace ? '' : ' ') + body + after;
    return { start: at, end: at, text };
  }
  // A full-width comma carries its own space.
  if (last === '，' || last === '、') return { start: at, end: at, text: body + after };
  // Right after an opening bracket or a NovelAI section's `1.5::`: the tags are its first.
  if (/[|([{]/.test(last) || parsed.tokens.some((t) => t.end === trimmed.length && opensSection(line, t))) return { start: at, end: at, text: body + after };
  // After BREAK/AND a space is the separator; a comma there would start an empty chunk.
  const afterKeyword = parsed.tokens.some((t) => t.kind === 'keyword' && t.end === trimmed.length);
  return { start: trimmed.length, end: at, text: (afterKeyword ? ' ' : separator) + body + after };
}
