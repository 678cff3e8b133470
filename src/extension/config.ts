// Typed access to the `danbooruGpt.*` settings the client itself uses, and which changes need the
// language client restarted (the document selector). Everything else is read by the server per
// document through workspace/configuration and applies without a restart.
import * as vscode from 'vscode';
import type { DocumentSelector } from 'vscode-languageclient/node';
import type { InsertStyle } from '../prompt/insertStyle';

export const SECTION = 'danbooruGpt';
export const PROMPT_LANGUAGE = 'danbooru-prompt';

/** What the Related Tags view says while no prompt is in front. */
export const NO_PROMPT_MESSAGE = 'Put the cursor in a prompt file to see the tags likely next.';

/** Settings whose change restarts the language client. */
const RESTART_KEYS = ['extraFiles', 'extraLanguages'];

export class Config {
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
    return this.raw.get<boolean>('inlineSuggestions.enabled', false);
  }

  insertStyle(scope?: vscode.ConfigurationScope): InsertStyle {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return {
      // Anything but the two names is the default, as the language server reads it (and warns about it).
      separator: config.get<string>('insert.style', 'spaces') === 'underscores' ? 'underscores' : 'spaces',
      escapeParentheses: config.get<boolean>('insert.escapeParentheses', true),
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

  needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
    return RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
  }

  /**
   * The files the server may load (model folder, dictionary and translation files): in an untrusted workspace a
   * workspace value is ignored (VS Code does this for restrictedConfigurations too; this keeps it
   * true for every client path).
   */
  static trustedPaths(settings: Record<string, unknown>): Record<string, unknown> {
    if (vscode.workspace.isTrusted) return settings;
    const configuration = vscode.workspace.getConfiguration(SECTION);
    const userValue = (key: string): string => {
      const inspected = configuration.inspect<string>(key);
      return inspected?.globalValue ?? inspected?.defaultValue ?? '';
    };
    return { ...settings, modelFolder: userValue('modelFolder'), dictionaryFile: userValue('dictionaryFile'), translationFile: userValue('translationFile') };
  }

  private strings(key: string): string[] {
    const value = this.raw.get<unknown>(key, []);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.trim() !== '') : [];
  }
}
