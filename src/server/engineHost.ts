// Owns the engine: loads it once, lazily (on the first document or request), with work-done
// progress and a serverStatus notification. A model that fails to load is reported with the reason
// (naming the file) and the server goes on with dictionary-only completion. A changed model folder,
// dictionary file or thread count reloads it, and so do their files changed on disk (a model
// retrained into its folder, an edited dictionary); files that changed but do not load leave the
// model loaded before in use. A dictionary file that cannot be read is reported the same way and the
// shipped dictionary is used instead.
import path from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { createDictionaryOnlyEngine, defaultModelDir, loadDictionary, loadEngine, type TagDictionary, type TagEngine } from '../model/index';
import { ServerStatusNotification, type ServerStatusParams } from '../protocol';
import { FileWatch } from './fileWatch';
import { resolvePathSetting, type ServerSettings } from './settings';

interface ModelChoice {
  modelDir: string;
  /** undefined: the shipped dictionary. */
  dictionaryFile: string | undefined;
  threads: number | undefined;
}

export class EngineHost {
  private loading: Promise<RetirableEngine> | undefined;
  private choice: ModelChoice | undefined;
  private dictionary: TagDictionary | undefined;
  /** The file `dictionary` was loaded from (undefined: the shipped one). */
  private dictionaryFile: string | undefined;
  /** The dictionary file changed on disk since it was loaded. */
  private dictionaryChanged = false;
  private lastStatus: ServerStatusParams | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly files = new FileWatch((changed) => void this.filesChanged(changed), (message) => this.connection.console.info(message));
  /** Reloads one after the other: a settings change and a file change must not load at once. */
  private reloads: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly serverSettings: () => Promise<ServerSettings>,
    private readonly workspaceRoot: () => string | undefined,
  ) {}

  /** The engine, loading it on first use. Rejects only when even the dictionary cannot be loaded. */
  engine(): Promise<RetirableEngine> {
    this.loading ??= this.load();
    return this.loading;
  }

  /** The last status reported (loading, ready, or the load error). */
  get status(): ServerStatusParams | undefined {
    return this.lastStatus;
  }

  /** Called after each (re)load, so that open documents can be checked again. */
  onDidLoad(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Settings changed: reload when the model folder or the thread count differ from the loaded ones. */
  settingsChanged(): Promise<void> {
    return this.serially(async () => {
      if (!this.loading || !this.choice) return;
      const next = this.choose(await this.serverSettings());
      if (next.modelDir === this.choice.modelDir && next.threads === this.choice.threads && next.dictionaryFile === this.choice.dictionaryFile) return;
      await this.reload(false);
    });
  }

  /** The model folder or the dictionary file changed on disk: loaded again, keeping a working model if the new files fail. */
  private filesChanged(changed: Set<string>): Promise<void> {
    return this.serially(async () => {
      if (!this.loading || !this.choice) return;
      const { dictionaryFile } = this.choice;
      if (dictionaryFile !== undefined && changed.has(path.resolve(dictionaryFile))) this.dictionaryChanged = true;
      this.connection.console.info(`Changed on disk: ${[...changed].join(', ')}. Loading the model again.`);
      await this.reload(true);
    });
  }

  private async reload(keepWorkingModel: boolean): Promise<void> {
    const previous = await this.loading?.catch(() => undefined);
    this.loading = this.load(keepWorkingModel && previous?.model ? previous : undefined);
    const next = await this.loading.catch(() => undefined);
    // The old engine goes away once the requests running on it are done (a long sample among them),
    // without holding up the next reload: a setting changed meanwhile waited for that sample.
    if (previous && previous !== next) void previous.retire().catch(() => undefined);
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.reloads.then(task);
    this.reloads = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    this.files.close();
    const engine = await this.loading?.catch(() => undefined);
    await engine?.dispose();
  }

  private choose(settings: ServerSettings): ModelChoice {
    return {
      modelDir: this.resolveSetting(settings.modelFolder) ?? defaultModelDir(),
      dictionaryFile: this.resolveSetting(settings.dictionaryFile),
      threads: settings.threads > 0 ? settings.threads : undefined,
    };
  }

  /** A path setting: '' = undefined (the shipped file), `~/` = home, relative = the workspace's. */
  private resolveSetting(value: string): string | undefined {
    return resolvePathSetting(value, this.workspaceRoot());
  }

  /**
   * The dictionary of the choice, loaded when it changed. A chosen file that fails falls back to the
   * shipped dictionary; the returned message says why (undefined when all went as chosen).
   */
  private async chooseDictionary(file: string | undefined): Promise<{ dictionary: TagDictionary; problem?: string }> {
    if (this.dictionary && this.dictionaryFile === file && !this.dictionaryChanged) return { dictionary: this.dictionary };
    this.dictionaryChanged = false;
    let problem: string | undefined;
    if (file !== undefined) {
      try {
        this.dictionary = await loadDictionary(file);
        this.dictionaryFile = file;
        return { dictionary: this.dictionary };
      } catch (error) {
        problem = `The dictionary file set in danbooruGpt.dictionaryFile could not be loaded: ${error instanceof Error ? error.message : String(error)}. The shipped dictionary is used instead.`;
      }
    }
    if (!this.dictionary || this.dictionaryFile !== undefined) {
      this.dictionary = await loadDictionary();
      this.dictionaryFile = undefined;
    }
    return { dictionary: this.dictionary, problem };
  }

  /** @param working the engine to keep when the model fails to load (its files changed on disk but do not load). */
  private async load(working?: RetirableEngine): Promise<RetirableEngine> {
    const choice = this.choose(await this.serverSettings());
    this.choice = choice;
    this.report({ health: 'warning', loading: true, message: `Loading the tag model from ${choice.modelDir}…` });
    const progress = await this.connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin('Danbooru GPT', undefined, 'Loading the tag model…');
    const started = performance.now();
    let dictionaryProblem: string | undefined;
    try {
      const { dictionary, problem } = await this.chooseDictionary(choice.dictionaryFile);
      dictionaryProblem = problem;
      const engine = await loadEngine({ modelDir: choice.modelDir, threads: choice.threads, dictionary });
      const name = engine.model?.name ?? path.basename(choice.modelDir);
      const ms = Math.round(performance.now() - started);
      const source = this.dictionaryFile ? ` from ${this.dictionaryFile}` : '';
      // The folder last: a long path cut off at the end of a one-line view loses the least.
      const loaded = `Model ${name}${kindOf(engine.model)} loaded in ${ms} ms (${dictionary.size.toLocaleString('en-US')} dictionary tags${source}) from ${choice.modelDir}.`;
      // The model works and so does the shipped dictionary: a warning (yellow), not an error (red).
      if (problem) this.report({ health: 'warning', loading: false, model: name, message: `${problem} ${loaded}` });
      else this.report({ health: 'ok', loading: false, model: name, message: loaded });
      return new RetirableEngine(engine);
    } catch (error) {
      // (onnxruntime's own messages end in a period: `Protobuf parsing failed.` was followed by another.)
      const reason = (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
      if (!this.dictionary) {
        this.report({ health: 'error', loading: false, message: `The tag dictionary could not be loaded: ${reason}` });
        throw error;
      }
      const prefix = dictionaryProblem ? `${dictionaryProblem} ` : '';
      if (working?.model) {
        // Half-written files (training still exporting) or a bad export: the model in memory still works.
        this.report({ health: 'warning', loading: false, model: working.model.name, message: `${prefix}The files in ${choice.modelDir} changed on disk and could not be loaded: ${reason}. The model loaded before is still in use; it is loaded again when the files change.` });
        return working;
      }
      this.report({ health: 'error', loading: false, message: `${prefix}The model in ${choice.modelDir} could not be loaded: ${reason}. Completion uses the tag dictionary only (ranked by post count).` });
      return new RetirableEngine(createDictionaryOnlyEngine(this.dictionary));
    } finally {
      // `onnx/` too: a Hugging Face export keeps its model there, and a folder's watch does not see into the one below.
      const watched = [choice.modelDir, path.join(choice.modelDir, 'onnx')];
      if (choice.dictionaryFile !== undefined) watched.push(choice.dictionaryFile);
      this.files.watch(watched);
      progress?.done();
      for (const listener of this.listeners) listener();
      // After the load's answers: the index the first typo would otherwise build on a keystroke.
      const dictionary = this.dictionary;
      setTimeout(() => dictionary?.prepareTypoSearch?.(), PREPARE_AFTER_LOAD_MS);
    }
  }

  private report(status: ServerStatusParams): void {
    this.lastStatus = status;
    // The client logs window/logMessage at its level and does not log the status again.
    if (status.health === 'error') this.connection.console.error(status.message);
    else if (status.health === 'warning' && !status.loading) this.connection.console.warn(status.message);
    else this.connection.console.info(status.message);
    void this.connection.sendNotification(ServerStatusNotification, status);
  }
}

/**
 * How the model reads tags, for the status: a folder dropped in is read as one kind or the other by
 * its tokenizer, and a user wants to see which.
 */
function kindOf(model: TagEngine['model']): string {
  if (!model) return '';
  return model.kind === 'bpe' ? ' (byte-level BPE: a tag spans several tokens)' : ' (one token per tag)';
}

/** How long after a load the dictionary's typo index is built (the first checks and answers go first). */
const PREPARE_AFTER_LOAD_MS = 200;

/**
 * An engine that counts its running calls, so that a changed model folder disposes it only when the
 * requests that began on it are done: a sample that outlasts loading the new model would otherwise
 * fail with "the model session was released".
 */
class RetirableEngine implements TagEngine {
  private running = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly inner: TagEngine) {}

  get dictionary(): TagDictionary {
    return this.inner.dictionary;
  }

  get model(): TagEngine['model'] {
    return this.inner.model;
  }

  complete(...args: Parameters<TagEngine['complete']>): ReturnType<TagEngine['complete']> {
    return this.track(() => this.inner.complete(...args));
  }

  nextTags(...args: Parameters<TagEngine['nextTags']>): ReturnType<TagEngine['nextTags']> {
    return this.track(() => this.inner.nextTags(...args));
  }

  sample(...args: Parameters<TagEngine['sample']>): ReturnType<TagEngine['sample']> {
    return this.track(() => this.inner.sample(...args));
  }

  unseenTags(context: string[]): string[] {
    return this.inner.unseenTags(context);
  }

  unmatchedBans(patterns: readonly string[]): string[] {
    return this.inner.unmatchedBans(patterns);
  }

  bannedTest(patterns: readonly string[]): (tag: string) => boolean {
    return this.inner.bannedTest(patterns);
  }

  /** Disposes the engine when no call runs on it any more. */
  async retire(): Promise<void> {
    while (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.inner.dispose();
  }

  /** Disposes the engine now (shutdown: running calls fail). */
  dispose(): Promise<void> {
    return this.inner.dispose();
  }

  private async track<T>(call: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await call();
    } finally {
      if (--this.running === 0) this.idle?.();
    }
  }
}
