// Owns the engine: loads it once, lazily (on the first document or request), with work-done
// progress and a serverStatus notification. A model that fails to load is reported with the reason
// (naming the file) and the server goes on with dictionary-only completion. A changed model folder or
// thread count reloads it.
import os from 'node:os';
import path from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { createDictionaryOnlyEngine, defaultModelDir, loadDictionary, loadEngine, type TagDictionary, type TagEngine } from '../model/index';
import { ServerStatusNotification, type ServerStatusParams } from '../protocol';
import type { ServerSettings } from './settings';

interface ModelChoice {
  modelDir: string;
  threads: number | undefined;
}

export class EngineHost {
  private loading: Promise<TagEngine> | undefined;
  private choice: ModelChoice | undefined;
  private dictionary: TagDictionary | undefined;
  private lastStatus: ServerStatusParams | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly serverSettings: () => Promise<ServerSettings>,
    private readonly workspaceRoot: () => string | undefined,
  ) {}

  /** The engine, loading it on first use. Rejects only when even the dictionary cannot be loaded. */
  engine(): Promise<TagEngine> {
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
  async settingsChanged(): Promise<void> {
    if (!this.loading || !this.choice) return;
    const next = this.choose(await this.serverSettings());
    if (next.modelDir === this.choice.modelDir && next.threads === this.choice.threads) return;
    const previous = this.loading;
    this.loading = this.load();
    await this.loading.catch(() => undefined);
    // Requests that began on the old engine had the whole load to finish before it goes away.
    await previous.then((engine) => engine.dispose()).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    const engine = await this.loading?.catch(() => undefined);
    await engine?.dispose();
  }

  private choose(settings: ServerSettings): ModelChoice {
    let folder = settings.modelFolder.trim();
    if (folder === '') folder = defaultModelDir();
    else if (folder === '~' || folder.startsWith('~/')) folder = path.join(os.homedir(), folder.slice(1));
    else if (!path.isAbsolute(folder)) folder = path.resolve(this.workspaceRoot() ?? process.cwd(), folder);
    return { modelDir: folder, threads: settings.threads > 0 ? settings.threads : undefined };
  }

  private async load(): Promise<TagEngine> {
    const choice = this.choose(await this.serverSettings());
    this.choice = choice;
    this.report({ health: 'warning', loading: true, message: `Loading the tag model from ${choice.modelDir}…` });
    const progress = await this.connection.window.createWorkDoneProgress().catch(() => undefined);
    progress?.begin('Danbooru GPT', undefined, 'Loading the tag model…');
    const started = performance.now();
    try {
      this.dictionary ??= await loadDictionary();
      const engine = await loadEngine({ modelDir: choice.modelDir, threads: choice.threads, dictionary: this.dictionary });
      const name = engine.model?.name ?? path.basename(choice.modelDir);
      const ms = Math.round(performance.now() - started);
      this.report({ health: 'ok', loading: false, model: name, message: `Model ${name} loaded from ${choice.modelDir} in ${ms} ms (${this.dictionary.size} dictionary tags).` });
      return engine;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.dictionary) {
        this.report({ health: 'error', loading: false, message: `The tag dictionary could not be loaded: ${reason}` });
        throw error;
      }
      this.report({ health: 'error', loading: false, message: `The model in ${choice.modelDir} could not be loaded: ${reason}. Completion uses the tag dictionary only (ranked by post count).` });
      return createDictionaryOnlyEngine(this.dictionary);
    } finally {
      progress?.done();
      for (const listener of this.listeners) listener();
    }
  }

  private report(status: ServerStatusParams): void {
    this.lastStatus = status;
    if (status.health === 'error') this.connection.console.error(status.message);
    else this.connection.console.info(status.message);
    void this.connection.sendNotification(ServerStatusNotification, status);
  }
}
