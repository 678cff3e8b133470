// Go to Definition (F12, Ctrl+click) on a wildcard opens its file: `__hair_color__` the
// `hair_color.txt` of the wildcard folders, a glob (`__animals/*__`) each file it chooses from.
import { pathToFileURL } from 'node:url';
import type { DefinitionParams, Location } from 'vscode-languageserver/node';
import { wildcardAt } from './lineTags';
import { parseLine, type ServerContext } from './serverContext';
import { wildcardOfToken } from './wildcards';

export async function provideDefinition(ctx: ServerContext, params: DefinitionParams): Promise<Location[] | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const line = document.line(params.position.line);
  const column = Math.min(params.position.character, line.length);
  const engine = await ctx.engines.engine();
  const token = wildcardAt(parseLine(line, engine.dictionary), column, line);
  const wildcard = token && await wildcardOfToken(ctx.folders, await ctx.settings.forDocument(document.uri), line.slice(token.start, token.end));
  if (!wildcard) return null;
  return wildcard.files.map((file) => {
    // A collection's list: at its key.
    const start = { line: file.line ?? 0, character: 0 };
    return { uri: pathToFileURL(file.path).href, range: { start, end: start } };
  });
}
