// Tag Counts (danbooruGpt/tagCounts): how many prompts (lines) of a document hold each tag, an alias
// counted as its tag: what a converted dataset or a file of prompts is made of, its rare tags and its
// deprecated names, as dataset tag editors list them.
import type { CancellationToken } from 'vscode-languageserver/node';
import { TAG_COUNTS_LIMIT, type TagCount, type TagCountsParams, type TagCountsResult } from '../protocol';
import { cancelledError } from './cancellation';
import { parseLine, resolveCached, type ServerContext } from './serverContext';
import { tagKey } from './tagOccurrences';

/** Lines counted between two turns of the event loop (a 200,000-line dataset takes seconds). */
const LINES_PER_TURN = 5000;

export async function tagCounts(ctx: ServerContext, params: TagCountsParams, token: CancellationToken): Promise<TagCountsResult> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return { prompts: 0, distinct: 0, tags: [] };
  const dictionary = (await ctx.engines.engine()).dictionary;
  const counts = new Map<string, TagCount>();
  let prompts = 0;
  for (let line = 0; line < document.lineCount; line++) {
    if (line > 0 && line % LINES_PER_TURN === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      if (token.isCancellationRequested) throw cancelledError();
    }
    const tags = parseLine(document.line(line), dictionary).tags;
    if (tags.length === 0) continue;
    prompts++;
    const counted = new Set<string>();
    for (const tag of tags) {
      const key = tagKey(dictionary, tag);
      if (counted.has(key)) continue;
      counted.add(key);
      const count = counts.get(key);
      if (count) {
        count.prompts++;
        continue;
      }
      const info = resolveCached(dictionary, key)?.tag;
      counts.set(key, { tag: key, prompts: 1, category: info?.category, posts: info?.count, first: { line, character: tag.start } });
    }
  }
  const sorted = [...counts.values()].sort((a, b) => b.prompts - a.prompts || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return { prompts, distinct: counts.size, tags: sorted.slice(0, TAG_COUNTS_LIMIT) };
}
