// Inlay hints: each tag's translation (its first alternative) after it (`long hair 长发`), from the
// translation file of danbooruGpt.translationFile, as a1111 tagcomplete's "live translation" shows a
// prompt's tags. Only for the range the editor asks for (what it shows), and off with
// danbooruGpt.translationHints.
import { type CancellationToken, type InlayHint, type InlayHintParams } from 'vscode-languageserver/node';
import { readTags } from './lineTags';
import { resolveCached, type ServerContext } from './serverContext';

/** Lines hinted per request at most: the editor asks for what it shows. */
const MAX_LINES = 5000;

export async function provideInlayHints(ctx: ServerContext, params: InlayHintParams, token: CancellationToken): Promise<InlayHint[]> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return [];
  const settings = await ctx.settings.forDocument(document.uri);
  if (!settings.translationHints) return [];
  const translations = ctx.translations.get(settings.translationFile);
  if (!translations) return [];
  const engine = await ctx.engines.engine();
  const { start, end } = params.range;
  const last = Math.min(document.lineCount - 1, end.line, start.line + MAX_LINES - 1);
  const hints: InlayHint[] = [];
  for (let number = Math.max(0, start.line); number <= last; number++) {
    if (token.isCancellationRequested) return [];
    const line = document.line(number);
    for (const tag of readTags(line, engine.dictionary)) {
      // A tag written as an alias shows its tag's translation; one the file has by another name, that one.
      const translation = translations.firstOf(resolveCached(engine.dictionary, tag.name)?.tag.name ?? tag.name) ?? translations.firstOf(tag.name);
      if (!translation) continue;
      if (number === end.line && tag.end > end.character) continue;
      hints.push({ position: { line: number, character: tag.end }, label: translation, paddingLeft: true });
    }
  }
  return hints;
}
