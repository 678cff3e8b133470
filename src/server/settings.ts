// Settings: the server asks the client for the `danbooruGpt` section per document
// (workspace/configuration) and caches the answer until the configuration changes. A client without
// that capability (the standalone `--stdio` server) gets the defaults merged with
// initializationOptions.settings.
import type { Connection } from 'vscode-languageserver/node';
import type { InsertStyle, WordSeparator } from './insertStyle';

export interface DiagnosticsSettings {
  enabled: boolean;
  unknownTags: boolean;
  duplicateTags: boolean;
  aliasTags: boolean;
  /** Milliseconds to wait after the last change before checking a document. */
  delay: number;
}

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
}

export interface ServerSettings {
  /** Model folder; '' = the shipped model. */
  modelFolder: string;
  /** onnxruntime intra-op threads; 0 = automatic. */
  threads: number;
  completion: { count: number; categories: string[] };
  insert: { style: WordSeparator; escapeParentheses: boolean; appendComma: boolean };
  sample: SampleSettings;
  bannedTags: string[];
  diagnostics: DiagnosticsSettings;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  modelFolder: '',
  threads: 0,
  completion: { count: 20, categories: ['general', 'character', 'copyright', 'meta'] },
  insert: { style: 'spaces', escapeParentheses: true, appendComma: true },
  sample: { count: 5, temperature: 1, topK: 50, topP: 0.95, minTags: 0, maxTags: 30, seed: null },
  bannedTags: [],
  diagnostics: { enabled: true, unknownTags: true, duplicateTags: true, aliasTags: true, delay: 300 },
};

export const CATEGORY_IDS: Record<string, number> = { general: 0, artist: 1, copyright: 3, character: 4, meta: 5 };
export const CATEGORY_NAMES: Record<number, string> = { 0: 'general', 1: 'artist', 3: 'copyright', 4: 'character', 5: 'meta' };

export function insertStyleOf(settings: ServerSettings): InsertStyle {
  return { separator: settings.insert.style, escapeParentheses: settings.insert.escapeParentheses, appendComma: settings.insert.appendComma };
}

export function categoryIdsOf(settings: ServerSettings): number[] {
  const ids = settings.completion.categories.map((c) => CATEGORY_IDS[c]).filter((c): c is number => c !== undefined);
  return ids.length ? ids : [0];
}

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Deep merge of a partial settings object over defaults; values of the wrong type are ignored. */
export function mergeSettings<T>(defaults: T, partial: unknown): T {
  if (!isPlain(defaults) || !isPlain(partial)) return defaults;
  const result: Plain = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = partial[key];
    if (value === undefined) continue;
    if (isPlain(fallback)) result[key] = mergeSettings(fallback, value);
    else if (fallback === null ? value === null || typeof value === 'number' : typeof value === typeof fallback && Array.isArray(value) === Array.isArray(fallback)) result[key] = value;
  }
  return result as T;
}

export class SettingsStore {
  private readonly perDocument = new Map<string, Promise<ServerSettings>>();
  private global: Promise<ServerSettings> | undefined;
  private canPull = false;
  private initial: ServerSettings = DEFAULT_SETTINGS;

  constructor(private readonly connection: Connection) {}

  configure(canPull: boolean, initializationOptions: unknown): void {
    this.canPull = canPull;
    const settings = isPlain(initializationOptions) ? initializationOptions.settings : undefined;
    this.initial = mergeSettings(DEFAULT_SETTINGS, settings);
  }

  /** Settings for one document (scoped: workspace-folder and language overrides apply). */
  forDocument(uri: string): Promise<ServerSettings> {
    let settings = this.perDocument.get(uri);
    if (!settings) {
      settings = this.pull(uri);
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
    if (!this.canPull && isPlain(pushed) && pushed.danbooruGpt !== undefined) this.initial = mergeSettings(DEFAULT_SETTINGS, pushed.danbooruGpt);
  }

  private async pull(scopeUri: string | undefined): Promise<ServerSettings> {
    if (!this.canPull) return this.initial;
    try {
      const value: unknown = await this.connection.workspace.getConfiguration(scopeUri === undefined ? { section: 'danbooruGpt' } : { scopeUri, section: 'danbooruGpt' });
      return mergeSettings(this.initial, value);
    } catch {
      return this.initial;
    }
  }
}
