// Find All References (Shift+F12) on a tag: where the open prompt documents write it (with
// danbooruGpt.tagScope `folder`: the files of the document's extension under its folder), in any
// spelling or as an alias, listed in the references view (a dataset's posts holding it, say).
import type { CancellationToken, Location, ReferenceParams } from 'vscode-languageserver/node';
import { Turns } from './cancellation';
import type { ServerContext } from './serverContext';
import { occurrencesIn, rangeOf, tagAt, tagKey } from './tagOccurrences';
import { documentsInScope } from './tagScope';

/** Lines looked at between two turns of the event loop. */
const LINES_PER_TURN = 5000;
/** Places listed at most: the references view of a 200,000-line dataset has no use for a million. */
export const MAX_REFERENCES = 10_000;

export async function provideReferences(ctx: ServerContext, params: ReferenceParams, token: CancellationToken): Promise<Location[] | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const dictionary = (await ctx.engines.engine()).dictionary;
  const here = tagAt(document, dictionary, params.position);
  if (!here) return null;
  const key = tagKey(dictionary, here.tag);
  const settings = await ctx.settings.forDocument(document.uri);
  const locations: Location[] = [];
  const turns = new Turns(token, LINES_PER_TURN);
  // This document first, then the others of the scope.
  for await (const each of documentsInScope(ctx, document, settings, true)) {
    if (locations.length >= MAX_REFERENCES) break;
    for (let first = 0; first < each.lineCount && locations.length < MAX_REFERENCES; first += LINES_PER_TURN) {
      if (first > 0 || each !== document) await turns.take();
      const last = Math.min(each.lineCount, first + LINES_PER_TURN) - 1;
      for (const occurrence of occurrencesIn(each, dictionary, key, first, last)) {
        // The tag under the cursor is listed only when the client asks for the declaration too.
        if (!params.context.includeDeclaration && each === document && occurrence.line === here.line && occurrence.tag.start === here.tag.start) continue;
        locations.push({ uri: each.uri, range: rangeOf(occurrence) });
      }
    }
  }
  return locations.slice(0, MAX_REFERENCES);
}
