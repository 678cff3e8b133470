// Settings: the server asks the client for the `danbooruGpt` section per document
// (workspace/configuration) and caches the answer until the configuration changes. A client without
// that capability (the standalone `--stdio` server) gets the defaults merged with
// initializationOptions.settings.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageType, ShowMessageNotification, type Connection } from 'vscode-languageserver/node';
import { MAX_SEED } from '../model/index';
import { CATEGORY_LIST, categoryId } from '../model/describe';
import type { SeparatorStyle } from '../prompt/format';
import { parenthesesAreEmphasis, type InsertStyle, type WordSeparator } from '../prompt/insertStyle';
import { isWorkspaceRelative } from '../util/paths';
import type { CursorContext } from '../prompt/parser';

export interface DiagnosticsSettings {
  enabled: boolean;
  unknownTags: boolean;
  duplicateTags: boolean;
  aliasTags: boolean;
  /**
   * Tags whose parentheses a1111 and ComfyUI would read as emphasis (`ganyu (genshin impact)`): in
   * `.prompt` files (what is written for a front end), everywhere, or nowhere. A dataset or a caption
   * file is read as written by trainers: escaping would put backslashes in its tags.
   */
  unescapedParentheses: 'promptFiles' | 'always' | 'never';
  /** Milliseconds to wait after the last change before checking a document. */
  delay: number;
  /** Words never called unknown (quality tags and the user's own), in any spelling. */
  knownTags: string[];
}

export { DEFAULT_KNOWN_TAGS } from '../prompt/knownTags';
import { DEFAULT_KNOWN_TAGS } from '../prompt/knownTags';

export interface SampleSettings {
  count: number;
  temperature: number;
  topK: number;
  topP: number;
  /** The stop is not drawn before this many new tags (with maxTags: a length range). */
  minTags: number;
  maxTags: number;
  /** null: a new random seed each time. */
  seed: number | null;
  /** Categories of the sampled tags by name; empty: the model's own (what it was trained on). */
  categories: string[];
}

export interface ServerSettings {
  /** Model folder; '' = the shipped model. */
  modelFolder: string;
  /** Tag dictionary file (a tagcomplete CSV or our .bin); '' = the shipped dictionary. */
  dictionaryFile: string;
  /** A tagcomplete translation CSV (`tag,translation`): completion by translation, hover; '' = none. */
  translationFile: string;
  /** Each tag's translation shown after it (inlay hints) when there is a translation file. */
  translationHints: boolean;
  /** onnxruntime intra-op threads; 0 = automatic. */
  threads: number;
  /** pickedTagWeight: how much the user's picks raise a tag (pickedTags.ts); 0 = not at all. */
  completion: { count: number; categories: string[]; pickedTagWeight: number };
  insert: { style: WordSeparator; escapeParentheses: boolean; appendComma: boolean };
  sample: SampleSettings;
  bannedTags: string[];
  diagnostics: DiagnosticsSettings;
  /** Folders of Dynamic Prompts wildcards (`.txt` files, `.yaml`/`.json` collections), relative ones under the workspace folder. */
  wildcardFolders: string[];
  /** Folders of LoRA files, for `<lora:` names. */
  loraFolders: string[];
  /** Folders of textual-inversion embeddings, for ComfyUI's `embedding:` names. */
  embeddingFolders: string[];
  /** Folders of hypernetworks, for a1111's `<hypernet:` names. */
  hypernetworkFolders: string[];
  /** Format Document: the separator (`auto`: the file's own) and how known tags' words are joined. */
  format: { separator: 'auto' | SeparatorStyle; tagWords: 'keep' | WordSeparator };
  /** Rename, Find All References, Tag Counts: the document, or every file of its extension in its folder and those under it. */
  tagScope: 'file' | 'folder';
  /**
   * The workspace folder holding the document (a multi-root workspace has several), under which its
   * relative wildcard, LoRA, embedding and hypernetwork folders are; undefined: the first folder.
   */
  workspaceFolder?: string;
}

/** Where wildcards live in a workspace that is the prompts' folder, an a1111 WebUI or a ComfyUI install. */
export const DEFAULT_WILDCARD_FOLDERS = [
  'wildcards', 'extensions/sd-dynamic-prompts/wildcards', 'custom_nodes/ComfyUI-Impact-Pack/wildcards', 'custom_nodes/ComfyUI-Impact-Pack/custom_wildcards',
];
/** Where an a1111 WebUI (models/Lora, models/LyCORIS) and ComfyUI (models/loras) keep LoRAs. */
export const DEFAULT_LORA_FOLDERS = ['models/Lora', 'models/LyCORIS', 'models/loras'];
/** Where an a1111 WebUI (embeddings) and ComfyUI (models/embeddings) keep embeddings. */
export const DEFAULT_EMBEDDING_FOLDERS = ['embeddings', 'models/embeddings'];
/** Where an a1111 WebUI keeps hypernetworks. */
export const DEFAULT_HYPERNETWORK_FOLDERS = ['models/hypernetworks'];

export const DEFAULT_SETTINGS: ServerSettings = {
  modelFolder: '',
  dictionaryFile: '',
  translationFile: '',
  translationHints: true,
  threads: 0,
  completion: { count: 20, categories: ['general', 'character', 'copyright', 'meta'], pickedTagWeight: 1 },
  insert: { style: 'spaces', escapeParentheses: true, appendComma: true },
  sample: { count: 5, temperature: 1, topK: 50, topP: 0.95, minTags: 0, maxTags: 30, seed: null, categories: [] },
  bannedTags: [],
  diagnostics: { enabled: true, unknownTags: true, duplicateTags: true, aliasTags: true, unescapedParentheses: 'promptFiles', delay: 300, knownTags: DEFAULT_KNOWN_TAGS },
  wildcardFolders: DEFAULT_WILDCARD_FOLDERS,
  loraFolders: DEFAULT_LORA_FOLDERS,
  embeddingFolders: DEFAULT_EMBEDDING_FOLDERS,
  hypernetworkFolders: DEFAULT_HYPERNETWORK_FOLDERS,
  format: { separator: 'auto', tagWords: 'keep' },
  tagScope: 'file',
};

/** A path setting: '' = undefined, `~/` = home, relative = under the workspace folder (or the working directory). */
export function resolvePathSetting(value: string, workspaceRoot: string | undefined): string | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (isWorkspaceRelative(trimmed)) return path.resolve(workspaceRoot ?? process.cwd(), trimmed);
  return path.isAbsolute(trimmed) ? trimmed : path.join(os.homedir(), trimmed.slice(1));
}

/** Whether unescaped parentheses are reported (and fixes escape them) in this document. */
export function checksParentheses(settings: DiagnosticsSettings, uri: string): boolean {
  return parenthesesAreEmphasis(settings.unescapedParentheses, uri);
}

/**
 * How a tag is written into the document at `uri`: parentheses escaped (insert.escapeParentheses)
 * only where they are emphasis, the files whose unescaped parentheses are checked; a dataset or
 * caption file gets `hu_tao_(genshin_impact)` as trainers read it, not a backslash they would keep.
 */
export function insertStyleOf(settings: ServerSettings, uri: string | undefined): InsertStyle {
  const escape = settings.insert.escapeParentheses && (uri === undefined || checksParentheses(settings.diagnostics, uri));
  return { separator: settings.insert.style, escapeParentheses: escape, appendComma: settings.insert.appendComma };
}

/** The setting takes names only (package.json's enum); a number there is not a category name. */
function categoryOfName(name: unknown): number | undefined {
  return typeof name === 'string' ? categoryId(name) : undefined;
}

/** sample.categories as category ids; undefined (the model's own) when it names none. */
export function sampledCategoryIds(settings: ServerSettings): number[] | undefined {
  const ids = settings.sample.categories.map(categoryOfName).filter((c): c is number => c !== undefined);
  return ids.length > 0 ? [...new Set(ids)] : undefined;
}

export function categoryIdsOf(settings: ServerSettings): number[] {
  const ids = settings.completion.categories.map(categoryOfName).filter((c): c is number => c !== undefined);
  return ids.length ? ids : [0];
}

/** The categories completion offers at the cursor: the one its prefix names (`artist:wl`), else the setting's. */
export function categoriesAt(cursor: CursorContext, settings: ServerSettings): number[] {
  const named = cursor.category === undefined ? undefined : categoryId(cursor.category);
  return named === undefined ? categoryIdsOf(settings) : [named];
}

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Deep merge of a partial settings object over defaults. A value of the wrong type (settings.json
 * holds anything: `"count": "20"`) keeps the fallback, and `problems` gets a message naming the
 * setting; a single string where a list of them is expected (`"bannedTags": "smile"`) is read as that
 * one-item list, also with a message.
 */
export function mergeSettings<T>(defaults: T, partial: unknown, problems?: string[], name = 'danbooruGpt'): T {
  if (!isPlain(defaults) || !isPlain(partial)) return defaults;
  const result: Plain = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = partial[key];
    const setting = `${name}.${key}`;
    if (value === undefined) continue;
    if (isPlain(fallback)) {
      if (isPlain(value)) result[key] = mergeSettings(fallback, value, problems, setting);
      else problems?.push(`The setting ${setting} is ${shown(value)}, but must be an object of settings (${Object.keys(fallback).map((inner) => `"${inner}"`).join(', ')}); using their defaults.`);
    } else if (fallback === null ? value === null || typeof value === 'number' : typeof value === typeof fallback && Array.isArray(value) === Array.isArray(fallback)) {
      result[key] = value;
    } else if (Array.isArray(fallback) && typeof value === 'string') {
      result[key] = [value];
      problems?.push(`The setting ${setting} is ${shown(value)}, but must be a list; using [${shown(value)}].`);
    } else {
      problems?.push(`The setting ${setting} is ${shown(value)} (${typeName(value)}), but must be ${typeName(fallback, true)}; using ${JSON.stringify(fallback)}.`);
    }
  }
  return result as T;
}

/** What a settings.json value is, as a message says it. */
function typeName(value: unknown, nullable = false): string {
  if (value === null) return nullable ? 'a number or null' : 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The most samples sample.count asks for, and a Sample Tags request's `n` may. */
export const MAX_SAMPLE_COUNT = 50;

/** Longest value a settings warning repeats: one of megabytes (a file pasted by mistake) is cut. */
const SHOWN_VALUE_LENGTH = 200;

/** A setting's value as a warning shows it: JSON, cut past SHOWN_VALUE_LENGTH characters. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHOWN_VALUE_LENGTH ? `${text.slice(0, SHOWN_VALUE_LENGTH)}… (${text.length.toLocaleString('en-US')} characters)` : text;
}

/** A numeric setting's valid values: package.json's schema says the same, and the engine accepts them. */
interface NumberRange {
  min: number;
  max: number;
  integer: boolean;
  /** The minimum itself is not allowed (top-p 0 would keep no tag); the value used instead. */
  aboveMin?: number;
}

const NUMBER_RANGES: [group: 'completion' | 'sample' | 'diagnostics' | undefined, key: string, range: NumberRange][] = [
  [undefined, 'threads', { min: 0, max: 64, integer: true }],
  ['completion', 'count', { min: 1, max: 200, integer: true }],
  ['completion', 'pickedTagWeight', { min: 0, max: 10, integer: false }],
  ['sample', 'count', { min: 1, max: MAX_SAMPLE_COUNT, integer: true }],
  ['sample', 'temperature', { min: 0.05, max: 5, integer: false }],
  ['sample', 'topK', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }],
  ['sample', 'topP', { min: 0, max: 1, integer: false, aboveMin: 0.01 }],
  ['sample', 'minTags', { min: 0, max: 200, integer: true }],
  ['sample', 'maxTags', { min: 1, max: 200, integer: true }],
  // The sampler's PRNG takes 32 bits (package.json's maximum says the same to the settings editor).
  ['sample', 'seed', { min: 0, max: MAX_SEED, integer: true }],
  ['diagnostics', 'delay', { min: 0, max: 5000, integer: true }],
];

function describeRange(range: NumberRange): string {
  const kind = range.integer ? 'an integer' : 'a number';
  if (range.max === Number.MAX_SAFE_INTEGER) return `${kind} ≥ ${range.min}`;
  return range.aboveMin !== undefined ? `${kind} above ${range.min} and at most ${range.max}` : `${kind} from ${range.min} to ${range.max}`;
}

/**
 * Settings brought into the ranges the server and the engine accept (a count of 2.5 or -5 would break
 * every completion, a top-p of 0 every sample), with one message per value changed, naming the
 * setting and the value used instead.
 */
export function validateSettings(settings: ServerSettings): { settings: ServerSettings; problems: string[] } {
  const problems: string[] = [];
  let result = settings;
  for (const [group, key, range] of NUMBER_RANGES) {
    const holder = (group === undefined ? result : result[group]) as unknown as Record<string, unknown>;
    const value = holder[key];
    if (typeof value !== 'number') continue;
    let fixed = Number.isFinite(value) ? value : range.min;
    if (range.integer) fixed = Math.round(fixed);
    fixed = Math.min(range.max, Math.max(range.min, fixed));
    if (range.aboveMin !== undefined && fixed <= range.min) fixed = range.aboveMin;
    if (fixed === value) continue;
    problems.push(`The setting danbooruGpt.${group === undefined ? '' : `${group}.`}${key} is ${value}, but must be ${describeRange(range)}; using ${fixed}.`);
    // Copies: the merged settings may share their nested objects with DEFAULT_SETTINGS.
    result = group === undefined ? { ...result, [key]: fixed } : { ...result, [group]: { ...result[group], [key]: fixed } };
  }
  // Names the settings editor offers from a list; settings.json can hold anything, which would
  // otherwise be dropped (a category) or read as the other choice (an insert style) without a word.
  for (const [group, key, names] of NAME_SETTINGS) {
    const holder = (group === undefined ? result : result[group]) as unknown as Record<string, string>;
    const value = holder[key]!;
    if (names.includes(value)) continue;
    const fixed = ((group === undefined ? DEFAULT_SETTINGS : DEFAULT_SETTINGS[group]) as unknown as Record<string, string>)[key]!;
    const choices = names.map((name) => `"${name}"`).join(', ').replace(/, ([^,]*)$/, ' or $1');
    problems.push(`The setting danbooruGpt.${group === undefined ? '' : `${group}.`}${key} is "${value}", but must be ${choices}; using "${fixed}".`);
    result = group === undefined ? { ...result, [key]: fixed } : { ...result, [group]: { ...result[group], [key]: fixed } };
  }
  const unknownCategories = result.completion.categories.filter((name) => categoryOfName(name) === undefined);
  if (unknownCategories.length > 0) {
    const kept = result.completion.categories.filter((name) => categoryOfName(name) !== undefined);
    const using = kept.length > 0 ? `using ${kept.join(', ')}` : 'using general';
    problems.push(`The setting danbooruGpt.completion.categories has ${unknownCategories.map((name) => `"${name}"`).join(', ')}, but each must be one of ${CATEGORY_LIST}; ${using}.`);
    result = { ...result, completion: { ...result.completion, categories: kept.length > 0 ? kept : ['general'] } };
  } else if (result.completion.categories.length === 0) {
    // `[]` reads as "none", which would complete nothing.
    problems.push(`The setting danbooruGpt.completion.categories is empty, but must name at least one of ${CATEGORY_LIST}; using general.`);
    result = { ...result, completion: { ...result.completion, categories: ['general'] } };
  }
  const unknownSampled = result.sample.categories.filter((name) => categoryOfName(name) === undefined);
  if (unknownSampled.length > 0) {
    const kept = result.sample.categories.filter((name) => categoryOfName(name) !== undefined);
    problems.push(`The setting danbooruGpt.sample.categories has ${unknownSampled.map(shown).join(', ')}, but each must be one of ${CATEGORY_LIST}; ${kept.length > 0 ? `using ${kept.join(', ')}` : "using the model's own"}.`);
    result = { ...result, sample: { ...result.sample, categories: kept } };
  }
  // Lists of tags or folders: an entry that is no string would be matched or read as nothing, silently.
  for (const [group, key, each, using] of STRING_LIST_SETTINGS) {
    const holder = (group === undefined ? result : result[group]) as unknown as Record<string, unknown[]>;
    const entries = holder[key]!;
    if (entries.every((entry) => typeof entry === 'string')) continue;
    const kept = entries.filter((entry): entry is string => typeof entry === 'string');
    problems.push(`The setting danbooruGpt.${group === undefined ? '' : `${group}.`}${key} has ${entries.filter((entry) => typeof entry !== 'string').map(shown).join(', ')}, but each must be ${each}; ${using(kept)}.`);
    result = group === undefined ? { ...result, [key]: kept } : { ...result, [group]: { ...result[group], [key]: kept } };
  }
  return { settings: result, problems };
}

/** Settings that take one of a few names (package.json's enums). */
const NAME_SETTINGS: [group: 'insert' | 'format' | 'diagnostics' | undefined, key: string, names: string[]][] = [
  ['insert', 'style', ['spaces', 'underscores']],
  ['format', 'separator', ['auto', 'commaSpace', 'comma']],
  ['format', 'tagWords', ['keep', 'spaces', 'underscores']],
  [undefined, 'tagScope', ['file', 'folder']],
  ['diagnostics', 'unescapedParentheses', ['promptFiles', 'always', 'never']],
];

/** The settings that list folders of files a prompt names. */
const FOLDER_SETTINGS = ['wildcardFolders', 'loraFolders', 'embeddingFolders', 'hypernetworkFolders'] as const;

/** The settings that list strings: tags (or tag globs) and folders; what an entry must be, and what is used instead. */
const STRING_LIST_SETTINGS: [group: 'diagnostics' | undefined, key: string, each: string, using: (kept: string[]) => string][] = [
  [undefined, 'bannedTags', 'a tag (a string)', () => 'left out'],
  ['diagnostics', 'knownTags', 'a tag (a string)', () => 'left out'],
  ...FOLDER_SETTINGS.map((key): [undefined, string, string, (kept: string[]) => string] => [
    undefined, key, 'a folder path', (kept) => `using ${kept.length > 0 ? kept.map((folder) => `"${folder}"`).join(', ') : 'none'}`,
  ]),
];

export class SettingsStore {
  private readonly perDocument = new Map<string, Promise<ServerSettings>>();
  private global: Promise<ServerSettings> | undefined;
  private canPull = false;
  private initial: ServerSettings = DEFAULT_SETTINGS;
  /** What was wrong with the settings pushed to the server (initialization options, a push-style change). */
  private initialProblems: string[] = [];
  /**
   * Warnings already shown. Kept across configuration changes: each message names the setting and
   * its value, so a value that stays wrong is not warned about again, and a new wrong value is.
   */
  private readonly warned = new Set<string>();

  constructor(private readonly connection: Connection) {}

  configure(canPull: boolean, initializationOptions: unknown): void {
    this.canPull = canPull;
    const settings = isPlain(initializationOptions) ? initializationOptions.settings : undefined;
    this.initialProblems = [];
    this.initial = mergeSettings(DEFAULT_SETTINGS, settings, this.initialProblems);
  }

  /** The workspace's folders (paths), the one a document lies in deciding its relative folders. */
  private workspaceFolders: string[] = [];

  setWorkspaceFolders(folders: string[]): void {
    this.workspaceFolders = folders;
    this.perDocument.clear();
  }

  /** Settings for one document (scoped: workspace-folder and language overrides apply). */
  forDocument(uri: string): Promise<ServerSettings> {
    let settings = this.perDocument.get(uri);
    if (!settings) {
      const workspaceFolder = folderHolding(this.workspaceFolders, uri);
      settings = this.pull(uri).then((pulled) => (workspaceFolder === undefined ? pulled : { ...pulled, workspaceFolder }));
      this.perDocument.set(uri, settings);
    }
    return settings;
  }

  /** Settings not tied to a document: model folder, threads. */
  forServer(): Promise<ServerSettings> {
    this.global ??= this.pull(undefined);
    return this.global;
  }

  forget(uri: string): void {
    this.perDocument.delete(uri);
  }

  /** After workspace/didChangeConfiguration: drop the cache; a push-style change carries the new values. */
  changed(pushed: unknown): void {
    this.perDocument.clear();
    this.global = undefined;
    if (!this.canPull && isPlain(pushed) && pushed.danbooruGpt !== undefined) {
      this.initialProblems = [];
      this.initial = mergeSettings(DEFAULT_SETTINGS, pushed.danbooruGpt, this.initialProblems);
    }
  }

  private async pull(scopeUri: string | undefined): Promise<ServerSettings> {
    let merged = this.initial;
    const typeProblems = this.canPull ? [] : this.initialProblems;
    if (this.canPull) {
      try {
        const value: unknown = await this.connection.workspace.getConfiguration(scopeUri === undefined ? { section: 'danbooruGpt' } : { scopeUri, section: 'danbooruGpt' });
        merged = mergeSettings(this.initial, value, typeProblems);
      } catch {
        // the client could not answer: the initial settings apply
      }
    }
    const { settings, problems } = validateSettings(merged);
    for (const problem of [...typeProblems, ...problems]) this.warnOnce(problem);
    return settings;
  }

  /** Logs a problem with a setting's value and shows it, once for that message (see `warned`). */
  warnOnce(problem: string): void {
    if (this.warned.has(problem)) return;
    this.warned.add(problem);
    this.connection.console.warn(problem);
    // A notification, not window/showMessageRequest: nothing to answer, nothing to wait for.
    void this.connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `Danbooru GPT: ${problem}` });
  }
}

/** The innermost of the folders holding the file at `uri` (a `file:` URI), or undefined. */
export function folderHolding(folders: readonly string[], uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return undefined;
  }
  let holding: string | undefined;
  for (const folder of folders) {
    const inside = path.relative(folder, file);
    if (inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside) && (holding === undefined || folder.length > holding.length)) holding = folder;
  }
  return holding;
}
