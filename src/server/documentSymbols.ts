// Document symbols (Outline view, breadcrumbs, Go to Symbol in Editor, sticky scroll): a prompt file
// as a library of prompts, each comment line a section (`# portraits`; comment lines in a row are one
// section, named by the first) holding the prompts after it, each prompt named by its first tags.
// Asked on every change: a line is split at commas, parsed only when it may hold a comment, and a
// file of more lines than a library has (a converted dataset) lists its sections only.
import { SymbolKind, type DocumentSymbol, type DocumentSymbolParams } from 'vscode-languageserver/node';
import { commentLineText, parsePrompt } from '../prompt/parser';
import type { ServerContext } from './serverContext';

/** Files of more lines list their sections only. */
const MAX_LINES_WITH_PROMPTS = 5000;
/** Tags naming a prompt. */
const NAME_TAGS = 4;

export function provideDocumentSymbols(ctx: ServerContext, params: DocumentSymbolParams): DocumentSymbol[] | null {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const withPrompts = document.lineCount <= MAX_LINES_WITH_PROMPTS;
  const symbols: DocumentSymbol[] = [];
  let section: DocumentSymbol | undefined;
  let previousWasComment = false;
  const lineRange = (line: number, length: number) => ({ start: { line, character: 0 }, end: { line, character: length } });
  for (let line = 0; line < document.lineCount; line++) {
    const text = document.line(line);
    const heading = commentLineText(text);
    if (heading !== undefined) {
      if (!previousWasComment && heading !== '') {
        if (section) section.range.end = lineRange(line - 1, document.line(line - 1).length).end;
        section = { name: heading, kind: SymbolKind.Namespace, range: lineRange(line, text.length), selectionRange: lineRange(line, text.length), children: [] };
        symbols.push(section);
      }
      previousWasComment = previousWasComment || heading !== '';
      continue;
    }
    previousWasComment = false;
    if (!withPrompts || text.trim() === '') continue;
    const name = promptName(text);
    if (name === '') continue;
    (section?.children ?? symbols).push({ name, kind: SymbolKind.String, range: lineRange(line, text.length), selectionRange: lineRange(line, text.length) });
  }
  if (section) {
    const last = document.lineCount - 1;
    section.range.end = lineRange(last, document.line(last).length).end;
  }
  return symbols;
}

/** A prompt's first tags, `1girl, solo, long hair, smile, …`: the line read up to the comma after them only. */
function promptName(line: string): string {
  // A trailing comment (`smile // note: outfit below, long hair`) is no part of the prompt: its
  // start is the parser's, which knows escapes and `#` inside a tag (`#1girl`).
  const comment = /\/\/|#/.test(line) ? parsePrompt(line).tokens.find((token) => token.kind === 'comment') : undefined;
  const text = comment ? line.slice(0, comment.start) : line;
  const parts: string[] = [];
  let start = 0;
  // (An input method's `，` and `、` separate too: such a prompt was named by its whole line.)
  const separator = /[,，、]/g;
  while (start <= text.length && parts.length <= NAME_TAGS) {
    separator.lastIndex = start;
    const comma = separator.exec(text)?.index ?? -1;
    const end = comma < 0 ? text.length : comma;
    const part = text.slice(start, end).trim();
    if (part !== '') parts.push(part);
    if (comma < 0) break;
    start = comma + 1;
  }
  return parts.slice(0, NAME_TAGS).join(', ') + (parts.length > NAME_TAGS ? ', …' : '');
}
