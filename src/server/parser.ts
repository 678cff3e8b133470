// Prompt parsing: one line is one prompt, tags are comma-separated. The parser only reports where
// things are (tag spans, weights, LoRA, keywords, comments); it never rewrites text, so whatever it
// does not understand stays part of a tag's raw text. Pure functions, no LSP imports: the client
// bundles this file too.

/** One tag as written in a prompt. */
export interface PromptTag {
  /** Raw text as written, trimmed: `long hair`, `ganyu \(genshin impact\)`. */
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

export type PromptTokenKind = 'weight' | 'network' | 'keyword' | 'comment';

/** Syntax that is not a tag: `:1.2` weights, `<lora:…>` networks, BREAK/AND, comments. */
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

const CLOSER_OF: Record<string, PromptGroup['kind']> = { ')': '(', ']': '[', '}': '{' };
const NETWORK = /^<[A-Za-z][\w-]*:[^<>]*>/;
const KEYWORD = /^(?:BREAK|AND)(?=[\s,()[\]{}|]|$)/;
// A weight ends at its group's closing bracket (or the end of the line while it is still being typed).
const WEIGHT = /^:\s*-?(?:\d+\.?\d*|\.\d+)\s*(?=[)\]}]|$)/;
const WHITESPACE = /\s/;

/** Dictionary form of a raw tag: unescape `\x`, lower-case, runs of spaces/underscores to one `_`. */
export function normalizeTag(raw: string): string {
  return raw
    .replace(/\\(.)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '_');
}

/** Parses one line (one prompt). Never throws; unknown syntax stays inside tag text. */
export function parsePrompt(line: string): ParsedPrompt {
  const tags: PromptTag[] = [];
  const tokens: PromptToken[] = [];
  const groups: PromptGroup[] = [];
  const separators: number[] = [];
  const stack: number[] = [];
  let tagStart = -1;
  // Parentheses opened inside a tag (`ganyu_(genshin_impact)`) are part of its name, not weights.
  let literalDepth = 0;

  const flush = (endExclusive: number): void => {
    if (tagStart < 0) return;
    let end = endExclusive;
    while (end > tagStart && WHITESPACE.test(line[end - 1]!)) end--;
    if (end > tagStart) {
      const text = line.slice(tagStart, end);
      const tag: PromptTag = { text, name: normalizeTag(text), start: tagStart, end };
      if (stack.length > 0) tag.group = stack[stack.length - 1];
      tags.push(tag);
    }
    tagStart = -1;
    literalDepth = 0;
  };
  const innermost = (): PromptGroup | undefined => (stack.length ? groups[stack[stack.length - 1]!] : undefined);

  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      if (tagStart < 0) tagStart = i;
      i += 2;
      continue;
    }
    if (tagStart < 0) {
      if (WHITESPACE.test(c)) {
        i++;
        continue;
      }
      const rest = line.slice(i);
      if (rest.startsWith('//') || (c === '#' && (i + 1 === line.length || WHITESPACE.test(line[i + 1]!)))) {
        tokens.push({ kind: 'comment', start: i, end: line.length });
        break;
      }
      const network = c === '<' ? NETWORK.exec(rest) : null;
      if (network) {
        tokens.push({ kind: 'network', start: i, end: i + network[0].length });
        i += network[0].length;
        continue;
      }
      const keyword = c === 'B' || c === 'A' ? KEYWORD.exec(rest) : null;
      if (keyword) {
        tokens.push({ kind: 'keyword', start: i, end: i + keyword[0].length });
        i += keyword[0].length;
        continue;
      }
      if (c === '(' || c === '[' || c === '{') {
        const group: PromptGroup = { kind: c, open: i };
        if (stack.length) group.parent = stack[stack.length - 1];
        stack.push(groups.length);
        groups.push(group);
        i++;
        continue;
      }
    }
    if (c === ',') {
      flush(i);
      separators.push(i);
      i++;
      continue;
    }
    const group = innermost();
    if (c === ':' && group && literalDepth === 0) {
      const weight = WEIGHT.exec(line.slice(i));
      if (weight) {
        flush(i);
        tokens.push({ kind: 'weight', start: i, end: i + weight[0].length });
        i += weight[0].length;
        continue;
      }
      if (group.kind === '[' && tagStart >= 0) {
        flush(i);
        separators.push(i);
        i++;
        continue;
      }
    }
    if (c === '|' && group?.kind === '[' && literalDepth === 0) {
      flush(i);
      separators.push(i);
      i++;
      continue;
    }
    if (c in CLOSER_OF) {
      if (c === ')' && literalDepth > 0) {
        literalDepth--;
        i++;
        continue;
      }
      if (group && group.kind === CLOSER_OF[c]) {
        flush(i);
        group.close = i;
        stack.pop();
        i++;
        continue;
      }
    }
    if (WHITESPACE.test(c) && tagStart >= 0) {
      // `1girl BREAK solo`, `smile // comment`: a keyword or a comment ends the tag even without a comma.
      let next = i;
      while (next < line.length && WHITESPACE.test(line[next]!)) next++;
      const rest = line.slice(next);
      if (KEYWORD.test(rest) || rest.startsWith('//') || /^#(\s|$)/.test(rest)) {
        flush(i);
        i = next;
        continue;
      }
    }
    if (tagStart < 0) tagStart = i;
    else if (c === '(') literalDepth++;
    i++;
  }
  flush(line.length);
  return { tags, tokens, groups, separators };
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

export interface CursorContext {
  parsed: ParsedPrompt;
  /** Plain tags of the prompt left of the cursor, dictionary form: the model's context. */
  before: string[];
  /** The tag being typed (possibly empty, between separators); undefined inside a weight, LoRA, keyword or comment. */
  current?: CurrentTag;
}

/** Characters after which a new tag may start. */
const TAG_START_AFTER = new Set([',', '|', '(', '[', '{', ':']);

/** What the cursor at `character` on `line` is writing, and the tags before it. */
export function contextAt(line: string, character: number, parsed: ParsedPrompt = parsePrompt(line)): CursorContext {
  const tokenHere = parsed.tokens.find((t) => t.start < character && character < t.end)
    ?? parsed.tokens.find((t) => t.kind === 'comment' && t.start <= character);
  let current: CurrentTag | undefined;
  let currentIndex = -1;
  if (!tokenHere) {
    currentIndex = parsed.tags.findIndex((t) => t.start <= character && character <= t.end);
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
      const afterKeyword = parsed.tokens.some((t) => t.kind === 'keyword' && t.end === back + 1);
      if (previous === undefined || TAG_START_AFTER.has(previous) || afterKeyword) {
        current = { start: character, end: character, typed: '', prefix: '' };
      }
    }
  }
  const limit = current ? current.start : character;
  const before = parsed.tags.filter((t, index) => index !== currentIndex && t.end <= limit).map((t) => t.name);
  return { parsed, before, current };
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
  // Prefer eating the separator before the tag (`, dup`); the first tag eats the one after it (`dup, `).
  let left = start;
  while (left > lowerBound && WHITESPACE.test(line[left - 1]!)) left--;
  if (left > lowerBound && isSeparatorChar(line[left - 1]!)) return { start: left - 1, end };
  let right = end;
  while (right < upperBound && WHITESPACE.test(line[right]!)) right++;
  if (right < upperBound && isSeparatorChar(line[right]!)) {
    right++;
    while (right < upperBound && WHITESPACE.test(line[right]!)) right++;
    return { start, end: right };
  }
  return { start, end };
}

function isSeparatorChar(c: string): boolean {
  return c === ',' || c === '|';
}
