// Inline (ghost-text) suggestion of the next tag: finish the tag being typed with the engine's first
// candidate that extends what was typed, or, right after a separator, propose the model's next tag.
// The client's InlineCompletionItemProvider asks for it (off by default) on every keystroke and
// cancels the stale requests: the engine stops on them.
import type { CancellationToken } from 'vscode-languageserver/node';
import { bannedTagTest } from './bannedTags';
import { cancellable } from './cancellation';
import { typingWeight } from './completion';
import type { NextTagsParams, NextTagsResult } from '../protocol';
import { formatTag, separatorAfter, styleOf } from '../prompt/insertStyle';
import { contextAt, typedTagStart } from '../prompt/parser';
import { contextBefore, tagsOfPrompt } from './lineTags';
import { parseLine, type ServerContext } from './serverContext';
import { categoriesAt, insertStyleOf } from './settings';

const CANDIDATES = 8;

export async function nextTagSuggestions(ctx: ServerContext, params: NextTagsParams, token: CancellationToken): Promise<NextTagsResult> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document || !document.holds(params.position)) return { items: [] };
  const line = document.line(params.position.line);
  const column = Math.min(params.position.character, line.length);
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  if (token.isCancellationRequested) return { items: [] };
  const cursor = contextAt(line, column, parseLine(line, engine.dictionary));
  const current = cursor.current;
  // Only at the end of what is being typed: ghost text in the middle of a tag would hide text, and
  // right before a tag (`1girl, |smile`) it would be read as that tag's start.
  if (!current || current.end > column || typingWeight(current.typed, engine.dictionary) || cursor.parsed.tags.some((t) => t.start === column)) return { items: [] };
  const present = tagsOfPrompt(line, cursor.parsed, engine.dictionary, typedTagStart(current));
  const context = contextBefore(line, cursor.parsed, engine.dictionary, current.start);
  const lineNumber = params.position.line;
  const typed = line.slice(current.start, column);
  const trailing = separatorAfter(line, column, insertStyleOf(settings, document.uri));
  if (current.prefix === '') {
    const next = await cancellable(token, (signal) => engine.nextTags(context, CANDIDATES + present.size, signal));
    const categories = categoriesAt(cursor, settings);
    const banned = bannedTagTest(engine, settings.bannedTags, (message) => ctx.settings.warnOnce(message));
    const tag = next.find((n) => !present.has(n.tag) && !banned(n.tag) && categories.includes(engine.dictionary.get(n.tag)?.category ?? 0))?.tag;
    if (!tag) return { items: [] };
    const leading = column > 0 && line[column - 1] === ',' ? ' ' : '';
    return { items: [{ tag, insertText: leading + formatTag(tag, insertStyleOf(settings, document.uri)) + trailing, range: { start: { line: lineNumber, character: column }, end: { line: lineNumber, character: column } } }] };
  }
  const style = styleOf(typed, insertStyleOf(settings, document.uri));
  const completions = await cancellable(token, (signal) => engine.complete(context, current.prefix, { top: CANDIDATES, categories: categoriesAt(cursor, settings), signal }));
  const banned = bannedTagTest(engine, settings.bannedTags, (message) => ctx.settings.warnOnce(message));
  for (const completion of completions) {
    const written = formatTag(completion.tag, style);
    if (completion.alias || !written.toLowerCase().startsWith(typed.toLowerCase()) || present.has(completion.tag) || banned(completion.tag)) continue;
    return { items: [{ tag: completion.tag, insertText: typed + written.slice(typed.length) + trailing, range: { start: { line: lineNumber, character: current.start }, end: { line: lineNumber, character: column } } }] };
  }
  return { items: [] };
}
