// Related Tags: the model's most likely next tags for the prompt under the cursor, with their
// probabilities, minus the tags already in that prompt. Feeds the client's "Related Tags" view.
import { ResponseError, ErrorCodes, type CancellationToken } from 'vscode-languageserver/node';
import type { RelatedTag, RelatedTagsParams, RelatedTagsResult } from '../protocol';
import { bannedTagTest } from './bannedTags';
import { knownTagSet } from '../prompt/knownTags';
import { cancellable } from './cancellation';
import { formatTag } from '../prompt/insertStyle';
import { continuationColumn } from '../prompt/parser';
import { readTags, tagsOfPrompt } from './lineTags';
import { parseLine, type ServerContext } from './serverContext';
import { insertStyleOf } from './settings';

/** The most tags one request may ask for: the view asks for 20, and a sub-word model ranks 256 candidates only. */
const MAX_RELATED_TAGS = 100;

const BANNED_SLACK = 200;

export async function relatedTags(ctx: ServerContext, params: RelatedTagsParams, token: CancellationToken): Promise<RelatedTagsResult> {
  // The view asks for 20; another client may pass anything (-1 listed 2 tags, 1e8 every tag, "3" was added to as text).
  // (null, as JSON writes an absent value, is the default, as before.)
  if (params.k !== undefined && params.k !== null && (!Number.isInteger(params.k) || params.k < 1 || params.k > MAX_RELATED_TAGS)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `k must be an integer in 1..${MAX_RELATED_TAGS} (tags to list), got ${JSON.stringify(params.k)}.`);
  }
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document || !document.holds(params.position)) return { context: [], unseen: [], tags: [], fromModel: false };
  const k = params.k ?? 20;
  const line = document.line(params.position.line);
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const parsed = parseLine(line, engine.dictionary);
  // The context ends where a click in the view inserts (insertTag uses the same point).
  const cursor = Math.min(params.position.character, line.length);
  const point = continuationColumn(line, cursor, parsed);
  // A word the cursor ends that is no tag (`1girl, bl|`) is still being typed: not context yet.
  const typing = parsed.tags.find((t) => t.end === cursor && !engine.dictionary.resolve(t.name));
  const context = readTags(line, engine.dictionary, parsed).filter((t) => t.end <= point && t.start !== typing?.start).map((t) => t.name);
  const present = tagsOfPrompt(line, parsed, engine.dictionary);
  return cancellable(token, async (signal) => {
    // (More asked when tags are banned: `*_background` alone bans 150 the model may rank high.)
    const next = await engine.nextTags(context, k + present.size + (settings.bannedTags.length > 0 ? BANNED_SLACK : 0), signal);
    const style = insertStyleOf(settings, document.uri);
    const translations = ctx.translations.get(settings.translationFile);
    const banned = bannedTagTest(engine, settings.bannedTags, (message) => ctx.settings.warnOnce(message));
    const tags = next.filter((n) => !present.has(n.tag) && !banned(n.tag)).slice(0, k).map((n): RelatedTag => {
      const info = engine.dictionary.get(n.tag);
      const translation = translations?.of(n.tag);
      return { tag: n.tag, probability: n.probability, category: info?.category ?? 0, count: info?.count ?? 0, insertText: formatTag(n.tag, style), ...(translation ? { translation } : {}) };
    });
    const known = knownTagSet(settings.diagnostics.knownTags);
    return { context, unseen: engine.unseenTags(context).filter((tag) => !known.has(tag)), tags, fromModel: engine.model !== undefined };
  });
}
