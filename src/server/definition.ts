// Go to Definition (F12, Ctrl+click) on a wildcard opens its file: `__hair_color__` the
// `hair_color.txt` of the wildcard folders, a glob (`__animals/*__`) each file it chooses from.
import { pathToFileURL } from 'node:url';
import type { DefinitionParams, Location } from 'vscode-languageserver/node';
import { wildcardName } from '../prompt/parser';
import { parseLine, type ServerContext } from './serverContext';
import { filesOfWildcard, wildcardFiles } from './wildcards';

export async function provideDefinition(ctx: ServerContext, params: DefinitionParams): Promise<Location[] | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const line = document.line(params.position.line);
  const column = params.position.character;
  const engine = await ctx.engines.engine();
  const token = parseLine(line, engine.dictionary).tokens.find((t) => t.kind === 'wildcard' && t.start <= column && column < t.end);
  const name = token && wildcardName(line.slice(token.start, token.end));
  if (name === undefined) return null;
  const files = filesOfWildcard(await wildcardFiles(ctx.folders, await ctx.settings.forDocument(document.uri)), name);
  return files.map((file) => {
    // A collection's list: at its key.
    const start = { line: file.line ?? 0, character: 0 };
    return { uri: pathToFileURL(file.path).href, range: { start, end: start } };
  });
}
