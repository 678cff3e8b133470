// What every feature handler needs: the connection, the open documents, settings and the engine.
// Also the few helpers they share (a tag's documentation).
import type { Connection, TextDocuments, TextEdit } from 'vscode-languageserver/node';
import type { TagDictionary, TagInfo } from '../model/index';
import { categoryName } from '../model/describe';
import type { EngineHost } from './engineHost';
import type { LineDocument } from './lineDocument';
import { parsePrompt, type ParsedPrompt, type ParseOptions } from '../prompt/parser';
import type { SettingsStore } from './settings';
import type { FolderFiles } from './folderFiles';
import type { PickedTags } from './pickedTags';
import type { TranslationHost } from './translations';
import type { DiagnosticsScheduler } from './diagnostics';

export interface ServerContext {
  connection: Connection;
  documents: TextDocuments<LineDocument>;
  settings: SettingsStore;
  engines: EngineHost;
  /** Files the prompt names (wildcards, LoRAs, embeddings) in the folders of the settings. */
  folders: FolderFiles;
  /** The tags the user picked from completion lists (their file is set on initialize). */
  picks: PickedTags;
  /** The translation file of the settings (danbooruGpt.translationFile). */
  translations: TranslationHost;
  /** The last complete check's problems by line, when it is of this version (DiagnosticsScheduler.checkedLines). */
  checkedLines?: DiagnosticsScheduler['checkedLines'];
}

/** An edit replacing the whole of line `line` (now `text`) with `newText`. */
export function wholeLineEdit(line: number, text: string, newText: string): TextEdit {
  return { range: { start: { line, character: 0 }, end: { line, character: text.length } }, newText };
}

/** `4350743` → `4.4M`: short enough for the suggest list. */
export function compactCount(count: number): string {
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e7 ? 0 : 1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(count >= 1e4 ? 0 : 1)}k`;
  return String(count);
}

export function postCount(count: number): string {
  return `${count.toLocaleString('en-US')} post${count === 1 ? '' : 's'}`;
}

/** The tag's wiki page. encodeURIComponent leaves `(` `)` `!` `'` `*`: a `)` would end the Markdown link early. */
export function wikiLink(tag: string): string {
  const path = encodeURIComponent(tag).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `https://danbooru.donmai.us/wiki_pages/${path}`;
}

/** Markdown for a tag: category, post count, aliases, wiki link. */
export function tagMarkdown(info: TagInfo, typedAlias?: string): string {
  const lines = [`**${escapeMarkdown(info.name)}** · ${categoryName(info.category)} · ${postCount(info.count)}`];
  if (typedAlias) lines.push(`\`${typedAlias}\` is an alias of \`${info.name}\`.`);
  if (info.aliases.length) lines.push(`Aliases: ${info.aliases.slice(0, 12).map((a) => `\`${a}\``).join(', ')}`);
  lines.push(`[Danbooru wiki](${wikiLink(info.name)})`);
  return lines.join('\n\n');
}

export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

type Resolution = ReturnType<TagDictionary['resolve']>;
/** Prompts repeat the same few thousand tags: resolved names are remembered per dictionary. */
const resolutions = new WeakMap<TagDictionary, Map<string, Resolution>>();
const RESOLUTION_CACHE_LIMIT = 100_000;

/** `dictionary.resolve(name)`, remembered. */
export function resolveCached(dictionary: TagDictionary, name: string): Resolution {
  let cache = resolutions.get(dictionary);
  if (!cache) resolutions.set(dictionary, (cache = new Map()));
  let resolved = cache.get(name);
  if (resolved === undefined && !cache.has(name)) {
    if (cache.size >= RESOLUTION_CACHE_LIMIT) cache.clear();
    resolved = dictionary.resolve(name);
    cache.set(name, resolved);
  }
  return resolved;
}

const parseOptions = new WeakMap<TagDictionary, ParseOptions>();

/** Parses a prompt line knowing which names are tags (`smile (blush)` is emphasis, `ganyu (genshin impact)` a tag). */
export function parseLine(line: string, dictionary: TagDictionary): ParsedPrompt {
  let options = parseOptions.get(dictionary);
  if (!options) parseOptions.set(dictionary, (options = { isTag: (name) => resolveCached(dictionary, name) !== undefined }));
  return parsePrompt(line, options);
}

/** A dictionary-form name's canonical tag (an alias's tag), or the name itself when the dictionary does not know it. */
export function canonicalName(dictionary: TagDictionary, name: string): string {
  return resolveCached(dictionary, name)?.tag.name ?? name;
}

/** Dictionary entry for a tag name, or undefined. */
export function infoOf(dictionary: TagDictionary, name: string): TagInfo | undefined {
  return dictionary.get(name);
}
