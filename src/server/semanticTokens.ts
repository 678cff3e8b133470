// Semantic tokens: each tag coloured by its Danbooru category (artist, character, copyright, meta;
// general tags keep the grammar's colour), as booru sites and a1111 tagcomplete colour them. Only
// for a range (the lines the editor shows): a converted dataset of 200,000 lines is never tokenized
// whole. Aliases take their tag's category.
import type { CancellationToken, SemanticTokens, SemanticTokensLegend, SemanticTokensRangeParams } from 'vscode-languageserver/node';
import { readTags } from './lineTags';
import { resolveCached, type ServerContext } from './serverContext';

/**
 * Token types by category id (package.json's semanticTokenTypes declares them, each with a standard
 * type that themes already colour as its fallback: artist `function`, character `class`, copyright
 * `enumMember`, meta `macro`).
 */
const TYPE_OF_CATEGORY: Readonly<Record<number, string>> = { 1: 'artistTag', 3: 'copyrightTag', 4: 'characterTag', 5: 'metaTag' };

export const SEMANTIC_TOKENS_LEGEND: SemanticTokensLegend = { tokenTypes: Object.values(TYPE_OF_CATEGORY), tokenModifiers: [] };
/** Each category's index in the legend, the number a token carries. */
const TYPE_INDEX_OF_CATEGORY = new Map(Object.keys(TYPE_OF_CATEGORY).map((category, index) => [Number(category), index]));

/** Lines tokenized per request at most: the editor asks for what it shows, a few screens. */
const MAX_LINES = 5000;

export async function provideSemanticTokensRange(ctx: ServerContext, params: SemanticTokensRangeParams, token: CancellationToken): Promise<SemanticTokens> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return { data: [] };
  const engine = await ctx.engines.engine();
  const { start, end } = params.range;
  const first = Math.max(0, start.line);
  // The end is exclusive: a range ending at the start of a line holds none of it.
  const endLine = end.character === 0 && end.line > start.line ? end.line - 1 : end.line;
  const last = Math.min(document.lineCount - 1, endLine, first + MAX_LINES - 1);
  // Relative positions: each token's line and start from the previous token's (LSP's encoding).
  const data: number[] = [];
  let previousLine = 0;
  let previousStart = 0;
  for (let number = first; number <= last; number++) {
    if (token.isCancellationRequested) return { data: [] };
    const line = document.line(number);
    for (const tag of readTags(line, engine.dictionary)) {
      const category = resolveCached(engine.dictionary, tag.name)?.tag.category;
      const type = category === undefined ? undefined : TYPE_INDEX_OF_CATEGORY.get(category);
      if (type === undefined) continue;
      const deltaLine = number - previousLine;
      data.push(deltaLine, deltaLine === 0 ? tag.start - previousStart : tag.start, tag.end - tag.start, type, 0);
      previousLine = number;
      previousStart = tag.start;
    }
  }
  return { data };
}
