// Format Document and Format Selection (and so `editor.formatOnSave`): each line formatted as
// src/prompt/format.ts says, one edit per line that changes. The separator follows the file
// (`a,b` in a converted dataset stays `a,b`) unless danbooruGpt.format.separator names one.
import type { CancellationToken, DocumentFormattingParams, DocumentRangeFormattingParams, TextEdit } from 'vscode-languageserver/node';
import { formatPrompt, mayNeedFormatting, separatorStyleOf, type FormatOptions } from '../prompt/format';
import { ReadDocuments, Turns } from './cancellation';
import { parseLine, resolveCached, wholeLineEdit, type ServerContext } from './serverContext';

/** Lines formatted between two turns of the event loop (a dataset whose every line changes takes seconds). */
const LINES_PER_TURN = 5000;

export async function provideFormatting(
  ctx: ServerContext,
  params: DocumentFormattingParams | DocumentRangeFormattingParams,
  token: CancellationToken,
): Promise<TextEdit[] | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const dictionary = engine.dictionary;
  const options: FormatOptions = {
    separator: settings.format.separator === 'auto' ? separatorStyleOf((index) => document.line(index), document.lineCount) : settings.format.separator,
    tagWords: settings.format.tagWords,
    isTag: (name) => resolveCached(dictionary, name) !== undefined,
  };
  let first = 0;
  let last = document.lineCount - 1;
  if ('range' in params) {
    const { start, end } = params.range;
    first = start.line;
    // A selection ending at the start of a line holds none of it.
    last = Math.min(last, end.character === 0 && end.line > start.line ? end.line - 1 : end.line);
  }
  // Edits computed on two versions of the document (or on one closed since) would garble it.
  const read = new ReadDocuments((uri) => ctx.documents.get(uri));
  read.add(document, true);
  const turns = new Turns(token, read.unchanged);
  const edits: TextEdit[] = [];
  for (let number = first; number <= last; number++) {
    if (turns.due(LINES_PER_TURN)) await turns.take();
    const line = document.line(number);
    if (!mayNeedFormatting(line, options)) continue;
    const formatted = formatPrompt(line, options, parseLine(line, dictionary));
    if (formatted !== line) edits.push(wholeLineEdit(number, line, formatted));
  }
  return edits;
}
