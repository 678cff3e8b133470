// Diagnostics: unknown tags, duplicate tags within a prompt, aliases (deprecated names). Debounced
// per document, and run in slices of a few milliseconds that yield to the event loop, so completion
// requests are answered between slices of a large file; a newer run for the same document stops
// the older one. Weights, LoRA, wildcards, keywords and comments are never tags, so never flagged as
// unknown, nor are the names of the embedding files (a1111 reads `EasyNegative` as one); a LoRA or a
// wildcard naming no file of folders that hold some is. The problems of each line are remembered by
// its text, so a keystroke in a dataset of a million lines checks one line again; and at most
// MAX_PUBLISHED diagnostics are sent, as VS Code shows no more per file.
import path from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { boundedEditDistance, type TagDictionary } from '../model/index';
import type { TagTranslations } from '../model/translations';
import { escapeParentheses, hasUnescapedParentheses } from '../prompt/insertStyle';
import { countBelow } from '../util/sorted';
import { editingReadAsText, failsOutsideBrackets, outermostBrackets, parsesAsA1111 } from '../prompt/a1111Grammar';
import { groupSweep, normalizeTag, ownSeparatorsOf, promptSegmentsOf, skipSpaces, wildcardsIn, type ParsedPrompt, type WrittenWildcard, type PromptGroup, type PromptTag, type PromptToken } from '../prompt/parser';
import { LineDocument } from './lineDocument';
import { knownTagSet } from '../prompt/knownTags';
import { parseLine, resolveCached, type ServerContext } from './serverContext';
import { isIncomplete, type FolderFile, type FolderFiles } from './folderFiles';
import { isNotATag, joinedPieces, tagsJoinedToGroups, tagsSplitAtColon } from './lineTags';
import { FOLDER_SETTING, networkFiles } from './networks';
import { networkOfToken } from '../prompt/networks';
import { checksParentheses, type DiagnosticsSettings, type ServerSettings } from './settings';
import { filesOfWildcard, namesInAnotherCase, wildcardFiles, type WildcardFile } from './wildcards';

export const DIAGNOSTIC_SOURCE = 'danbooru-gpt';

export const enum DiagnosticCode {
  UnknownTag = 'unknown-tag',
  /** `<lora:name:1>` or `__name__` with no such file in the folders of the settings (which hold others). */
  UnknownFile = 'unknown-file',
  DuplicateTag = 'duplicate-tag',
  AliasTag = 'alias-tag',
  /** A tag whose parentheses a1111 and ComfyUI read as emphasis: `ganyu (genshin impact)`. */
  UnescapedParentheses = 'unescaped-parentheses',
  /** `__Hair__` for `hair.txt`: Dynamic Prompts finds it on Windows only (namesInAnotherCase). */
  WildcardCase = 'wildcard-case',
  /** `smile, :3` ending a prompt: a1111 reads the `:3` as the whole prompt's weight, not a tag. */
  PromptWeight = 'prompt-weight',
  /** `[honkai: star rail:0.5]`, `[honkai: star rail|genshin impact]`: a tag's own `:` inside [ ] is syntax to a1111. */
  UnescapedColon = 'unescaped-colon',
  /** `|_|` in a prompt with [a|b] or [a:b:n]: a1111 reads a `|` outside alternation as a parse error (inside [ ], as its separator). */
  UnescapedPipe = 'unescaped-pipe',
  /** `#compass`: a1111 (its prompt comments, on by default) drops the line from a `#` on. */
  HashComment = 'hash-comment',
  /** `(smile BREAK blush:1.2)`: a1111 breaks a chunk at BREAK only outside emphasis, whose weight it multiplies. */
  BreakInBrackets = 'break-in-brackets',
  /** Says how many problems were left out of a file that has more than MAX_PUBLISHED. */
  MoreProblems = 'more-problems',
}

/** Data carried by an unknown-tag diagnostic: the name the "add to known tags" fix records. */
export interface UnknownTagData {
  name: string;
  /** An option written on into a tag (`dgo` of `[cat|dgo] ears`): the tag's name after the option (`ears`). */
  tail?: string;
  /** And the other options of its brackets (`cat`): a fix writing one of them again is none. */
  siblings?: string[];
}

/** Data carried by an unescaped-pipe diagnostic: the tag as its quick fix writes it. */
export interface EscapeData {
  text: string;
}

/** Data carried by a prompt-weight diagnostic: the face is a weight of the ( ) it ends (`(smile, :3)`), not of the prompt. */
export interface PromptWeightData {
  inBrackets: boolean;
}
/** A prompt-weight problem's `other` for a face (`:3`) that ends a ( ) group after a separator, or a [ ] group. */
const FACE_AS_WEIGHT = 'face';
const FACE_AS_STEP = 'step';
/** …for the end of a tag (`(reverse:1999)`), followed by the tag's name. */
const TAG_END_AS_WEIGHT = 'tag:';

/** Data carried by an alias diagnostic for its quick fix. */
export interface AliasData {
  canonical: string;
}

/**
 * One problem of a line as a check keeps it: its code, its columns and the words its message names.
 * Its Diagnostic (message, data, range objects) is made only when it is sent (diagnosticOf): a
 * dataset of 200,000 posts keeps ~365,000 problems between keystrokes, which as Diagnostic objects
 * held ~146 MB.
 */
export class LineProblem {
  constructor(
    readonly code: DiagnosticCode,
    readonly start: number,
    readonly end: number,
    /** The tag as written; for a LoRA's or a wildcard's problem (few, each with data of its own), its whole Diagnostic. */
    readonly written: string | Diagnostic,
    /** An unknown tag's dictionary form, a duplicate's first writing, an alias's tag. */
    readonly other?: string,
  ) {}

  get severity(): DiagnosticSeverity {
    if (typeof this.written !== 'string') return this.written.severity!;
    return this.code === DiagnosticCode.AliasTag ? DiagnosticSeverity.Information : DiagnosticSeverity.Warning;
  }
}

/** A LoRA's or a wildcard's problem, its Diagnostic made when found (ranges on line 0). */
function fileProblem(diagnostic: Diagnostic): LineProblem {
  return new LineProblem(diagnostic.code as DiagnosticCode, diagnostic.range.start.character, diagnostic.range.end.character, diagnostic);
}

/** The Diagnostic of a problem on a line, its message as the settings of the check that found it say. */
function diagnosticOf(problem: LineProblem, line: number, settings: CheckSettings): Diagnostic {
  const range = { start: { line, character: problem.start }, end: { line, character: problem.end } };
  const { code, written: text, other } = problem;
  if (typeof text !== 'string') return { ...text, range };
  const severity = problem.severity;
  switch (code) {
    case DiagnosticCode.UnknownTag: {
      const translationOf = settings.translations?.tagOf(text);
      const whose = translationOf ? ` It is the translation of ${translationOf} (${path.basename(settings.translations!.file)}).` : '';
      const data: UnknownTagData = { name: other! };
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `Unknown tag "${text}": not in the Danbooru tag dictionary.${whose}`, data };
    }
    case DiagnosticCode.DuplicateTag: {
      const same = other === text ? `"${text}"` : `"${text}" (same tag as "${other}")`;
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `Duplicate tag ${same} in this prompt.` };
    }
    case DiagnosticCode.UnescapedParentheses: {
      // `vertin (reverse:1999)`: a weight, not mere emphasis, and one that wrecks the image.
      const weighted = /\(([^()]*?):\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*\)/.exec(text);
      const reading = weighted ? `read "${weighted[0]}" as ${weighted[1]!.trim()} weighted ×${Number(weighted[2])}` : 'read unescaped parentheses as emphasis';
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `"${text}": a1111 and ComfyUI ${reading}; write ${escapeParentheses(text)}.` };
    }
    case DiagnosticCode.UnescapedColon: {
      // A tag the parser split at its colon is named (`honkai: star rail` is honkai:_star_rail); a face is one tag as written.
      const tag = other!.slice(2);
      const whose = tag === '' ? `"${text}":` : `"${text}" is the tag ${tag}, but`;
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `${whose} ${COLON_READINGS[other!.charAt(0) as ColonReading]}; write ${escapeColons(text)}.` };
    }
    case DiagnosticCode.UnescapedPipe: {
      const data: EscapeData = { text: pipeEscaped(text, other!) };
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `"${text}": ${PIPE_READINGS[other!.replace('+colon', '') as PipeReading]}; write ${data.text}.`, data };
    }
    case DiagnosticCode.HashComment:
      return {
        range, severity, source: DIAGNOSTIC_SOURCE, code,
        message: `a1111 reads "#" as the start of a comment anywhere in a prompt (its "Enable comments" option, on by default): it drops "${text}" and the rest of the line. It has no escape for "#"; write the tag without it, or turn the option off.`,
      };
    case DiagnosticCode.BreakInBrackets:
      return {
        range, severity, source: DIAGNOSTIC_SOURCE, code,
        message: `a1111 breaks the prompt at BREAK only outside emphasis: inside ( ), or [ ] that are neither [a|b] nor [a:b:n], it weighs BREAK with the brackets, so no new chunk starts and the model gets the word BREAK, weighted below zero; close the brackets before it.`,
      };
    case DiagnosticCode.PromptWeight: {
      const times = text.replace(/^:\s*/, '').trim();
      if (other?.startsWith(TAG_END_AS_WEIGHT)) {
        const data: PromptWeightData = { inBrackets: true };
        return { range, severity, source: DIAGNOSTIC_SOURCE, code, data, message: `a1111 reads "${text}" before ")" as the weight of the brackets (×${times}), not as the end of the tag ${other.slice(TAG_END_AS_WEIGHT.length)}; write a comma after it to keep it the tag.` };
      }
      if (other === FACE_AS_WEIGHT || other === FACE_AS_STEP) {
        const data: PromptWeightData = { inBrackets: true };
        const reading = other === FACE_AS_WEIGHT ? `before ")" as the weight of the brackets (×${times})` : `before "]" as the step of prompt editing (what the brackets hold is added at step ${times})`;
        return { range, severity, source: DIAGNOSTIC_SOURCE, code, data, message: `a1111 reads "${text}" ${reading}, not as the face ${text}; write a comma after it to keep it a tag.` };
      }
      return {
        range, severity, source: DIAGNOSTIC_SOURCE, code,
        message: `a1111 reads "${text}" ending a prompt as the weight of the whole prompt (×${times} its guidance), not as part of a tag; end the prompt with a comma to keep it a tag.`,
      };
    }
    default: {
      const data: AliasData = { canonical: other! };
      return { range, severity, source: DIAGNOSTIC_SOURCE, code, message: `"${text}" is an alias (deprecated name) of "${other}".`, data };
    }
  }
}

/**
 * Diagnostics sent per document at most, the last one saying how many were left out: VS Code keeps
 * 1,000 per file (ExtHostDiagnostics._maxDiagnosticsPerFile) and drops the rest after converting them
 * all; a 200k-line dataset has ~370k problems, 90 MB of JSON per check.
 */
export const MAX_PUBLISHED = 1000;

/** How often the folders of LoRAs and wildcards are looked at for files added or removed (see noteListed). */
const FOLDER_POLL_MS = 5_000;

/** Work per slice before yielding to other requests. */
const SLICE_MS = 8;
/**
 * A tag still being typed at the end of the line just edited is not called unknown (or an alias:
 * `lo` is one) until typing has paused this long; then the document is checked again in full.
 */
const TYPING_GRACE_MS = 1500;

/** A tag exempt from unknown/alias checks: the one ending at this position. */
export interface TagBeingTyped {
  line: number;
  end: number;
}

// A text ending in `:number`: a1111's re_weight on a prompt (each AND segment, and so a prompt without
// one), and prompt editing's brackets (`[from:to:0.5]`, the text before the closing bracket).
const ENDS_IN_WEIGHT = /:\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*$/;
const NUMBER_ONLY = /^(?:\d+\.?\d*|\.\d+)$/;

/**
 * Whether line[from..to) ends as ENDS_IN_WEIGHT says, read back from its end: a bracket's text is
 * neither copied nor searched whole (nested brackets made that one search a bracket, 0.9 s for 40,000).
 */
export function endsInWeightBefore(line: string, from: number, to: number): boolean {
  let at = to;
  while (at > from && /\s/.test(line[at - 1]!)) at--;
  const end = at;
  while (at > from && /[\d.]/.test(line[at - 1]!)) at--;
  if (!NUMBER_ONLY.test(line.slice(at, end))) return false;
  if (at > from && (line[at - 1] === '-' || line[at - 1] === '+')) at--;
  while (at > from && /\s/.test(line[at - 1]!)) at--;
  return at > from && line[at - 1] === ':';
}

/**
 * The `:3` of `smile, :3` (or `winter_clothes:1.2`) ending a prompt of tags: a1111 takes it off as the
 * prompt's weight (it multiplies the guidance), where the parser, without an AND, reads a tag (the face
 * `:3`, 117k posts). Not after a bracket or a LoRA (`(smile:1.2)` ends with `)`), nor where AND's
 * segment weights are syntax already. Columns of the `:` to the number's end, before a comment.
 */
export function promptWeightAtEnd(line: string, parsed: ParsedPrompt): { start: number; end: number } | undefined {
  if (parsed.tokens.some((token) => token.kind === 'weight' && token.end >= line.trimEnd().length)) return undefined;
  const comment = parsed.tokens.find((token) => token.kind === 'comment');
  let body = (comment ? line.slice(0, comment.start) : line).trimEnd();
  // a1111 takes LoRAs out before it reads the weight: `1girl, :3 <lora:x:0.8>` ends in `:3`.
  for (let last = parsed.tokens.length - 1; last >= 0; last--) {
    const token = parsed.tokens[last]!;
    if (token.kind === 'comment') continue;
    if (token.kind !== 'network' || token.end !== body.length || line[token.start] !== '<') break;
    body = body.slice(0, token.start).trimEnd();
  }
  const match = ENDS_IN_WEIGHT.exec(body);
  if (!match || !parsed.tags.some((tag) => tag.end === body.length)) return undefined;
  return { start: match.index, end: body.length };
}

/**
 * The BREAKs a1111 reads inside emphasis: in ( ), or [ ] that are neither alternation nor prompt
 * editing (those lark takes away before the weights are read), at any depth. parse_prompt_attention
 * multiplies BREAK's marker weight (-1) with the brackets', and tokenize_line breaks a chunk only at -1.
 */
function breaksInEmphasis(line: string, parsed: ParsedPrompt, factsOf: () => BracketFacts): PromptToken[] {
  const found: PromptToken[] = [];
  const innermostAt = groupSweep(parsed, line.length);
  // a1111 splits a prompt at AND first: brackets opened before one hold no BREAK after it (`(a AND b BREAK c)`).
  let partStart = 0;
  for (const token of parsed.tokens) {
    if (token.kind !== 'keyword') continue;
    if (line.startsWith('AND', token.start)) partStart = token.end;
    if (!line.startsWith('BREAK', token.start)) continue;
    for (let index = innermostAt(token.start); index !== undefined && parsed.groups[index]!.open >= partStart; index = parsed.groups[index]!.parent) {
      const g = parsed.groups[index]!;
      const facts = g.kind === '[' ? factsOf() : undefined;
      if (g.kind === '(' || (facts && !facts.ownPipe[index] && !facts.endsInWeight[index])) {
        found.push(token);
        break;
      }
    }
  }
  return found;
}

/** The weights that end a ( ) group right after a separator or its opening, and that are faces the dictionary knows (`:3`). */
function facesReadAsWeights(line: string, parsed: ParsedPrompt, dictionary: TagDictionary): { start: number; end: number; step: boolean; tag?: string }[] {
  const faces: { start: number; end: number; step: boolean; tag?: string }[] = [];
  let closing: Map<number, PromptGroup> | undefined;
  let tagsByEnd: Map<number, PromptTag> | undefined;
  /** The group the weight closes (the bracket right after it). */
  const closedBy = (token: PromptToken): PromptGroup | undefined => {
    closing ??= new Map(parsed.groups.filter((g) => g.close !== undefined).map((g) => [g.close!, g]));
    let after = token.end;
    while (after < line.length && line[after]!.trim() === '') after++;
    return closing.get(after);
  };
  for (const token of parsed.tokens) {
    if (token.kind !== 'weight' || line[token.start] !== ':') continue;
    // (Most weights, `:1.2`, are no face: asked first.)
    const face = line.slice(token.start, token.end).trim();
    if (!resolveCached(dictionary, normalizeTag(face))) {
      // `(reverse:1999)`: the game's tag in emphasis, read as reverse ×1999 (reverse alone is no tag).
      tagsByEnd ??= new Map(parsed.tags.map((t) => [t.end, t]));
      const before = tagsByEnd.get(token.start);
      const whole = before && !resolveCached(dictionary, before.name) ? resolveCached(dictionary, normalizeTag(before.text + face)) : undefined;
      if (whole && closedBy(token)?.kind === '(') faces.push({ start: token.start, end: token.start + face.length, step: false, tag: whole.tag.name });
      continue;
    }
    const group = closedBy(token);
    // In ( ) the face is the brackets' weight; in [ ] the step of prompt editing (`[smile, :3]`: smile from step 3).
    if (group?.kind !== '(' && group?.kind !== '[') continue;
    const before = line.slice(group.open + 1, token.start).trimEnd();
    if (before === '' || before.endsWith(',')) faces.push({ start: token.start, end: token.start + face.length, step: group.kind === '[' });
  }
  return faces;
}

/** `honkai: star rail` → `honkai\: star rail`: the colons a1111 reads as syntax inside [ ] escaped. */
export function escapeColons(text: string): string {
  return text.replace(/(?<!\\):/g, '\\:');
}

/**
 * `|_|` → `\|_\|`: every `|` not escaped already (`\\||/`, the tag `\||/`, keeps its escaped backslash)
 * escaped, which a1111's grammar reads as text and its emphasis parser writes as `|`.
 */
export function escapePipes(text: string): string {
  let escaped = '';
  for (let at = 0; at < text.length; at++) {
    const c = text[at]!;
    if (c === '\\') {
      escaped += text.slice(at, at + 2);
      at++;
    } else {
      escaped += c === '|' ? '\\|' : c;
    }
  }
  return escaped;
}

/** Whether a tag as written holds a `|` that no backslash escapes. */
function hasUnescapedPipe(text: string): boolean {
  return text.includes('|') && escapePipes(text) !== text;
}

/** How a1111 reads a tag's own `|` (an unescaped-pipe problem's `other`, then `+colon` when its `:` needs escaping too). */
type PipeReading = 'alternation' | 'parse';
const PIPE_READINGS: Record<PipeReading, string> = {
  // `[|_|]`, `[|_||smile]`: lark's alternate rule takes every `|` in those brackets as a separator.
  alternation: 'a1111 reads its "|" inside [ ] as alternation\'s ([a|b]): the tag becomes options taken in turn, step by step',
  // `|_|, [cat:dog:0.5]`: no rule of a1111's grammar holds a `|` there, so the parse fails.
  parse: 'its "|" stops a1111 from parsing the prompt: every [a|b] and [a:b:n] in it is taken as text',
};

/** The tag as the fix of its unescaped-pipe problem writes it: `|` escaped, and `:` where [ ] hold it (`[:|]`). */
export function pipeEscaped(text: string, other: string): string {
  const escaped = escapePipes(text);
  return other.endsWith('+colon') ? escapeColons(escaped) : escaped;
}

/** What the pipe and colon checks need to know of a line's [ ] groups and AND parts, found once a line. */
interface BracketFacts {
  /** By group: its own `|` and `:` separators (not those of groups inside it, ownSeparatorsOf), whether one is a `|`, how many are `:`; it ends in `:number`. */
  own: number[][];
  ownPipe: boolean[];
  ownColons: number[];
  endsInWeight: boolean[];
  /** Columns where each AND part after the first starts: a1111 parses each part apart. */
  andStarts: number[];
  /** By AND part: it holds [ ] that a1111 parses as alternation or prompt editing. */
  partParses: boolean[];
}

function bracketFacts(line: string, parsed: ParsedPrompt): BracketFacts {
  const groups = parsed.groups;
  const own = ownSeparatorsOf(line, parsed);
  const ownPipe = own.map((separators) => separators.some((at) => line[at] === '|'));
  const ownColons = own.map((separators) => separators.filter((at) => line[at] === ':').length);
  const endsInWeight = groups.map((g) => g.kind === '[' && g.close !== undefined && endsInWeightBefore(line, g.open + 1, g.close));
  const andStarts = parsed.tokens.filter((t) => t.kind === 'keyword' && line.slice(t.start, t.end) === 'AND').map((t) => t.end);
  const partParses = new Array<boolean>(andStarts.length + 1).fill(false);
  groups.forEach((g, index) => {
    if (g.kind === '[' && g.close !== undefined && (ownPipe[index] || endsInWeight[index])) partParses[partOf(andStarts, g.open)] = true;
  });
  return { own, ownPipe, ownColons, endsInWeight, andStarts, partParses };
}

function partOf(andStarts: readonly number[], column: number): number {
  let part = 0;
  while (part < andStarts.length && andStarts[part]! <= column) part++;
  return part;
}

/**
 * How a1111 reads the `|` of the tag at `index` (see PIPE_READINGS): in closed [ ] with no `:` of
 * their own (nor in the tag: `[:|]` does not parse) and no `:number` end, as alternation; anywhere else
 * as a parse error, which changes the prompt only where its AND part holds alternation or prompt
 * editing (else a1111 takes the part as written, as parsing would). Undefined where it changes nothing.
 */
function pipeReading(line: string, parsed: ParsedPrompt, index: number, facts: BracketFacts): string | undefined {
  const tag = parsed.tags[index]!;
  const parent = tag.group;
  const g = parent === undefined ? undefined : parsed.groups[parent]!;
  // Dynamic Prompts' {a|b} is expanded before a1111 reads the prompt; its own reading of `|` is another matter.
  if (g?.kind === '{') return undefined;
  const inBrackets = g?.kind === '[';
  const colon = inBrackets && /(?<!\\):/.test(tag.text) ? '+colon' : '';
  if (inBrackets && g!.close !== undefined && !facts.endsInWeight[parent!] && facts.ownColons[parent!] === 0 && !colon) return 'alternation';
  // (`[:|]` alone fails too, but a1111 then reads it as written: de-emphasis, as the parse would.)
  return facts.partParses[partOf(facts.andStarts, tag.start)] ? `parse${colon}` : undefined;
}

/**
 * A face opening [ ] before a step, `[:3:0.5]`: a1111's `[:to:when]`, adding `3` (the parser reads the face
 * the prompt means, since `3` is no tag: parsePrompt's faceOpening).
 */
function opensPromptEditing(line: string, parsed: ParsedPrompt, tag: PromptTag): boolean {
  if (tag.group === undefined || !tag.text.startsWith(':') || parsed.groups[tag.group]!.kind !== '[') return false;
  if (line.slice(parsed.groups[tag.group]!.open + 1, tag.start).trim() !== '') return false;
  STEP_CLOSING.lastIndex = skipSpaces(line, tag.end);
  return STEP_CLOSING.test(line);
}

/** `:0.5]`, prompt editing's step closing its brackets, as a1111's grammar reads it (at lastIndex). */
const STEP_CLOSING = /:\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*\]/iy;

/** How a1111 reads a tag's own `:` in [ ] (the first character of an unescaped-colon problem's `other`). */
type ColonReading = 's' | 't' | 'n' | 'a' | 'p' | 'x' | 'e';
const COLON_READINGS: Record<ColonReading, string> = {
  // `[honkai: star rail:0.5]`: from `honkai` to ` star rail` at half the steps.
  s: 'a1111 reads its ":" inside [ ] as prompt editing\'s ([from:to:when]): it becomes two prompts, split there',
  // `[honkai: star rail:genshin impact:0.5]`: a colon too many for prompt editing.
  t: 'its ":" is one too many for prompt editing\'s brackets ([from:to:when]): a1111 cannot read them as prompt editing and takes them as text',
  // `[dog:[honkai: star rail]:0.5]`: brackets inside prompt editing's cannot hold a colon.
  n: 'its ":" in [ ] inside prompt editing\'s brackets ([from:to:when]) is more than a1111 can read there: it takes them as text',
  // `[honkai: star rail|genshin impact]`: lark's parse of the whole prompt fails.
  a: 'its ":" inside [a|b] stops a1111 from parsing the prompt: every [a|b] and [a:b:n] in it is taken as text',
  // `[cat|:d]`, `[(:d:1.2)|cat]`: a face's colon where a1111's grammar has no place for one.
  p: 'its ":" is one more than a1111\'s grammar has room for there ([a|b] holds none, ( ) one): it cannot parse the prompt, and every [a|b] and [a:b:n] in it is taken as text',
  // `[cat:(:d:1.2):5]`, `[:d:cat:0.5]`: a colon too many for prompt editing's brackets around the tag.
  x: 'its ":" is one more than a1111\'s grammar has room for there ([from:to:when] holds two, ( ) one): it reads the prompt editing around it as text',
  // `[:3:0.5]`: prompt editing that adds `3`, no tag, at half the steps.
  e: 'a1111 reads its ":" as the one opening prompt editing\'s [:to:when]: what follows it is added at that step, not the face',
};

interface ColonSplit {
  second: number;
  tag: string;
  reading?: ColonReading;
}

/**
 * The tags in [ ] that the parser split at their own `:` (tagsSplitAtColon), with how a1111 reads the
 * colon (`reading`): prompt editing's brackets (ending in `:number`) with one colon separator split the
 * tag, with more are read as text; in alternation the prompt does not parse; undefined in other
 * brackets (`[honkai: star rail]` is the tag, a weaker one).
 */
function tagsSplitByColon(line: string, parsed: ParsedPrompt, dictionary: TagDictionary, factsOf: () => BracketFacts): Map<number, ColonSplit> | undefined {
  const split = tagsSplitAtColon(line, parsed, dictionary);
  if (!split) return undefined;
  const read = new Map<number, ColonSplit>();
  for (const [index, pieces] of split) read.set(index, { ...pieces, reading: colonReading(parsed, parsed.tags[index]!.group!, factsOf()) });
  return read;
}

/**
 * How a1111 reads a colon in the [ ] group `innermost`, from it out through the groups around it: in
 * alternation (at any level) the prompt does not parse; in prompt editing's brackets with one colon
 * separator (`:when` is a weight token, not one) the tag is split, with more (or inside another's,
 * `[dog:[honkai: star rail]:0.5]`) the brackets are text; in other brackets the tag is read as written.
 */
function colonReading(parsed: ParsedPrompt, innermost: number, facts: BracketFacts): ColonReading | undefined {
  let reading: ColonReading | undefined;
  for (let index: number | undefined = innermost; index !== undefined; index = parsed.groups[index]!.parent) {
    if (parsed.groups[index]!.kind !== '[') continue;
    if (facts.ownPipe[index]) return 'a';
    if (reading === undefined && facts.endsInWeight[index]) reading = index !== innermost ? 'n' : facts.ownColons[index]! <= 1 ? 's' : 't';
  }
  return reading;
}

/**
 * The tags (faces, `:d`, `(:d:1.2)`'s; tags in ( ), `honkai: star rail`) whose own `:` a1111's
 * grammar has no room for, in an AND part that holds [a|b] or [a:b:n], with how it reads them: 'p'
 * where the part then does not parse (parsesAsA1111), 'x' where it parses but reads prompt editing
 * around the tag as text (editingReadAsText). A tag is returned where, with every other tag's `:`
 * and `|` escaped, escaping its own would mend that. Known tags holding `|` are the pipe check's,
 * tags split at their colon the colon check's: neither is returned, both count as escaped.
 */
/** Characters read at most for one outermost bracket's faces (their number times its length). */
const COLON_CHECK_BUDGET = 2_000_000;

function colonsA1111HasNoRoomFor(line: string, parsed: ParsedPrompt, dictionary: TagDictionary, facts: BracketFacts, split: ReadonlyMap<number, ColonSplit> | undefined): Map<number, ColonReading> {
  const found = new Map<number, ColonReading>();
  const ands = parsed.tokens.filter((t) => t.kind === 'keyword' && line.slice(t.start, t.end) === 'AND');
  const secondPieces = new Set([...(split?.values() ?? [])].map((s) => s.second));
  // Tags, tokens and groups are in the order of the line: each part reads on from where the last stopped.
  let nextTag = 0;
  let nextToken = 0;
  let nextGroup = 0;
  for (let part = 0; part <= ands.length; part++) {
    const start = part === 0 ? 0 : ands[part - 1]!.end;
    const end = part < ands.length ? ands[part]!.start : line.length;
    const firstTag = nextTag;
    while (nextTag < parsed.tags.length && parsed.tags[nextTag]!.start < end) nextTag++;
    const firstToken = nextToken;
    while (nextToken < parsed.tokens.length && parsed.tokens[nextToken]!.start < end) nextToken++;
    let choice = false;
    for (; nextGroup < parsed.groups.length && parsed.groups[nextGroup]!.open < end; nextGroup++) choice ||= parsed.groups[nextGroup]!.kind === '{';
    // Dynamic Prompts' {a|b} is expanded before a1111 reads the prompt: which option is not known here.
    if (!facts.partParses[part] || choice) continue;
    const chars = line.slice(start, end).split('');
    // a1111 takes its LoRAs out of the prompt before parsing it (extra_networks.parse_prompts).
    for (let t = firstToken; t < nextToken; t++) {
      const token = parsed.tokens[t]!;
      if (token.kind === 'network' || token.kind === 'comment') chars.fill(' ', token.start - start, Math.min(token.end, end) - start);
    }
    // The tags whose own `:` or `|` is syntax to a1111, by where they are in the part; those holding only a `:` are asked about.
    const spans: { index: number; from: number; to: number; asked: boolean }[] = [];
    for (let index = firstTag; index < nextTag; index++) {
      const tag = parsed.tags[index]!;
      if (tag.end > end || secondPieces.has(index)) continue;
      const splitAt = split?.get(index);
      const tagEnd = splitAt ? parsed.tags[splitAt.second]!.end : tag.end;
      const text = line.slice(tag.start, tagEnd);
      const pipe = escapePipes(text) !== text;
      // A `|` of text no tag's (`cat | dog`) is the user's, not one the pipe check asks to escape.
      if (pipe && (splitAt || !resolveCached(dictionary, tag.name))) continue;
      if (pipe || escapeColons(text) !== text) spans.push({ index, from: tag.start - start, to: tagEnd - start, asked: !splitAt && !pipe });
    }
    if (!spans.some((span) => span.asked)) continue;
    /** The text from..to of the part, the `:` and `|` of the tags `near` escaped but `kept`'s. */
    const escapedBut = (from: number, to: number, near: readonly (typeof spans)[number][], kept: number | undefined): string => {
      const escaped = chars.slice(from, to);
      for (const span of near) {
        if (span.index === kept) continue;
        for (let i = Math.max(span.from, from) - from; i < Math.min(span.to, to) - from; i++) {
          if (escaped[i] === '\\') i++;
          else if (escaped[i] === ':' || escaped[i] === '|') escaped[i] = '_';
        }
      }
      return escaped.join('');
    };
    // A `|` outside brackets that is no tag's (`cat | dog`): escaping a colon would not make it parse.
    if (failsOutsideBrackets(escapedBut(0, chars.length, spans, undefined))) continue;
    const asWritten = chars.join('');
    // Each outermost bracket is read apart, with the tags in it: a line of 20,000 [smile|:d] is 20,000 small reads.
    let nextSpan = 0;
    for (const { start: from, end: to } of outermostBrackets(asWritten)) {
      while (nextSpan < spans.length && spans[nextSpan]!.to <= from) nextSpan++;
      let last = nextSpan;
      while (last < spans.length && spans[last]!.from < to) last++;
      const near = spans.slice(nextSpan, last);
      const written = asWritten.slice(from, to);
      const fails = !parsesAsA1111(written);
      if (!fails && editingReadAsText(written).length === 0) continue;
      const asked = near.filter((span) => span.asked && span.from >= from && span.to <= to).map((span) => span.index);
      // Each asked tag reads the bracket again: past a budget (800 faces in a 4,000-tag `(( … ))`, 1 s a
      // keystroke) the bracket is left unchecked rather than the editor slowed.
      if (asked.length === 0 || asked.length * written.length > COLON_CHECK_BUDGET) continue;
      const allEscaped = escapedBut(from, to, near, undefined);
      if (fails) {
        // It fails for another reason too (`[a|b:c]`): escaping a tag would not make it parse.
        if (!parsesAsA1111(allEscaped)) continue;
        for (const index of asked) if (!parsesAsA1111(escapedBut(from, to, near, index))) found.set(index, 'p');
      } else {
        const left = editingReadAsText(allEscaped).length;
        for (const index of asked) if (editingReadAsText(escapedBut(from, to, near, index)).length > left) found.set(index, 'x');
      }
    }
  }
  return found;
}

/** `dgo` of `[cat|dgo] ears`, an option written on into a tag that makes none: the unknown tag `dgo ears`. */
function joinedOptionProblem(option: PromptTag, tail: PromptTag, name: string, siblings: string[]): Diagnostic {
  const made = `${option.text} ${tail.text}`;
  const data: UnknownTagData = { name, tail: tail.name, siblings };
  return {
    range: { start: { line: 0, character: option.start }, end: { line: 0, character: option.end } },
    severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.UnknownTag, data,
    message: `Unknown tag "${made}": not in the Danbooru tag dictionary ("${option.text}" is written on into "${tail.text}", as another option in its brackets is).`,
  };
}

/**
 * The option each tag is in, as a key part (`/3.1`: option 1 of group 3, for each choice around it): the
 * options of alternation (`[a|b]`), prompt editing a1111 reads (`[from:to:when]`) and Dynamic Prompts'
 * choices (`{a|b}`); other brackets are no scope. One pass over the groups (their own separators: BracketFacts).
 */
function optionScopes(parsed: ParsedPrompt, facts: BracketFacts): (tag: PromptTag) => string {
  const { groups } = parsed;
  const choice = groups.map((g, index) => g.close !== undefined && (g.kind === '{'
    ? facts.ownPipe[index]!
    : g.kind === '[' && ((facts.ownPipe[index]! && facts.ownColons[index] === 0) || (facts.endsInWeight[index]! && facts.ownColons[index]! <= 1))));
  const optionAt = (group: number, column: number): number => countBelow(facts.own[group]!, column);
  // A group's scope from its parent's (parents open first): no call a level, whatever the depth.
  const scope: string[] = [];
  groups.forEach((g, index) => {
    const parent = g.parent;
    scope[index] = parent === undefined ? '' : scope[parent]! + (choice[parent] ? `/${parent}.${optionAt(parent, g.open)}` : '');
  });
  return (tag) => (tag.group === undefined ? '' : scope[tag.group]! + (choice[tag.group] ? `/${tag.group}.${optionAt(tag.group, tag.start)}` : ''));
}


/**
 * The files of the settings' folders that a prompt names, for its check: each list undefined when
 * its folders hold none (a LoRA or a wildcard is then not checked: the files may be elsewhere).
 */
export interface NamedFiles {
  /** LoRA and hypernetwork names, as a1111 looks them up: exactly as written (its dictionaries of files and LoRAs' aliases). */
  networks?: Partial<Record<CheckedNetwork, Set<string>>>;
  wildcards?: WildcardFile[];
}

/** The networks whose names are checked against their folders, as messages name them. */
const CHECKED_NETWORKS = { lora: 'LoRA', hypernet: 'hypernetwork' } as const;
type CheckedNetwork = keyof typeof CHECKED_NETWORKS;

/**
 * What a check reads: the diagnostics settings, the files a prompt may name, and whether this
 * document's unescaped parentheses are reported (checksParentheses).
 */
export type CheckSettings = DiagnosticsSettings & { files?: NamedFiles; parentheses?: boolean; translations?: TagTranslations };

/** The check settings with a translation file (an unknown tag that is a translation says whose), the same object each time. */
const translationVariants = new WeakMap<CheckSettings, WeakMap<TagTranslations, CheckSettings>>();
export function withTranslations(settings: CheckSettings, translations: TagTranslations | undefined): CheckSettings {
  if (!translations) return settings;
  let variants = translationVariants.get(settings);
  if (!variants) translationVariants.set(settings, (variants = new WeakMap()));
  let variant = variants.get(translations);
  if (!variant) variants.set(translations, (variant = { ...settings, translations }));
  return variant;
}

/** The check settings with `parentheses` set, the same object each time (the lines' problems are remembered by it). */
const parenthesesVariants = new WeakMap<CheckSettings, { on?: CheckSettings; off?: CheckSettings }>();
export function withParentheses(settings: CheckSettings, on: boolean): CheckSettings {
  let variants = parenthesesVariants.get(settings);
  if (!variants) parenthesesVariants.set(settings, (variants = {}));
  const key = on ? 'on' : 'off';
  return (variants[key] ??= { ...settings, parentheses: on });
}

const checkSettingsOf = new WeakMap<DiagnosticsSettings, { lists: FolderFile[][]; key: string; settings: CheckSettings }>();

/**
 * The diagnostics settings with the files of the folders: the embeddings' names are known words
 * (a1111 reads `EasyNegative` written as a word). The same object while neither changes, since the
 * lines' problems are remembered by it.
 */
async function checkSettings(folders: FolderFiles, settings: ServerSettings): Promise<CheckSettings> {
  const [embeddings, loras, hypernets, wildcards] = await Promise.all([
    networkFiles(folders, settings, 'embedding'),
    networkFiles(folders, settings, 'lora'),
    networkFiles(folders, settings, 'hypernet'),
    wildcardFiles(folders, settings),
  ]);
  if (embeddings.length + loras.length + hypernets.length + wildcards.length === 0) return settings.diagnostics;
  const lists = [embeddings, loras, hypernets, wildcards];
  const remembered = checkSettingsOf.get(settings.diagnostics);
  // The same listings (every keystroke between two listings): no names to compare.
  if (remembered && remembered.lists.every((list, i) => list === lists[i])) return remembered.settings;
  // Listed again with the same names: the same object still, so the lines' problems are kept.
  // (Whether each was read whole too: a listing cut short names no file as missing.)
  const key = lists.map((files) => `${isIncomplete(files) ? '…' : ''}${files.map((f) => f.name).join('\n')}`).join('\0');
  if (remembered?.key === key) {
    remembered.lists = lists;
    return remembered.settings;
  }
  const files: NamedFiles = {};
  for (const [kind, list] of [['lora', loras], ['hypernet', hypernets]] as const) {
    // A listing cut short may lack the file a name is of: its names are not checked.
    if (list.length > 0 && !isIncomplete(list)) (files.networks ??= {})[kind] = new Set(list.map((f) => f.name));
  }
  if (wildcards.length > 0) files.wildcards = wildcards;
  const extended: CheckSettings = { ...settings.diagnostics, knownTags: [...settings.diagnostics.knownTags, ...embeddings.map((f) => f.name)], files };
  checkSettingsOf.set(settings.diagnostics, { lists, key, settings: extended });
  return extended;
}

/** Data carried by an unknown-file diagnostic: the texts its "did you mean" fixes write. */
export interface UnknownFileData {
  replacements: string[];
}

/** The names nearest to a misspelt one (in any case, at most 1 edit for a short name, 2 for a longer), nearest first. */
function nearestNames(name: string, names: Iterable<string>, limit = 3): string[] {
  const query = name.toLowerCase();
  const maxEdits = query.length <= 4 ? 1 : 2;
  const near: { name: string; distance: number }[] = [];
  for (const candidate of names) {
    const distance = boundedEditDistance(query, candidate.toLowerCase(), maxEdits, false);
    if (distance <= maxEdits) near.push({ name: candidate, distance });
  }
  near.sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : 1));
  return near.slice(0, limit).map((n) => n.name);
}

/** Problems of the LoRAs, hypernetworks and wildcards of a line that name no file of the folders. */
function fileProblems(line: string, parsed: ParsedPrompt, files: NamedFiles, typingEnd: number | undefined, into: LineProblem[]): void {
  for (const token of parsed.tokens) {
    if (token.end === typingEnd) continue;
    const text = line.slice(token.start, token.end);
    if (token.kind === 'network') {
      const network = networkOfToken(text);
      if (!network || network.kind === 'embedding') continue;
      const names = files.networks?.[network.kind];
      if (!names) continue;
      const keyword = network.keywordInOtherCase;
      if (keyword) {
        const written = text.slice(keyword.start, keyword.end);
        const data: UnknownFileData = { replacements: [written.toLowerCase()] };
        into.push(fileProblem({
          range: { start: { line: 0, character: token.start + keyword.start }, end: { line: 0, character: token.start + keyword.end } },
          severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.UnknownFile,
          message: `a1111 knows no extra network "${written}" (lora, lyco and hypernet are written in lower case) and skips this one; write "${written.toLowerCase()}".`, data,
        }));
        continue;
      }
      if (names.has(network.name)) continue;
      // Found in another case, with spaces around it or its extension: a1111 would not find it so.
      const bare = network.name.trim().replace(/\.(?:safetensors|pt|ckpt|bin)$/i, '');
      const asFiled = [...names].filter((name) => name.toLowerCase() === bare.toLowerCase());
      const data: UnknownFileData = { replacements: [...new Set([...asFiled, ...nearestNames(bare, names)])].slice(0, 3) };
      const noun = CHECKED_NETWORKS[network.kind];
      const why = asFiled.length > 0 ? ` a1111 looks a name up exactly as written; it knows "${asFiled[0]}".` : '';
      into.push(fileProblem({
        range: { start: { line: 0, character: token.start + network.start }, end: { line: 0, character: token.start + network.end } },
        severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.UnknownFile,
        message: `No ${noun} named "${network.name}" in the ${noun} folders (danbooruGpt.${FOLDER_SETTING[network.kind]}).${why}`, data,
      }));
    }
  }
  if (!files.wildcards) return;
  // Every wildcard of a `__a__ __b__` token, and those a tag holds (`long __color__ hair`).
  const holders = [...parsed.tokens.filter((token) => token.kind === 'wildcard'), ...parsed.tags.filter((tag) => tag.text.includes('__'))];
  if (holders.length === 0) return;
  const before = into.length;
  for (const holder of holders) {
    if (holder.end === typingEnd) continue;
    const text = line.slice(holder.start, holder.end);
    for (const wildcard of wildcardsIn(text)) wildcardProblem(text, holder.start, wildcard, files.wildcards, into);
  }
  // (Tokens and tags were read one after the other: the line's order again.)
  if (into.length > before) into.sort((a, b) => a.start - b.start);
}

/** The problem of one wildcard written at `offset` + its columns in `text`, if its name finds no file (or one in another case). */
function wildcardProblem(text: string, offset: number, wildcard: WrittenWildcard & { start: number }, wildcards: WildcardFile[], into: LineProblem[]): void {
  const { name, start } = wildcard;
  const range = { start: { line: 0, character: offset + start }, end: { line: 0, character: offset + wildcard.end } };
  // A fix keeps what is written around the name (`__~name__`).
  const writtenAs = (otherName: string): string => text.slice(start, wildcard.nameStart) + otherName + text.slice(wildcard.nameEnd, wildcard.end);
  if (filesOfWildcard(wildcards, name).length > 0) {
    const written = namesInAnotherCase(wildcards, name);
    if (written.length === 0) return;
    const data: UnknownFileData = { replacements: written.map(writtenAs) };
    into.push(fileProblem({
      range, severity: DiagnosticSeverity.Information, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.WildcardCase, data,
      message: `"__${name}__" names ${written.map((n) => `"${n}"`).join(', ')} in another case: Dynamic Prompts compares case on Linux and macOS, and will not find it there.`,
    }));
    return;
  }
  // Not read all (a folder past its 20,000 files, a collection left out): the file may be among the rest.
  if (isIncomplete(wildcards)) return;
  const data: UnknownFileData = { replacements: nearestNames(name, wildcards.map((f) => f.name)).map(writtenAs) };
  into.push(fileProblem({
    range, severity: DiagnosticSeverity.Warning, source: DIAGNOSTIC_SOURCE, code: DiagnosticCode.UnknownFile,
    message: `No wildcard file for "__${name}__" in the wildcard folders (danbooruGpt.wildcardFolders).`, data,
  }));
}

export class DiagnosticsScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly generations = new Map<string, number>();
  /**
   * What the client's edits changed since each document's last complete check (since it was opened
   * before that): found from the edits themselves, so no copy of the checked text is kept to compare.
   */
  private readonly edits = new Map<string, ChangedSpan>();
  private readonly lastEdit = new Map<string, number>();
  private readonly lineCaches = new Map<string, LineCache>();
  /**
   * The folders' names each open document was last checked against (checkSettings: the same object
   * while the names are the same), for the documents whose settings' folders hold LoRAs or wildcards.
   */
  private readonly listedFor = new Map<string, CheckSettings>();
  private folderPoll: NodeJS.Timeout | undefined;
  /** A look at the folders still running (a slow folder's): the next tick waits for it. */
  private polling = false;
  private disposed = false;

  constructor(private readonly ctx: ServerContext) {}

  /** Checks the document after the configured delay (0: right away). */
  schedule(document: LineDocument, immediately = false): void {
    const uri = document.uri;
    if (!immediately) this.lastEdit.set(uri, Date.now());
    clearTimeout(this.timers.get(uri));
    const generation = (this.generations.get(uri) ?? 0) + 1;
    this.generations.set(uri, generation);
    void this.ctx.settings.forDocument(uri).then(async (settings) => {
      // Folders that cannot be listed leave the check as the settings say.
      const listed = await checkSettings(this.ctx.folders, settings).catch(() => settings.diagnostics);
      this.noteListed(uri, listed, settings);
      const translated = withTranslations(listed, this.ctx.translations.get(settings.translationFile));
      const diagnostics = withParentheses(translated, checksParentheses(settings.diagnostics, uri));
      if (this.generations.get(uri) !== generation) return;
      const delay = immediately ? 0 : settings.diagnostics.delay;
      this.timers.set(uri, setTimeout(() => {
        this.timers.delete(uri);
        void this.run(uri, generation, diagnostics).catch((error: unknown) => {
          this.ctx.connection.console.error(`Checking ${uri} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        });
      }, delay));
    });
  }

  /**
   * Notes one change of a document before it is applied (the text documents' update hook): its
   * offsets are read from the text it applies to.
   */
  noteChange(document: LineDocument, change: TextDocumentContentChangeEvent): void {
    const span = spanOfChange(document, change);
    const earlier = this.edits.get(document.uri);
    this.edits.set(document.uri, earlier ? joinSpans(earlier, span) : span);
  }

  /**
   * Keeps the folders' names a document was checked against, and looks at the folders every few
   * seconds while a document whose settings name folders is open: a LoRA or wildcard file added,
   * removed or renamed is checked again in the open documents (their problems stayed until they were
   * typed in), as a reloaded model or dictionary is; folders empty so far too (the first file added
   * makes the names checked). A folder that does not exist costs a failed look.
   */
  private noteListed(uri: string, listed: CheckSettings, settings: ServerSettings): void {
    const folders = settings.wildcardFolders.length + settings.loraFolders.length + settings.embeddingFolders.length + settings.hypernetworkFolders.length;
    if (folders === 0) this.listedFor.delete(uri);
    else this.listedFor.set(uri, listed);
    this.updateFolderPoll();
  }

  private updateFolderPoll(): void {
    if (this.listedFor.size > 0 && !this.folderPoll && !this.disposed) {
      this.folderPoll = setInterval(() => void this.pollFolders(), FOLDER_POLL_MS);
      this.folderPoll.unref?.();
    } else if (this.listedFor.size === 0 && this.folderPoll) {
      clearInterval(this.folderPoll);
      this.folderPoll = undefined;
    }
  }

  private async pollFolders(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      // Once for each settings the documents share: 50 prompts of one folder are one look.
      const lookedAt = new Map<DiagnosticsSettings, CheckSettings>();
      for (const [uri, was] of [...this.listedFor]) {
        const document = this.ctx.documents.get(uri);
        if (!document || this.disposed) {
          this.listedFor.delete(uri);
          continue;
        }
        const settings = await this.ctx.settings.forDocument(uri);
        let listed = lookedAt.get(settings.diagnostics);
        if (!listed) lookedAt.set(settings.diagnostics, (listed = await checkSettings(this.ctx.folders, settings).catch(() => was)));
        if (listed !== was && this.listedFor.get(uri) === was) this.schedule(document, true);
      }
    } finally {
      this.polling = false;
    }
    this.updateFolderPoll();
  }

  /** Stops looking at the folders (the server is shutting down). */
  dispose(): void {
    this.disposed = true;
    this.listedFor.clear();
    this.updateFolderPoll();
  }

  /** Checks every open document again (after a settings change or a model reload). */
  scheduleAll(): void {
    for (const document of this.ctx.documents.all()) this.schedule(document, true);
  }

  /**
   * The problems by line of the document's last complete check, when it is of this version and was
   * made with these checks of aliases, duplicates and parentheses (and of unknown tags, when asked):
   * what Fix All reads to leave alone the lines with nothing to fix. Undefined otherwise.
   */
  checkedLines(uri: string, version: number, check: Pick<CheckSettings, 'aliasTags' | 'duplicateTags' | 'parentheses' | 'unknownTags'>): { byLine: (readonly LineProblem[])[]; typedLine: number | undefined } | undefined {
    const cache = this.lineCaches.get(uri);
    const checked = cache?.checked;
    const settings = cache?.settings as CheckSettings | undefined;
    if (!checked || !settings || cache!.checkedVersion !== version) return undefined;
    const same = settings.aliasTags === check.aliasTags && settings.duplicateTags === check.duplicateTags
      && (settings.parentheses === true) === (check.parentheses === true) && (!check.unknownTags || settings.unknownTags);
    return same ? { byLine: checked.byLine, typedLine: checked.typedLine } : undefined;
  }

  clear(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.generations.set(uri, (this.generations.get(uri) ?? 0) + 1);
    this.edits.delete(uri);
    this.lastEdit.delete(uri);
    this.lineCaches.delete(uri);
    this.listedFor.delete(uri);
    this.updateFolderPoll();
    void this.ctx.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private async run(uri: string, generation: number, settings: DiagnosticsSettings): Promise<void> {
    const engine = await this.ctx.engines.engine();
    const document = this.ctx.documents.get(uri);
    if (!document || this.generations.get(uri) !== generation) return;
    const version = document.version;
    const stale = (): boolean => this.generations.get(uri) !== generation || this.ctx.documents.get(uri)?.version !== version;
    let cache = this.lineCaches.get(uri);
    if (!cache) this.lineCaches.set(uri, (cache = { lines: new Map() }));
    const checked = cache.checked;
    // The edits so far are this check's; later ones are noted apart, and joined back if it does not complete.
    const span = this.edits.get(uri) ?? unchangedSpan(document.length);
    this.edits.delete(uri);
    let typing: TagBeingTyped | undefined;
    let diagnostics: Diagnostic[] | undefined;
    try {
      typing = this.tagBeingTyped(uri, document, span, engine.dictionary);
      diagnostics = settings.enabled
        ? await checkDocument(document, engine.dictionary, settings, stale, typing, cache, span)
        : [];
      if (settings.enabled && diagnostics !== undefined) cache.checkedVersion = version;
    } finally {
      // Not for a document closed meanwhile (its cache is gone): a reopened one starts afresh.
      if (cache.checked === checked && this.lineCaches.get(uri) === cache) {
        const later = this.edits.get(uri);
        this.edits.set(uri, later ? joinSpans(span, later) : span);
      }
    }
    if (diagnostics === undefined || stale()) return;
    await this.ctx.connection.sendDiagnostics({ uri, version, diagnostics });
    if (typing) {
      const wait = Math.max(0, (this.lastEdit.get(uri) ?? 0) + TYPING_GRACE_MS - Date.now());
      this.timers.set(uri, setTimeout(() => {
        this.timers.delete(uri);
        if (this.generations.get(uri) === generation) void this.run(uri, generation, settings).catch(() => undefined);
      }, wait));
    }
  }

  /** The tag an edit just typed into (at the end of a line or in its middle), while typing has not paused for long. */
  private tagBeingTyped(uri: string, document: LineDocument, span: ChangedSpan, dictionary: TagDictionary): TagBeingTyped | undefined {
    const editedAt = this.lastEdit.get(uri);
    if (isUnchanged(span, document.length) || editedAt === undefined || Date.now() - editedAt >= TYPING_GRACE_MS) return undefined;
    // The changed text in the new version ends where the common suffix begins.
    const changedEnd = document.length - span.suffix;
    // A quick fix that removed `, solo` (or a line) ends next to a tag without typing in it.
    if (span.removedSeparator) return undefined;
    // The document's line offsets find the line without a scan of the text before it.
    const { line: number, character: to } = document.positionAt(changedEnd);
    // The edit ends in a tag: `1girl, lo|` at the end of the line, `1girl, lo|, smile` in it. A typed
    // `, ` ends after the tag, which is then finished.
    const parsed = parseLine(document.line(number), dictionary);
    // A wildcard too: `__hair__` is complete for a moment while `__hair_color__` is typed.
    const tag = parsed.tags.find((t) => t.start < to && to <= t.end) ?? parsed.tokens.find((t) => t.kind === 'wildcard' && t.start < to && to <= t.end);
    return tag ? { line: number, end: tag.end } : undefined;
  }
}

/**
 * Strings are compared a block at a time (one native comparison each) before character by character:
 * a keystroke in a 76 MB document compared its versions in ~250 ms a character at a time.
 */
const COMPARED_BLOCK = 4096;

/**
 * Where a text differs from the text of the last check: the characters unchanged at its start and at
 * its end (they never overlap in either text).
 */
export interface ChangedSpan {
  /** The length of the text these edits were made to: a span is applied only to a check of that text. */
  beforeLength: number;
  prefix: number;
  suffix: number;
  /** Whether a comma, a `|` or a line break was deleted (then the edit did not just type into a tag). */
  removedSeparator: boolean;
}

const SEPARATOR = /[,|\r\n]/;

/** The span between two texts, by comparing them (for a client that sends whole texts, and for tests). */
export function changedSpan(before: string, after: string): ChangedSpan {
  const prefix = commonPrefixLength(before, after);
  const suffix = commonSuffixLength(before, after, Math.min(before.length, after.length) - prefix);
  return { beforeLength: before.length, prefix, suffix, removedSeparator: SEPARATOR.test(before.slice(prefix, before.length - suffix)) };
}

/** The span of no change at all, in a text of this length. */
function unchangedSpan(length: number): ChangedSpan {
  return { beforeLength: length, prefix: length, suffix: 0, removedSeparator: false };
}

function isUnchanged(span: ChangedSpan, length: number): boolean {
  return span.prefix === length && span.beforeLength === length;
}

/** The span of one change, read from the document it is about to be applied to (its offsets are that text's). */
export function spanOfChange(document: LineDocument, change: TextDocumentContentChangeEvent): ChangedSpan {
  if (!('range' in change)) return changedSpan(document.getText(), change.text);
  let start = document.offsetAt(change.range.start);
  let end = document.offsetAt(change.range.end);
  if (end < start) [start, end] = [end, start];
  const length = document.length;
  // getText reads a range given end first start first, as the offsets above are ordered.
  return { beforeLength: length, prefix: start, suffix: length - end, removedSeparator: SEPARATOR.test(document.getText(change.range)) };
}

/**
 * Two spans in a row (the first from the checked text to a version, the second from there on) as
 * one: a character unchanged by both at the start (or at the end) is unchanged by the pair.
 */
export function joinSpans(first: ChangedSpan, second: ChangedSpan): ChangedSpan {
  return {
    beforeLength: first.beforeLength,
    prefix: Math.min(first.prefix, second.prefix),
    suffix: Math.min(first.suffix, second.suffix),
    removedSeparator: first.removedSeparator || second.removedSeparator,
  };
}

/** How many characters `a` and `b` have in common at their start. */
export function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let index = 0;
  while (index + COMPARED_BLOCK <= limit && a.slice(index, index + COMPARED_BLOCK) === b.slice(index, index + COMPARED_BLOCK)) index += COMPARED_BLOCK;
  while (index < limit && a.charCodeAt(index) === b.charCodeAt(index)) index++;
  return index;
}

/** How many characters, at most `limit`, `a` and `b` have in common at their end. */
export function commonSuffixLength(a: string, b: string, limit: number): number {
  let suffix = 0;
  while (suffix + COMPARED_BLOCK <= limit && a.slice(a.length - suffix - COMPARED_BLOCK, a.length - suffix) === b.slice(b.length - suffix - COMPARED_BLOCK, b.length - suffix)) suffix += COMPARED_BLOCK;
  while (suffix < limit && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  return suffix;
}

/**
 * What one check leaves for the next, valid for one dictionary and settings object: the last
 * complete check's text length and problems by line number (ranges on line 0), from which a check after an
 * edit runs only the lines the edit touched; and, while a first check is interrupted by typing, the
 * problems it found by line text, so that the next one does not start over.
 */
export interface LineCache {
  dictionary?: TagDictionary;
  settings?: DiagnosticsSettings;
  lines: Map<string, readonly LineProblem[]>;
  checked?: { length: number; byLine: (readonly LineProblem[])[]; typedLine: number | undefined };
  /** The document version `checked` is of (set by the scheduler: checkDocument sees no versions). */
  checkedVersion?: number;
}

/** A text's lines as TextDocument numbers them (a LineDocument is one). */
export interface DocumentLines {
  readonly lineCount: number;
  /** The length of the whole text. */
  readonly length: number;
  /** The line that holds a text offset. */
  lineAt(offset: number): number;
  /** The text of a line, without its line break. */
  line(line: number): string;
}

const NO_PROBLEMS: readonly LineProblem[] = [];

/**
 * The diagnostics of a document's text, at most MAX_PUBLISHED. `stale` is asked between slices; when
 * it says true the check stops and undefined is returned. With `cache` from the check before, only
 * the lines between the first and the last character that changed are checked (a keystroke in a
 * dataset of a million lines checks one line); otherwise every line, each new line text once.
 */
export async function checkDocument(
  source: DocumentLines | string,
  dictionary: TagDictionary,
  settings: DiagnosticsSettings,
  stale: () => boolean = () => false,
  typing?: TagBeingTyped,
  cache: LineCache = { lines: new Map() },
  span?: ChangedSpan,
): Promise<Diagnostic[] | undefined> {
  const lines = typeof source === 'string' ? LineDocument.create('untitled:check', 'plaintext', 0, source) : source;
  if (cache.dictionary !== dictionary || cache.settings !== settings) {
    cache.dictionary = dictionary;
    cache.settings = settings;
    cache.lines = new Map();
    cache.checked = undefined;
  }
  const problemsOf = (line: number, lineText: string): readonly LineProblem[] =>
    typing?.line === line
      ? // Not remembered by text: the same line is checked in full once typing has paused.
        problemsOfLine(lineText, dictionary, settings, typing.end)
      : (cache.lines.get(lineText) ?? problemsOfLine(lineText, dictionary, settings));
  const previous = cache.checked;
  // A span made to a text of another length cannot be from the last check's text: all lines then.
  const changed = previous && span?.beforeLength === previous.length && span.prefix + span.suffix <= lines.length
    ? await recheckChanged(previous, span, lines, problemsOf, typing, cache, stale)
    : 'all';
  const byLine = changed === 'all' ? await checkLines(lines, 0, lines.lineCount - 1, problemsOf, typing, cache, stale) : changed;
  if (byLine === undefined) return undefined;
  cache.checked = { length: lines.length, byLine, typedLine: typing?.line };
  // Complete: the problems by line number serve the next checks. The lines by text are dropped, since
  // their keys would keep this version of the text alive after the next edit.
  cache.lines = new Map();
  return publishable(byLine, settings);
}

/**
 * The problems of lines [first, last], each distinct line text checked once (a dataset repeats lines;
 * a large paste too). Undefined when the check turns stale at a pause: what it found is then kept in
 * the cache by line text, so that the next check does not start over.
 */
async function checkLines(
  lines: DocumentLines,
  first: number,
  last: number,
  problemsOf: (line: number, lineText: string) => readonly LineProblem[],
  typing: TagBeingTyped | undefined,
  cache: LineCache,
  stale: () => boolean,
): Promise<(readonly LineProblem[])[] | undefined> {
  const current = new Map<string, readonly LineProblem[]>();
  const byLine: (readonly LineProblem[])[] = [];
  const slices = new Slices(stale);
  // After each pause the document may have changed: `stale()` says so before another line is read.
  for (let line = first; line <= last; line++) {
    const lineText = lines.line(line);
    const problems = typing?.line === line ? problemsOf(line, lineText) : (current.get(lineText) ?? problemsOf(line, lineText));
    if (typing?.line !== line) current.set(lineText, problems);
    byLine.push(problems);
    if (await slices.stop()) {
      for (const [text, found] of current) cache.lines.set(text, found);
      return undefined;
    }
  }
  return byLine;
}

/**
 * The problems by line after an edit: the lines from the first to the last changed character (and
 * one line either side, as an edit next to a line break can join or split the lines beside it)
 * checked again, with the previously typed line and the one typed now; the others taken from the
 * previous check, shifted by the lines added or removed. 'all' when the two do not line up.
 */
async function recheckChanged(
  previous: NonNullable<LineCache['checked']>,
  { prefix, suffix }: ChangedSpan,
  lines: DocumentLines,
  problemsOf: (line: number, lineText: string) => readonly LineProblem[],
  typing: TagBeingTyped | undefined,
  cache: LineCache,
  stale: () => boolean,
): Promise<(readonly LineProblem[])[] | 'all' | undefined> {
  const shift = lines.lineCount - previous.byLine.length;
  const first = Math.max(0, lines.lineAt(prefix) - 1);
  const last = Math.min(lines.lineCount - 1, lines.lineAt(lines.length - suffix) + 1);
  const lastBefore = last - shift;
  if (lastBefore < first - 1 || lastBefore >= previous.byLine.length) return 'all';
  const middle = await checkLines(lines, first, last, problemsOf, typing, cache, stale);
  if (middle === undefined) return undefined;
  const byLine = previous.byLine.slice(0, first).concat(middle, previous.byLine.slice(lastBefore + 1));
  const typedBefore = previous.typedLine === undefined ? undefined : previous.typedLine < first ? previous.typedLine : previous.typedLine + shift;
  for (const line of [typedBefore, typing?.line]) {
    if (line !== undefined && line >= 0 && line < lines.lineCount && (line < first || line > last)) byLine[line] = problemsOf(line, lines.line(line));
  }
  return byLine;
}

/** Work in slices of SLICE_MS that yield to other requests; `stop()` after each step says whether the check is stale. */
class Slices {
  private started = performance.now();

  constructor(private readonly stale: () => boolean) {}

  async stop(): Promise<boolean> {
    if (performance.now() - this.started <= SLICE_MS) return false;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
    return this.stale();
  }
}

/**
 * The diagnostics to send, in document order: all of them when there are at most MAX_PUBLISHED,
 * else warnings before information (what VS Code would keep) and a last one saying how many are not shown.
 */
function publishable(byLine: (readonly LineProblem[])[], settings: CheckSettings): Diagnostic[] {
  let total = 0;
  let warnings = 0;
  for (const problems of byLine) {
    total += problems.length;
    for (const problem of problems) if (problem.severity === DiagnosticSeverity.Warning) warnings++;
  }
  const room = total <= MAX_PUBLISHED ? total : MAX_PUBLISHED - 1;
  let warningRoom = Math.min(warnings, room);
  let informationRoom = room - warningRoom;
  const diagnostics: Diagnostic[] = [];
  // Stops once both rooms are full: a dataset's later lines are not walked on every keystroke.
  for (let line = 0; line < byLine.length && warningRoom + informationRoom > 0; line++) {
    for (const problem of byLine[line]!) {
      if (problem.severity === DiagnosticSeverity.Warning) {
        if (warningRoom === 0) continue;
        warningRoom--;
      } else {
        if (informationRoom === 0) continue;
        informationRoom--;
      }
      diagnostics.push(diagnosticOf(problem, line, settings));
    }
  }
  if (total > room) {
    const more = total - room;
    diagnostics.push({
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: DiagnosticSeverity.Information,
      source: DIAGNOSTIC_SOURCE,
      code: DiagnosticCode.MoreProblems,
      message: `${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'} in this file not shown: the first ${room.toLocaleString('en-US')} (warnings first) are listed.`,
    });
  }
  return diagnostics;
}

/**
 * The diagnostics of one line, with ranges on line 0. `typingEnd`: the column where a tag still being
 * typed ends; it is not called unknown or an alias yet.
 */
export function lineProblems(line: string, dictionary: TagDictionary, settings: CheckSettings, typingEnd?: number): Diagnostic[] {
  return problemsOfLine(line, dictionary, settings, typingEnd).map((problem) => diagnosticOf(problem, 0, settings));
}

/** lineProblems as the check keeps them: codes and columns, no messages yet. */
export function problemsOfLine(line: string, dictionary: TagDictionary, settings: CheckSettings, typingEnd?: number): readonly LineProblem[] {
  if (line.trim() === '') return NO_PROBLEMS;
  const into: LineProblem[] = [];
  const seen = new Map<string, string>();
  const parsed = parseLine(line, dictionary);
  if (settings.files && settings.unknownTags) fileProblems(line, parsed, settings.files, typingEnd, into);
  const joined = parsed.groups.length > 0 ? tagsJoinedToGroups(line, parsed) : undefined;
  // (Most lines have no such group: nothing to look up.)
  const pieces = joined?.size ? joinedPieces(parsed, joined, dictionary) : undefined;
  const afterGroups = joined?.size ? new Set(joined.values()) : undefined;
  /** `red` in `{red|blue} dress` when it makes a tag with `dress`, or `dress` there when an option does. */
  const partOfJoinedTag = (tag: PromptTag): boolean => {
    if (!pieces) return false;
    return tag.group !== undefined && joined!.has(tag.group) ? pieces.makes.has(tag) : pieces.tails.has(tag);
  };
  // Each AND segment or region is a prompt of its own: a tag written again in another is meant.
  const segments = promptSegmentsOf(line, parsed);
  // Each option of [a|b], [a:b:n] or {a|b} is a scope of its own: `[smile|frown], smile` smiles at every
  // step (no duplicate, and no fix may remove either), `[smile, smile|frown]` repeats one.
  let scopes: ((tag: PromptTag) => string) | undefined;
  const scopeOf = (tag: PromptTag): string => (tag.group === undefined ? '' : (scopes ??= optionScopes(parsed, factsOf()))(tag));
  // The line's brackets read once, when a check first needs them (few lines have a split tag or a `|`).
  let facts: BracketFacts | undefined;
  const factsOf = (): BracketFacts => (facts ??= bracketFacts(line, parsed));
  const splitByColon = parsed.groups.length > 0 ? tagsSplitByColon(line, parsed, dictionary, factsOf) : undefined;
  // Few lines hold a colon in a tag beside [a|b] or [a:b:n]: only those are read with a1111's grammar.
  const noRoomForColon = settings.parentheses && parsed.groups.length > 0 && parsed.tags.some((t) => t.text.includes(':')) && factsOf().partParses.includes(true)
    ? colonsA1111HasNoRoomFor(line, parsed, dictionary, factsOf(), splitByColon) : undefined;
  // `(smile, :3)`: the face written after a separator is the group's weight to a1111 (×3), as it is to the parser;
  // `(reverse:1999)` the end of a tag (whose head, `reverse`, is then no unknown tag to fix on its own).
  const faces = settings.parentheses && parsed.groups.length > 0 ? facesReadAsWeights(line, parsed, dictionary) : [];
  const headsOfWeightedTags = new Set(faces.filter((face) => face.tag !== undefined).map((face) => face.start));
  let tagsOfGroup: Map<number | undefined, PromptTag[]> | undefined;
  let secondPiece = -1;
  for (const [index, tag] of parsed.tags.entries()) {
    if (index === secondPiece) continue;
    const split = splitByColon?.get(index);
    if (split) {
      const end = parsed.tags[split.second]!.end;
      // Neither prompt editing nor alternation (`[honkai: star rail]`): a1111 reads the tag, only the parser's pieces are split.
      if (split.reading && end !== typingEnd) into.push(new LineProblem(DiagnosticCode.UnescapedColon, tag.start, end, line.slice(tag.start, end), `${split.reading}:${split.tag}`));
      secondPiece = split.second;
      continue;
    }
    if (isNotATag(tag, dictionary)) continue;
    const resolved = resolveCached(dictionary, tag.name);
    const beingTyped = tag.end === typingEnd;
    const hash = settings.parentheses && !beingTyped ? tag.text.indexOf('#') : -1;
    if (hash >= 0) into.push(new LineProblem(DiagnosticCode.HashComment, tag.start + hash, tag.end, tag.text.slice(hash)));
    const tail = pieces?.others.get(tag);
    if (tail) {
      // Checked as the tag it makes, not alone: `[cat|dgo] ears` is no alias of deego_(omochi_bazooka).
      const name = `${tag.name}_${tail.name}`;
      if (settings.unknownTags && !beingTyped && !knownTagSet(settings.knownTags).has(name)) {
        // (The tags of each group gathered once: a line of 10,000 `[cat|dgo] ears` looked through every tag for each.)
        if (!tagsOfGroup) {
          tagsOfGroup = new Map();
          for (const t of parsed.tags) {
            const inGroup = tagsOfGroup.get(t.group);
            if (inGroup) inGroup.push(t);
            else tagsOfGroup.set(t.group, [t]);
          }
        }
        const siblings = tagsOfGroup.get(tag.group)!.filter((t) => t !== tag).map((t) => t.name);
        into.push(fileProblem(joinedOptionProblem(tag, tail, name, siblings)));
      }
      continue;
    }
    // Whatever else the tag is (unknown, a duplicate in [a|b]), its colon stops a1111 reading the brackets.
    const colonReadingOfTag = noRoomForColon?.get(index) ?? (settings.parentheses && opensPromptEditing(line, parsed, tag) ? 'e' : undefined);
    if (colonReadingOfTag && !beingTyped) into.push(new LineProblem(DiagnosticCode.UnescapedColon, tag.start, tag.end, tag.text, `${colonReadingOfTag}:`));
    if (!resolved) {
      if (settings.unknownTags && !beingTyped && !knownTagSet(settings.knownTags).has(tag.name) && !partOfJoinedTag(tag) && !headsOfWeightedTags.has(tag.end)) {
        into.push(new LineProblem(DiagnosticCode.UnknownTag, tag.start, tag.end, tag.text, tag.name));
      }
      continue;
    }
    const canonical = resolved.tag.name;
    // `dress` of `{red|blue} dress` is no second `dress` when the prompt holds one.
    if (afterGroups?.has(tag) && partOfJoinedTag(tag)) continue;
    // `side` of `[side|high] ponytail` is side_ponytail, a tag: not the alias `side` (its fix wrote `from side`).
    if (pieces?.makes.has(tag)) continue;
    const scope = scopeOf(tag);
    const key = segments[index] === 0 && scope === '' ? canonical : `${segments[index]}${scope}\u0000${canonical}`;
    const first = seen.get(key);
    if (first !== undefined && settings.duplicateTags) {
      into.push(new LineProblem(DiagnosticCode.DuplicateTag, tag.start, tag.end, tag.text, first));
      continue;
    }
    // With duplicates not reported, a second `smile` (or `smiling` after `smile`) is checked as any tag.
    if (first === undefined) seen.set(key, tag.text);
    if (settings.parentheses && !beingTyped && hasUnescapedParentheses(tag.text)) {
      into.push(new LineProblem(DiagnosticCode.UnescapedParentheses, tag.start, tag.end, tag.text));
    }
    if (settings.parentheses && !beingTyped && parsed.groups.length > 0 && hasUnescapedPipe(tag.text)) {
      const reading = pipeReading(line, parsed, index, factsOf());
      if (reading) into.push(new LineProblem(DiagnosticCode.UnescapedPipe, tag.start, tag.end, tag.text, reading));
    }
    if (resolved.viaAlias !== undefined && settings.aliasTags && !beingTyped) {
      into.push(new LineProblem(DiagnosticCode.AliasTag, tag.start, tag.end, tag.text, canonical));
    }
  }
  // The LoRAs and wildcards were checked first: in the order of the line, as the tags are.
  if (settings.files) into.sort((a, b) => a.start - b.start);
  // Where a1111's syntax is read (the files whose parentheses are checked); last on the line, as it ends it.
  if (settings.parentheses) {
    for (const face of faces) {
      if (face.end !== typingEnd) into.push(new LineProblem(DiagnosticCode.PromptWeight, face.start, face.end, line.slice(face.start, face.end), face.tag ? `${TAG_END_AS_WEIGHT}${face.tag}` : face.step ? FACE_AS_STEP : FACE_AS_WEIGHT));
    }
    for (const at of breaksInEmphasis(line, parsed, factsOf)) into.push(new LineProblem(DiagnosticCode.BreakInBrackets, at.start, at.end, 'BREAK'));
    if (into.some((p, i) => i > 0 && into[i - 1]!.start > p.start)) into.sort((a, b) => a.start - b.start);
    const weight = promptWeightAtEnd(line, parsed);
    if (weight && weight.end !== typingEnd) into.push(new LineProblem(DiagnosticCode.PromptWeight, weight.start, weight.end, line.slice(weight.start, weight.end)));
  }
  // A copy of its own length: an array grown by push keeps room for 17, ~90 bytes a line of a dataset.
  return into.length > 0 ? into.slice() : NO_PROBLEMS;
}
