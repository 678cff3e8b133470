// Find All References (Shift+F12) on a tag: where the open prompt documents write it (with
// danbooruGpt.tagScope `folder`: the files of the document's extension under its folder), in any
// spelling or as an alias, listed in the references view (a dataset's posts holding it, say).
import type { CancellationToken, Location, ReferenceParams } from 'vscode-languageserver/node';
import { Turns } from './cancellation';
import type { ServerContext } from './serverContext';
import { everyOccurrence, rangeOf, tagAt, tagKey } from './tagOccurrences';
import { documentsInScope } from './tagScope';

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
  const turns = new Turns(token);
  // This document first, then the others of the scope.
  for await (const each of documentsInScope(ctx, document, settings, true)) {
    if (each !== document) await turns.take();
    for await (const occurrence of everyOccurrence(each, dictionary, key, turns)) {
      // The tag under the cursor is listed only when the client asks for the declaration too.
      if (!params.context.includeDeclaration && each === document && occurrence.line === here.line && occurrence.tag.start === here.tag.start) continue;
      locations.push({ uri: each.uri, range: rangeOf(occurrence) });
      if (locations.length === MAX_REFERENCES) return locations;
    }
  }
  return locations;
}
