// Sample Tags: continuations of the prompt at the cursor (or of an empty prompt), with the sampling
// settings of the document. A seed setting makes the result reproducible; without one a random seed
// is drawn and returned so that the user can reproduce a result they liked.
import { ResponseError, ErrorCodes, type CancellationToken } from 'vscode-languageserver/node';
import type { SampleTagsParams, SampleTagsResult, TagSample } from '../protocol';
import { usedPatterns, warnUnmatchedBans } from './bannedTags';
import { cancellable } from './cancellation';
import { continuationEdit, formatTag, lineStyleOf } from '../prompt/insertStyle';
import { separatorStyleOf } from '../prompt/format';
import { continuationColumn, type ParsedPrompt } from '../prompt/parser';
import { canonicalName, parseLine, type ServerContext } from './serverContext';
import { contextBefore } from './lineTags';
import { MAX_SEED, NothingToSampleError, PROMPT_TAGS } from '../model/index';
import { knownTagSet } from '../prompt/knownTags';
import { MAX_SAMPLE_COUNT, insertStyleOf, sampledCategoryIds } from './settings';


export async function sampleTags(ctx: ServerContext, params: SampleTagsParams, token: CancellationToken): Promise<SampleTagsResult> {
  const document = params.textDocument ? ctx.documents.get(params.textDocument.uri) : undefined;
  if (params.textDocument && !document) throw new ResponseError(ErrorCodes.InvalidParams, `${params.textDocument.uri} is not open in the language server`);
  // The command passes n from its own input; another client may pass anything.
  if (params.n !== undefined && (!Number.isInteger(params.n) || params.n < 1 || params.n > MAX_SAMPLE_COUNT)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `n must be an integer in 1..${MAX_SAMPLE_COUNT} (samples to draw), got ${JSON.stringify(params.n)}.`);
  }
  if (document && params.position && !document.holds(params.position)) {
    const { line, character } = params.position;
    const where = line >= document.lineCount && Number.isInteger(line) ? `Line ${line + 1} is past the end of` : `The position ${JSON.stringify({ line, character })} is not in`;
    throw new ResponseError(ErrorCodes.InvalidParams, `${where} ${document.uri} (${document.lineCount} line${document.lineCount === 1 ? '' : 's'}).`);
  }
  const settings = document ? await ctx.settings.forDocument(document.uri) : await ctx.settings.forServer();
  const engine = await ctx.engines.engine();
  if (!engine.model) {
    throw new ResponseError(ErrorCodes.InternalError, `Sampling needs the tag model, and none is loaded. ${ctx.engines.status?.message ?? ''}`.trim());
  }
  const { minTags, maxTags } = settings.sample;
  if (minTags > maxTags) {
    throw new ResponseError(
      ErrorCodes.InvalidParams,
      `The setting danbooruGpt.sample.minTags (${minTags}) is larger than danbooruGpt.sample.maxTags (${maxTags}); lower one of them.`,
    );
  }
  let style = insertStyleOf(settings, document?.uri);
  let commaSpace = true;
  let context: string[] = [];
  const userBans = usedPatterns(settings.bannedTags);
  let ban = userBans;
  // Checked here, where the dictionary is: a typo in a ban would otherwise ban nothing, silently.
  warnUnmatchedBans(engine, userBans, (message) => ctx.settings.warnOnce(message));
  let line = '';
  let lineNumber = 0;
  let column = 0;
  let parsed: ParsedPrompt | undefined;
  if (document && params.position) {
    lineNumber = params.position.line;
    line = document.line(lineNumber);
    parsed = parseLine(line, engine.dictionary);
    // The samples go after the tag, weight or LoRA under the cursor (before a comment); what is left
    // of that point is the prompt they continue.
    column = continuationColumn(line, Math.min(params.position.character, line.length), parsed);
    context = contextBefore(line, parsed, engine.dictionary, column);
    // Written as the line writes its tags (`hair_ribbon` underscores, `,` in a dataset), as the CLI and
    // Add Tag to Every Prompt write them: a sample is many tags, a line of two spellings after it.
    style = lineStyleOf(parsed, style);
    commaSpace = separatorStyleOf((index) => document.line(index), document.lineCount) === 'commaSpace';
    // Tags right of it are in the prompt too: never sample them again, by their canonical names
    // (the engine bans the names it samples; `smiling` written there must ban `smile`).
    const right = parsed.tags.filter((t) => t.start >= column);
    ban = ban.concat(right.map((t) => canonicalName(engine.dictionary, t.name)));
  }
  if (params.seed !== undefined && (!Number.isInteger(params.seed) || params.seed < 0 || params.seed > MAX_SEED)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `seed must be an integer in 0..${MAX_SEED}, got ${JSON.stringify(params.seed)}.`);
  }
  const seed = params.seed ?? settings.sample.seed ?? Math.floor(Math.random() * 2 ** 31);
  const categories = sampledCategoryIds(settings);
  return cancellable(token, async (signal) => {
    const sampled = await engine.sample({
      prompt: context,
      n: params.n ?? settings.sample.count,
      temperature: settings.sample.temperature,
      topK: settings.sample.topK,
      topP: settings.sample.topP,
      // A sample with no tag has nothing to insert: the model may stop only after its first tag, so
      // the picker gets sample.count proposals even where a whole post is the prompt.
      minTags: Math.max(1, minTags),
      maxTags,
      seed,
      ban,
      categories,
      signal,
    }).catch((error: unknown) => {
      if (!(error instanceof NothingToSampleError)) throw error;
      // Said by the settings that did it (the engine's bans also hold the tags right of the cursor).
      const causes = [
        ...(userBans.length > 0 ? [`danbooruGpt.bannedTags (${userBans.map((pattern) => JSON.stringify(pattern)).join(', ')})`] : []),
        ...(categories ? [`danbooruGpt.sample.categories (${settings.sample.categories.join(', ')})`] : []),
      ];
      if (error.excludedBy.prompt || causes.length === 0) causes.push(PROMPT_TAGS);
      const message = NothingToSampleError.describe(causes);
      throw new ResponseError(ErrorCodes.InvalidParams, `${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
    });
    // Bans or the vocabulary can still leave a row without a valid tag.
    const translations = ctx.translations.get(settings.translationFile);
    const samples = sampled.filter((tags) => tags.length > 0).map((tags): TagSample => {
      const sample: TagSample = { tags, text: tags.map((t) => formatTag(t, style)).join(', ') };
      if (translations) sample.translated = tags.map((t) => translations.firstOf(t) ?? formatTag(t, style)).join(', ');
      if (document && params.position) {
        const edit = continuationEdit(line, column, tags, style, parsed, commaSpace);
        sample.edit = { range: { start: { line: lineNumber, character: edit.start }, end: { line: lineNumber, character: edit.end } }, newText: edit.text };
      }
      return sample;
    });
    // Quality tags and the user's own known words steer nothing by design: no note on them.
    const known = knownTagSet(settings.diagnostics.knownTags);
    return { samples, context, unseen: engine.unseenTags(context).filter((tag) => !known.has(tag)), seed };
  });
}
