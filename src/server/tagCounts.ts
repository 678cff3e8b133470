// Tag Counts (danbooruGpt/tagCounts): how many prompts (lines) of a document hold each tag, an alias
// counted as its tag: what a converted dataset or a file of prompts is made of, its rare tags and its
// deprecated names, as dataset tag editors list them. With danbooruGpt.tagScope `folder`, of every
// file of the document's extension under its folder (a training set's captions, one per image).
import type { CancellationToken } from 'vscode-languageserver/node';
import { TAG_COUNTS_LIMIT, type TagCount, type TagCountsParams, type TagCountsResult } from '../protocol';
import { Turns } from './cancellation';
import { readTags } from './lineTags';
import { resolveCached, type ServerContext } from './serverContext';
import { tagKey } from './tagOccurrences';
import { documentsInScope } from './tagScope';

/** Lines counted between two turns of the event loop (a 200,000-line dataset takes seconds). */
const LINES_PER_TURN = 5000;

export async function tagCounts(ctx: ServerContext, params: TagCountsParams, token: CancellationToken): Promise<TagCountsResult> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return { prompts: 0, files: 0, distinct: 0, tags: [] };
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const dictionary = engine.dictionary;
  const counts = new Map<string, TagCount>();
  let prompts = 0;
  let files = 0;
  const turns = new Turns(token);
  for await (const each of documentsInScope(ctx, document, settings)) {
    files++;
    for (let line = 0; line < each.lineCount; line++) {
      if (turns.due(LINES_PER_TURN)) await turns.take();
      // As the check reads them: no wildcard, number or escaped space counted, `[honkai: star rail]` one tag.
      const tags = readTags(each.line(line), dictionary);
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
        counts.set(key, { tag: key, prompts: 1, category: info?.category, posts: info?.count, uri: each.uri, first: { line, character: tag.start } });
      }
    }
  }
  const sorted = [...counts.values()].sort((a, b) => b.prompts - a.prompts || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const listed = sorted.slice(0, TAG_COUNTS_LIMIT);
  const translations = ctx.translations.get(settings.translationFile);
  if (translations) {
    for (const count of listed) {
      const translation = translations.of(count.tag);
      if (translation) count.translation = translation;
    }
  }
  return { prompts, files, distinct: counts.size, tags: listed };
}
