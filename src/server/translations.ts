// The translation files of danbooruGpt.translationFile (tagcomplete translation CSVs), each loaded once
// per file and version, and what completion and hover take from them. A file that cannot be read, or
// lines that are no translations, are warned about once, naming the file (and the first such line).
// The files are watched: one edited on disk is read again and the open documents are told (their
// hints and diagnostics asked for again).
import fs from 'node:fs';
import { loadTranslations, type TagTranslations } from '../model/translations';
import { FileWatch } from './fileWatch';
import { resolvePathSetting } from './settings';

/**
 * Translation files kept loaded, the least recently asked for dropped first. A multi-root workspace's
 * folders may each set their own (the setting is machine-overridable): with one kept, moving between
 * two folders' documents read a 100,000-line file again on every request. A few only: each holds
 * its whole file in memory.
 */
export const KEPT_TRANSLATION_FILES = 4;

interface LoadedTranslations {
  mtimeMs: number;
  size: number;
  translations: TagTranslations | undefined;
  /**
   * Made when the file is first loaded and held while it is kept, not made again at a reload: a new
   * watch would lose the event of an edit that a request read first, and the editor would not be told.
   */
  watch: FileWatch;
}

export class TranslationHost {
  /** By path, in the order they were last asked for (the most recent last). */
  private readonly loaded = new Map<string, LoadedTranslations>();

  /** @param onDidChange called when a loaded file changed on disk (it is read again at the next `get`). */
  constructor(
    private readonly workspaceRoot: () => string | undefined,
    private readonly warn: (problem: string) => void,
    private readonly info: (message: string) => void = () => undefined,
    private readonly onDidChange: () => void = () => undefined,
  ) {}

  dispose(): void {
    for (const { watch } of this.loaded.values()) watch.close();
    this.loaded.clear();
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
    const kept = this.loaded.get(file);
    if (kept) {
      // Put back last: a Map keeps insertion order, so the first entry is the least recently asked for.
      this.loaded.delete(file);
      this.loaded.set(file, kept);
      if (kept.mtimeMs === stat.mtimeMs && kept.size === stat.size) return kept.translations;
    }
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
    let watch = kept?.watch;
    if (!watch) {
      watch = new FileWatch(() => this.onDidChange(), this.info);
      watch.watch([file]);
    }
    this.loaded.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, translations, watch });
    for (const [leastRecent, dropped] of this.loaded) {
      if (this.loaded.size <= KEPT_TRANSLATION_FILES) break;
      dropped.watch.close();
      this.loaded.delete(leastRecent);
    }
    return translations;
  }
}
