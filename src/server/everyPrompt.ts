// Add a tag to, or remove one from, every prompt (danbooruGpt/editEveryPrompt): what dataset tag
// editors do to a training set, a trigger word put first in every caption or a tag taken out of all.
// Over the document, or with danbooruGpt.tagScope `folder` every file of its extension under its
// folder. Comment lines and empty ones are left; a prompt that already holds the tag (in any spelling
// or as an alias) gets no second one; each tag is written in the style of its prompt, with its file's
// separator.
import { ResponseError, ErrorCodes, type CancellationToken, type TextEdit } from 'vscode-languageserver/node';
import type { EditEveryPromptParams, EditEveryPromptResult } from '../protocol';
import type { TagDictionary } from '../model/index';
import { separatorStyleOf } from '../prompt/format';
import { applyLineEdits, formatTag, lineSeparator, styleOf, writtenSeparator, type InsertStyle } from '../prompt/insertStyle';
import { isInAlternation, normalizeTag, ownSeparatorsOf, removalRange, type ParsedPrompt, type PromptGroup, type PromptToken } from '../prompt/parser';
import { ReadDocuments, Turns } from './cancellation';
import { canonicalName, parseLine, wholeLineEdit, type ServerContext } from './serverContext';
import { insertStyleOf } from './settings';
import { piecesOfJoinedTags, readTags, withSplitTagsJoined } from './lineTags';
import { tagKey } from './tagOccurrences';
import { documentsInScope } from './tagScope';

/** Lines edited between two turns of the event loop. */
const LINES_PER_TURN = 5000;
/** Times a line is parsed and edited again to take out a tag written several times next to itself. */
const REMOVAL_PASSES = 8;

export async function editEveryPrompt(ctx: ServerContext, params: EditEveryPromptParams, token: CancellationToken): Promise<EditEveryPromptResult> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) throw new ResponseError(ErrorCodes.InvalidParams, `${params.textDocument.uri} is not open.`);
  const name = normalizeTag(params.add?.tag ?? params.remove ?? '');
  if (name === '') throw new ResponseError(ErrorCodes.InvalidParams, 'No tag was given.');
  if (/[,\n\r]/.test(name)) throw new ResponseError(ErrorCodes.InvalidParams, `"${(params.add?.tag ?? params.remove ?? '').trim()}" holds a comma: give one tag.`);
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const dictionary = engine.dictionary;
  const key = canonicalName(dictionary, name);
  const style = insertStyleOf(settings, document.uri);
  const changes: Record<string, TextEdit[]> = {};
  let prompts = 0;
  // Whole lines are replaced: lines read before a keystroke (in any file of the scope) would undo it.
  const read = new ReadDocuments((uri) => ctx.documents.get(uri));
  read.add(document, true);
  const turns = new Turns(token, read.unchanged);
  const leftOut: string[] = [];
  for await (const each of documentsInScope(ctx, document, settings, false, leftOut)) {
    read.check();
    read.add(each);
    const edits: TextEdit[] = [];
    const spaced = separatorStyleOf((index) => each.line(index), each.lineCount) === 'commaSpace';
    for (let line = 0; line < each.lineCount; line++) {
      if (turns.due(LINES_PER_TURN)) await turns.take();
      const text = each.line(line);
      const edited = params.add ? withTag(text, dictionary, key, params.add.at, spaced, style) : withoutTag(text, dictionary, key);
      if (edited === text) continue;
      edits.push(wholeLineEdit(line, text, edited));
      prompts++;
    }
    if (edits.length > 0) changes[each.uri] = edits;
  }
  read.check();
  return { edit: { changes }, prompts, files: Object.keys(changes).length, tag: key, ...(leftOut.length > 0 ? { leftOut } : {}) };
}

/**
 * The line with the tag (`key`: its canonical name, an alias given is written as its tag) put first or
 * last, unless it has no tag (a comment, an empty line) or holds it already.
 */
function withTag(line: string, dictionary: TagDictionary, key: string, at: 'start' | 'end', spaced: boolean, fallback: InsertStyle): string {
  const parsed = parseLine(line, dictionary);
  if (parsed.tags.length === 0 || readTags(line, dictionary, parsed).some((tag) => tagKey(dictionary, tag) === key)) return line;
  // Written as the prompt writes its tags: the first that shows how (`long_hair`; `1girl` does not).
  const showsStyle = parsed.tags.find((tag) => writtenSeparator(tag.text) !== undefined) ?? parsed.tags[0]!;
  const written = formatTag(key, styleOf(showsStyle.text, fallback));
  // A line written with `，` or `、` gets its own; others the file's `,` or `, `.
  const lineComma = lineSeparator(line, at === 'start' ? 0 : line.length);
  const separator = lineComma !== ', ' ? lineComma : spaced ? ', ' : ',';
  if (at === 'start') {
    const start = line.length - line.trimStart().length;
    return line.slice(0, start) + written + separator + line.slice(start);
  }
  // Last: before a comment that ends the line, after a trailing comma if the prompt has one.
  const comment = parsed.tokens.find((token) => token.kind === 'comment');
  const body = (comment ? line.slice(0, comment.start) : line).trimEnd();
  const rest = line.slice(body.length);
  const joined = body.endsWith(',') ? `${body}${spaced ? ' ' : ''}${written},` : /[，、]$/.test(body) ? `${body}${written}${separator}` : `${body}${separator}${written}`;
  return joined + rest;
}

/** The line with every place it writes the tag taken out, with its separator. */
function withoutTag(line: string, dictionary: TagDictionary, key: string): string {
  let text = line;
  for (let pass = 0; pass < REMOVAL_PASSES; pass++) {
    // `[honkai: star rail]` goes whole. `cat` and `ears` of `[cat|dog] ears` are pieces of cat_ears and
    // dog_ears, not the tags cat or ears: left (removing one would change the tags the text makes).
    const raw = parseLine(text, dictionary);
    const pieces = piecesOfJoinedTags(text, raw, dictionary);
    const parsed = withSplitTagsJoined(text, raw, dictionary);
    // In `[smile|frown]` or `[smile:frown:5]` only the option's text goes, its slot stays (`[|frown]`): a1111 then
    // alternates frown with nothing, as before; `[frown]` would be frown weakened at every step.
    // (Each group's own separators, read once a pass when an option first asks.)
    let own: number[][] | undefined;
    const ownOf = (): number[][] => (own ??= ownSeparatorsOf(text, parsed));
    const removals = parsed.tags.flatMap((tag, index) => (tag.name !== '' && !pieces.has(tag) && tagKey(dictionary, tag) === key
      ? [{ ...(wholeOptionSpan(text, parsed, index, ownOf) ?? removalRange(text, parsed, index)), text: '' }]
      : []));
    if (removals.length === 0) break;
    // Removals that touch (two places side by side) wait for the next pass.
    text = applyLineEdits(text, removals).text;
  }
  return text === line ? text : withoutEmptiedSegments(line, text);
}

/**
 * The span to blank where the tag is a whole option of the brackets it is in, with the `( )` only it
 * fills (`[(smile:1.2)|frown]` → `[|frown]`): of `[a|b]`, `{a|b}` or `[from:to:when]`; undefined for
 * `[to:when]` (which goes whole) and for one of several tags in an option (which goes as any tag).
 */
function wholeOptionSpan(line: string, parsed: ParsedPrompt, index: number, ownOf: () => number[][]): { start: number; end: number } | undefined {
  const tag = parsed.tags[index]!;
  if (tag.group === undefined || !isInAlternation(line, parsed, index)) return undefined;
  let unit = { start: tag.start, end: tag.end };
  let container: number | undefined = tag.group;
  // Up through the `( )` that hold nothing else (but their weight).
  while (container !== undefined && parsed.groups[container]!.kind === '(' && parsed.groups[container]!.close !== undefined) {
    const group: PromptGroup = parsed.groups[container]!;
    if (!fillsGroup(line, parsed, unit, group, ownOf()[container]!)) return undefined;
    unit = { start: group.open, end: group.close! + 1 };
    container = group.parent;
  }
  if (container === undefined) return undefined;
  const group = parsed.groups[container]!;
  if (group.close === undefined) return undefined;
  const own = ownOf()[container]!;
  if (own.length === 0) return undefined;
  let from = Math.max(group.open, ...own.filter((at) => at < unit.start)) + 1;
  // A choice's count (`{2$$smile|frown}`) is no part of its first option.
  const count = weightWithin(parsed, from, unit.start);
  if (count) from = count.end;
  const after = own.filter((at) => at >= unit.end);
  const weight = weightWithin(parsed, unit.end, group.close! + 1);
  const to = after.length > 0 ? Math.min(...after) : weight && line[weight.start] === ':' ? weight.start : group.close;
  return line.slice(from, to).trim() === line.slice(unit.start, unit.end) ? unit : undefined;
}

/** The first weight token (a weight, a choice's count) within columns [from, to). */
function weightWithin(parsed: ParsedPrompt, from: number, to: number): PromptToken | undefined {
  return parsed.tokens.find((t) => t.kind === 'weight' && t.start >= from && t.end <= to);
}

/** Whether the unit is all the `( )` group holds (but its weight), with no `|` or `:` of the group's own (`own`). */
function fillsGroup(line: string, parsed: ParsedPrompt, unit: { start: number; end: number }, group: PromptGroup, own: readonly number[]): boolean {
  const weight = weightWithin(parsed, unit.end, group.close! + 1);
  const rest = (line.slice(group.open + 1, unit.start) + line.slice(unit.end, weight ? weight.start : group.close)).trim();
  return rest === '' && own.length === 0;
}

/**
 * An AND segment the removal left empty goes with its AND (`smile AND blush, smile` → `blush`, not
 * `AND blush`: a1111 reads an empty segment as a prompt of its own); one empty before is kept.
 */
function withoutEmptiedSegments(before: string, after: string): string {
  if (!/\bAND\b/.test(after)) return after;
  const empty = (text: string): number => text.split(/\bAND\b/).filter((segment) => segment.replace(/[\s,]/g, '') === '').length;
  if (empty(after) <= empty(before)) return after;
  return after.replace(/^[\s,]*AND\b\s*/, '').replace(/\s*\bAND[\s,]*$/, '').replace(/\bAND([\s,]*)AND\b/g, 'AND');
}
