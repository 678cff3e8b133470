// The translation file of danbooruGpt.translationFile (a tagcomplete translation CSV), loaded once per
// file and version, and what completion and hover take from it. A file that cannot be read, or lines
// that are no translations, are warned about once, naming the file (and the first such line). The
// file is watched: edited on disk, it is read again and the open documents are told (their hints and
// diagnostics asked for again).
import fs from 'node:fs';
import { loadTranslations, type TagTranslations } from '../model/translations';
import { FileWatch } from './fileWatch';
import { resolvePathSetting } from './settings';

export class TranslationHost {
  private loaded: { file: string; mtimeMs: number; size: number; translations: TagTranslations | undefined } | undefined;
  private readonly files: FileWatch;

  /** @param onDidChange called when the loaded file changed on disk (it is read again at the next `get`). */
  constructor(
    private readonly workspaceRoot: () => string | undefined,
    private readonly warn: (problem: string) => void,
    private readonly info: (message: string) => void = () => undefined,
    onDidChange: () => void = () => undefined,
  ) {
    this.files = new FileWatch(onDidChange, info);
  }

  dispose(): void {
    this.files.close();
  }

  /** The translations of the setting's file; undefined when it is empty or the file fails (warned about). */
  get(setting: string): TagTranslations | undefined {
    const file = resolvePathSetting(setting, this.workspaceRoot());
    if (!file) return undefined;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      stat = { mtimeMs: -1, size: -1 } as fs.Stats;
    }
    const loaded = this.loaded;
    if (loaded && loaded.file === file && loaded.mtimeMs === stat.mtimeMs && loaded.size === stat.size) return loaded.translations;
    let translations: TagTranslations | undefined;
    try {
      const started = performance.now();
      const load = loadTranslations(file);
      translations = load.translations;
      this.info(`Loaded the translations of ${translations.size.toLocaleString('en-US')} tags from ${file} in ${Math.round(performance.now() - started)} ms.`);
      if (load.skipped.count > 0) {
        this.warn(`The translation file set in danbooruGpt.translationFile has ${load.skipped.count} line${load.skipped.count === 1 ? '' : 's'} that ${load.skipped.count === 1 ? 'is' : 'are'} not \`tag,translation\` (the first: ${file}:${load.skipped.firstLine}); left out.`);
      }
    } catch (error) {
      this.warn(`The translation file set in danbooruGpt.translationFile could not be loaded: ${error instanceof Error ? error.message : String(error)}.`);
    }
    // A new file only: the watch of this one stays, or an edit that a request read first (this
    // reload) would lose its event, and the editor would not be told.
    if (loaded?.file !== file) this.files.watch([file]);
    this.loaded = { file, mtimeMs: stat.mtimeMs, size: stat.size, translations };
    return translations;
  }
}
