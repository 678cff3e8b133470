// Typed access to the `danbooruGpt.*` settings the client itself uses, and which changes need the
// language client restarted (the document selector). Everything else is read by the server per
// document through workspace/configuration and applies without a restart.
import * as vscode from 'vscode';
import type { DocumentSelector } from 'vscode-languageclient/node';
import { parenthesesAreEmphasis, type InsertStyle } from '../prompt/insertStyle';
import { isWorkspaceRelative } from '../util/paths';

export const SECTION = 'danbooruGpt';
export const PROMPT_LANGUAGE = 'danbooru-prompt';

/** What the Related Tags view says while no prompt is in front. */
export const NO_PROMPT_MESSAGE = 'Put the cursor in a prompt file to see the tags likely next.';

/** Files the server loads, and folders whose files it lists and shows: restricted in an untrusted workspace. */
const RESTRICTED_FILES = ['modelFolder', 'dictionaryFile', 'translationFile'];
const RESTRICTED_FOLDERS = ['wildcardFolders', 'loraFolders', 'embeddingFolders', 'hypernetworkFolders'];

/** Settings whose change restarts the language client. */
const RESTART_KEYS = ['extraFiles', 'extraLanguages'];

export class Config {
  /** `wrongType` hears of a client setting of the wrong type (the server names its own), each read. */
  constructor(private readonly wrongType: (message: string) => void = () => undefined) {}

  private get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get extraFiles(): string[] {
    return this.strings('extraFiles');
  }

  get extraLanguages(): string[] {
    return this.strings('extraLanguages');
  }

  get inlineSuggestions(): boolean {
    const value = this.raw.get<unknown>('inlineSuggestions.enabled', false);
    if (typeof value === 'boolean') return value;
    // (`"false"` turned them on.)
    this.wrongType(`The setting ${SECTION}.inlineSuggestions.enabled is ${JSON.stringify(value)}, but must be true or false; using false.`);
    return false;
  }

  /** How a tag is written into `document`, as the language server writes it (insertStyleOf). */
  insertStyle(document: vscode.TextDocument): InsertStyle {
    const config = vscode.workspace.getConfiguration(SECTION, document);
    const emphasis = parenthesesAreEmphasis(config.get<string>('diagnostics.unescapedParentheses', 'promptFiles'), document.uri.toString());
    return {
      // Anything but the two names is the default, as the language server reads it (and warns about it).
      separator: config.get<string>('insert.style', 'spaces') === 'underscores' ? 'underscores' : 'spaces',
      escapeParentheses: config.get<boolean>('insert.escapeParentheses', true) && emphasis,
      appendComma: config.get<boolean>('insert.appendComma', true),
    };
  }

  /** Where the features apply: the prompt language plus the configured globs and languages. */
  get documentSelector(): DocumentSelector {
    return [
      { language: PROMPT_LANGUAGE },
      ...this.extraLanguages.map((language) => ({ language })),
      ...this.extraFiles.map((pattern) => ({ scheme: 'file', pattern })),
    ];
  }

  /** True when the features apply to this document (prompt language or a configured glob/language). */
  isPrompt(document: vscode.TextDocument): boolean {
    return vscode.languages.match(this.documentSelector as vscode.DocumentSelector, document) > 0;
  }

  needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
    return RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
  }

  /**
   * The files the server may load (model folder, dictionary and translation files) and the folders it
   * lists (wildcards, LoRAs, …): in an untrusted workspace a workspace value is ignored (VS Code does
   * this for restrictedConfigurations too; this keeps it true for every client path), and so is a
   * user setting's relative file path, which would name a file of the untrusted workspace (the model
   * is native code's input). `ignored` hears of each user value left out.
   */
  static trustedPaths(settings: Record<string, unknown>, ignored: (message: string) => void = () => undefined): Record<string, unknown> {
    if (vscode.workspace.isTrusted) return settings;
    const configuration = vscode.workspace.getConfiguration(SECTION);
    const userFile = (key: string): string => {
      const inspected = configuration.inspect<string>(key);
      const value = inspected?.globalValue ?? inspected?.defaultValue ?? '';
      // (`~` and `~/…` are the home folder, as the server reads them; `~foo` is a relative path there.)
      if (typeof value === 'string' && isWorkspaceRelative(value)) {
        ignored(`${SECTION}.${key} is the relative path "${value}", a file of this untrusted workspace: not loaded (the shipped one is) until you trust the workspace or give an absolute path.`);
        return '';
      }
      return value;
    };
    const userFolders = (key: string): unknown => {
      const inspected = configuration.inspect<unknown>(key);
      return inspected?.globalValue ?? inspected?.defaultValue;
    };
    const trusted: Record<string, unknown> = { ...settings };
    for (const key of RESTRICTED_FILES) trusted[key] = userFile(key);
    for (const key of RESTRICTED_FOLDERS) trusted[key] = userFolders(key);
    return trusted;
  }

  private strings(key: string): string[] {
    const value = this.raw.get<unknown>(key, []);
    // A string is a list of one, as the server reads its list settings.
    if (typeof value === 'string') return value.trim() === '' ? [] : [value];
    if (!Array.isArray(value)) {
      this.wrongType(`The setting ${SECTION}.${key} is ${JSON.stringify(value)}, but must be a list of strings; using none.`);
      return [];
    }
    return value.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  }
}
