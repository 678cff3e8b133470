// Document Highlights: with the cursor on a tag, the editor marks where else the document writes the
// same tag, in any spelling or as an alias (`long hair`, `long_hair`, `(long hair:1.2)`). Asked on
// every cursor move, so only the lines around the cursor are looked at in a large file.
import { DocumentHighlightKind, type CancellationToken, type DocumentHighlight, type DocumentHighlightParams } from 'vscode-languageserver/node';
import type { ServerContext } from './serverContext';
import { occurrencesIn, rangeOf, tagAt, tagKey } from './tagOccurrences';

/** Lines looked at above and below the cursor (a converted dataset has 200,000). */
const LINES_AROUND = 1000;

export async function provideDocumentHighlights(ctx: ServerContext, params: DocumentHighlightParams, token: CancellationToken): Promise<DocumentHighlight[] | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const dictionary = (await ctx.engines.engine()).dictionary;
  if (token.isCancellationRequested) return null;
  const here = tagAt(document, dictionary, params.position);
  if (!here) return null;
  const first = Math.max(0, params.position.line - LINES_AROUND);
  const last = Math.min(document.lineCount - 1, params.position.line + LINES_AROUND);
  return occurrencesIn(document, dictionary, tagKey(dictionary, here.tag), first, last).map((occurrence) => ({ range: rangeOf(occurrence), kind: DocumentHighlightKind.Text }));
}
