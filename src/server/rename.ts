// Rename (F2) on a tag: every place the document writes that tag, in any spelling or as an alias, is
// rewritten to the new name, each in the style it was written in (`long hair`, `long_hair`, escaped
// parentheses or not): a dataset's tag renamed in one step, as dataset tag editors do. With
// danbooruGpt.tagScope `folder`, in every file of the document's extension under its folder too (a
// LoRA training set of caption files; Shift+Enter in the rename box previews each file's edits).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResponseError, ErrorCodes, MessageType, ShowMessageNotification, type CancellationToken, type Position, type PrepareRenameParams, type Range, type RenameParams, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver/node';
import type { TagDictionary } from '../model/index';
import { applyLineEdits, formatTag, styleOf, type InsertStyle, type LineEdit } from '../prompt/insertStyle';
import { normalizeTag, type PromptTokenKind } from '../prompt/parser';
import { cancelledError, ReadDocuments, Turns } from './cancellation';
import type { LineDocument } from './lineDocument';
import { readTags } from './lineTags';
import { parseLine, type ServerContext } from './serverContext';
import { insertStyleOf } from './settings';
import { everyOccurrence, rangeOf, tagAt, tagKey, type TagOccurrence } from './tagOccurrences';
import { documentsInScope } from './tagScope';
import { leftOutText } from '../util/leftOut';

export async function prepareRename(ctx: ServerContext, params: PrepareRenameParams): Promise<{ range: Range; placeholder: string } | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const here = tagToRename(document, (await ctx.engines.engine()).dictionary, params.position);
  return { range: rangeOf(here), placeholder: here.tag.text };
}

export async function provideRename(ctx: ServerContext, params: RenameParams, token: CancellationToken): Promise<WorkspaceEdit | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const newName = normalizeTag(params.newName);
  if (newName === '') throw new ResponseError(ErrorCodes.InvalidParams, 'The new name is empty.');
  if (/[,\n\r]/.test(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `"${params.newName.trim()}" holds a comma: a tag is renamed to one tag.`);
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const here = tagToRename(document, engine.dictionary, params.position);
  const rename: Rename = { dictionary: engine.dictionary, key: tagKey(engine.dictionary, here.tag), newName, shown: params.newName.trim(), fallback: insertStyleOf(settings, document.uri), token };
  const changes: Record<string, TextEdit[]> = {};
  // Edits made on the text read: a document edited, closed or opened again since would get them wrong.
  const read = new ReadDocuments((uri) => ctx.documents.get(uri));
  read.add(document, true);
  const leftOut: string[] = [];
  for await (const each of documentsInScope(ctx, document, settings, false, leftOut)) {
    if (token.isCancellationRequested) throw cancelledError();
    read.check();
    read.add(each);
    const edits = await renameIn(each, rename, read);
    if (edits.length > 0 || each === document) changes[each.uri] = edits;
  }
  read.check();
  // A rename has no message of its own: a file it leaves with the old name is shown, each time.
  if (leftOut.length > 0) {
    const folder = document.uri.startsWith('file:') ? path.dirname(fileURLToPath(document.uri)) : undefined;
    const message = `Danbooru GPT: Rename left ${leftOutText(leftOut, folder)} as ${leftOut.length === 1 ? 'it is' : 'they are'}.`;
    void ctx.connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message });
  }
  return { changes };
}

/** The tag at the position; anything else (a LoRA name, a wildcard, a weight) answers why it cannot be renamed. */
function tagToRename(document: LineDocument, dictionary: TagDictionary, position: Position): TagOccurrence {
  const here = tagAt(document, dictionary, position);
  if (!here) throw new ResponseError(ErrorCodes.InvalidRequest, 'Only a tag can be renamed: put the cursor on one.');
  if (here.tag.partOf !== undefined) throw new ResponseError(ErrorCodes.InvalidRequest, partOfMessage(here.tag.text, here.tag.partOf, here.tag.name));
  return here;
}

interface Rename {
  dictionary: TagDictionary;
  key: string;
  newName: string;
  /** The new name as typed, for messages. */
  shown: string;
  fallback: InsertStyle;
  token: CancellationToken;
}

/** The edits renaming the tag in one document; cancelled when the document changes meanwhile. */
async function renameIn(document: LineDocument, rename: Rename, read: ReadDocuments): Promise<TextEdit[]> {
  const turns = new Turns(rename.token, read.unchanged);
  const edits: TextEdit[] = [];
  let line: { number: number; edits: LineEdit[] } | undefined;
  for await (const occurrence of everyOccurrence(document, rename.dictionary, rename.key, turns)) {
    // A new name written over `cat` of `[cat|dog] ears` would not name the tag that text makes.
    if (occurrence.tag.partOf !== undefined) throw new ResponseError(ErrorCodes.InvalidRequest, `${placeOf(document, occurrence.line)}: ${partOfMessage(occurrence.tag.text, occurrence.tag.partOf, occurrence.tag.name)}`);
    const newText = formatTag(rename.newName, styleOf(occurrence.tag.text, rename.fallback));
    edits.push({ range: rangeOf(occurrence), newText });
    // A name of words only reads back wherever it goes: the lines are parsed again only for the others.
    if (!MAY_NOT_READ_BACK.test(newText)) continue;
    if (line?.number !== occurrence.line) {
      if (line) checkReadsBack(document, line.number, line.edits, rename);
      line = { number: occurrence.line, edits: [] };
    }
    line.edits.push({ start: occurrence.tag.start, end: occurrence.tag.end, text: newText });
  }
  if (line) checkReadsBack(document, line.number, line.edits, rename);
  return edits;
}

/** Characters (and `__`, a wildcard's) by which a name written into a prompt may read as something else. */
const MAY_NOT_READ_BACK = /[,，、|:()[\]{}<>#/\\]|__|^\s|\s$/;

/**
 * Refuses a new name that, written in this line, is not read back as that one tag in each place: a
 * `，` or `|` in it separates, `//` starts a comment, `x:1.2` in `(smile:1.2)` becomes a weight,
 * `<lora:x:1>` a LoRA. (Only a `,` was refused: the rest rewrote prompts into others.)
 */
function checkReadsBack(document: LineDocument, lineNumber: number, edits: readonly LineEdit[], rename: Rename): void {
  const beforeText = document.line(lineNumber);
  const afterText = applyLineEdits(beforeText, edits).text;
  const before = parseLine(beforeText, rename.dictionary);
  const after = parseLine(afterText, rename.dictionary);
  // The tags as the check reads them (`[honkai: star rail]` one tag), the syntax as the parser does.
  const beforeTags = readTags(beforeText, rename.dictionary, before);
  const afterTags = readTags(afterText, rename.dictionary, after);
  let shift = 0;
  for (const edit of edits) {
    const start = edit.start + shift;
    const end = start + edit.text.length;
    shift += edit.text.length - (edit.end - edit.start);
    const readBack = afterTags.some((tag) => tag.start === start && tag.end === end && tag.name === rename.newName);
    if (readBack) continue;
    const read = [
      ...after.tags.filter((tag) => tag.start < end && tag.end > start).map((tag) => `the tag "${tag.text}"`),
      ...after.tokens.filter((token) => token.start < end && token.end > start).map((token) => TOKEN_NAMES[token.kind]),
    ];
    throw notOneTag(document, lineNumber, rename, read.length > 0 ? `it would read as ${read.join(', ')}` : 'it would be no tag');
  }
  // Nothing around the places changed either (`grin\` escaped the separator after it).
  if (afterTags.length !== beforeTags.length || after.tokens.length !== before.tokens.length) {
    throw notOneTag(document, lineNumber, rename, `the line would read as ${afterTags.length} tags, not ${beforeTags.length}`);
  }
}

/** Why `cat` of `[cat|dog] ears` is not renamed: it is one option of the tags the text makes. */
function partOfMessage(text: string, partOf: string, tag: string): string {
  return `"${text}" is written as part of "${partOf}" (making ${tag}); rename it there by hand.`;
}

const TOKEN_NAMES: Readonly<Record<PromptTokenKind, string>> = {
  weight: 'a weight', network: 'a LoRA or other network', keyword: 'a keyword', comment: 'a comment', category: 'a category prefix', wildcard: 'a wildcard', variable: 'a Dynamic Prompts variable',
};

function notOneTag(document: LineDocument, lineNumber: number, rename: Rename, why: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, `"${rename.shown}" is not one tag where it would be written (${placeOf(document, lineNumber)}: ${why}); a tag is renamed to one tag's name.`);
}

function placeOf(document: LineDocument, lineNumber: number): string {
  return `${decodeURIComponent(document.uri.replace(/^.*\//, ''))} line ${lineNumber + 1}`;
}
