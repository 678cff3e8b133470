// Hover on a tag: category, post count, aliases, wiki link, and the model's likely next tags after
// the prompt up to and including this tag. On a wildcard: its file and options; on a LoRA or an
// embedding: its file and trigger words.
import path from 'node:path';
import { times } from '../util/words';
import { MarkupKind, type CancellationToken, type Hover, type HoverParams } from 'vscode-languageserver/node';
import { unseenReason } from '../model/describe';
import { cancellable } from './cancellation';
import { escapeMarkdown, parseLine, tagMarkdown, type ServerContext } from './serverContext';
import { normalizeTag, tokenAt } from '../prompt/parser';
import { readTags, tagsOfPrompt, wildcardAt } from './lineTags';
import { isImageEmbedding, networkFiles, networkMarkdown } from './networks';
import { networkOfToken } from '../prompt/networks';
import { wildcardMarkdown, wildcardOfToken } from './wildcards';

const NEXT_TAGS_SHOWN = 5;

export async function provideHover(ctx: ServerContext, params: HoverParams, token: CancellationToken): Promise<Hover | null> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const line = document.line(params.position.line);
  const engine = await ctx.engines.engine();
  if (token.isCancellationRequested) return null;
  const parsed = parseLine(line, engine.dictionary);
  const column = Math.min(params.position.character, line.length);
  const wildcard = wildcardAt(parsed, column, line);
  if (wildcard) return wildcardHover(ctx, document.uri, params.position.line, line.slice(wildcard.start, wildcard.end), wildcard.start);
  const network = tokenAt(parsed, column, 'network');
  if (network) return networkHover(ctx, document.uri, params.position.line, line.slice(network.start, network.end), network.start);
  // As the check reads the tags: an escaped space alone (`\ `) names nothing (its hover read "**** is not
  // a Danbooru tag"), `[honkai: star rail]` is one tag, `cat` of `[cat|dog] ears` stands for cat_ears.
  const tags = readTags(line, engine.dictionary, parsed);
  const index = tags.findIndex((t) => t.start <= column && column < t.end);
  if (index < 0) return null;
  const tag = tags[index]!;
  const resolved = engine.dictionary.resolve(tag.name);
  const sections: string[] = [];
  const translations = ctx.translations.get((await ctx.settings.forDocument(document.uri)).translationFile);
  if (resolved) {
    sections.push(tagMarkdown(resolved.tag, resolved.viaAlias ? tag.name : undefined));
    const translation = translations?.of(resolved.tag.name) ?? translations?.of(tag.name);
    if (translation) sections.push(`Translation: ${escapeMarkdown(translation)} (${escapeMarkdown(path.basename(translations!.file))})`);
    // Why completion may rank it higher for this user (danbooruGpt.completion.pickedTagWeight).
    const picked = ctx.picks.total(resolved.tag.name);
    if (picked > 0) sections.push(`You picked it from the list ${times(picked)}: completion ranks it higher (\`danbooruGpt.completion.pickedTagWeight\`).`);
  } else {
    const embedding = (await networkFiles(ctx.folders, await ctx.settings.forDocument(document.uri), 'embedding')).find((f) => normalizeTag(f.name) === tag.name);
    if (embedding) {
      return {
        contents: { kind: MarkupKind.Markdown, value: await networkMarkdown('embedding', embedding.name, embedding) },
        range: { start: { line: params.position.line, character: tag.start }, end: { line: params.position.line, character: tag.end } },
      };
    }
    sections.push(`**${escapeMarkdown(tag.name)}** is not a Danbooru tag in the dictionary.`);
    // A translation written in place of its tag (pasted, or typed and not completed).
    const translated = translations?.tagOf(line.slice(tag.start, tag.end));
    if (translated) sections.push(`It is the translation of \`${translated}\` in ${escapeMarkdown(path.basename(translations!.file))}.`);
  }
  // Most often a character or artist tag: a model of general tags never saw it, and a user who
  // wonders why completions ignore it should find out here.
  if (engine.model && engine.unseenTags([tag.name]).length > 0) {
    sections.push(`The model (${escapeMarkdown(engine.model.name)}) does not read this tag (${unseenReason(engine.dictionary, tag.name)}): it steers no completion, next tag or sample.`);
  }
  const context = tags.slice(0, index + 1).map((t) => resolved && t === tag ? resolved.tag.name : t.name);
  const present = tagsOfPrompt(line, parsed, engine.dictionary);
  // A sub-word model scores many candidates: a hover the pointer has left stops between two runs.
  const likely = await cancellable(token, (signal) => engine.nextTags(context, NEXT_TAGS_SHOWN + present.size, signal));
  const next = likely.filter((n) => !present.has(n.tag)).slice(0, NEXT_TAGS_SHOWN);
  if (next.length) {
    const source = engine.model ? `the model (${engine.model.name})` : 'post counts (no model loaded)';
    sections.push(`Likely next, by ${source}: ${next.map((n) => `\`${n.tag}\` ${(n.probability * 100).toFixed(1)}%`).join(', ')}`);
  }
  return {
    contents: { kind: MarkupKind.Markdown, value: sections.join('\n\n') },
    range: { start: { line: params.position.line, character: tag.start }, end: { line: params.position.line, character: tag.end } },
  };
}

/** Hover on `__hair_color__`: the file (or, for a glob, the files) it chooses from, and their options. */
async function wildcardHover(ctx: ServerContext, uri: string, line: number, text: string, start: number): Promise<Hover | null> {
  const wildcard = await wildcardOfToken(ctx.folders, await ctx.settings.forDocument(uri), text);
  if (!wildcard) return null;
  return {
    contents: { kind: MarkupKind.Markdown, value: await wildcardMarkdown(wildcard.name, wildcard.files) },
    range: { start: { line, character: start }, end: { line, character: start + wildcard.length } },
  };
}

/** Hover on `<lora:name:1>` or `embedding:name`: its file, size and trigger words; nothing when its folders hold no file at all. */
async function networkHover(ctx: ServerContext, uri: string, line: number, text: string, start: number): Promise<Hover | null> {
  const network = networkOfToken(text);
  if (!network) return null;
  const files = await networkFiles(ctx.folders, await ctx.settings.forDocument(uri), network.kind);
  if (files.length === 0) return null;
  // A LoRA or hypernetwork as a1111 finds it (exactly as written); ComfyUI's `embedding:` in any case, and no image (it loads none).
  const file = network.kind === 'embedding'
    ? files.find((f) => f.name.toLowerCase() === network.name.toLowerCase() && !isImageEmbedding(f))
    : files.find((f) => f.name === network.name);
  return {
    contents: { kind: MarkupKind.Markdown, value: await networkMarkdown(network.kind, network.name, file) },
    range: { start: { line, character: start + network.start }, end: { line, character: start + network.end } },
  };
}
