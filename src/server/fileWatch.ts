// Watches the files the server loaded (the model folder, the dictionary file, the translation file)
// so that a retrained model or an edited file applies without a restart, as rust-analyzer reloads a
// workspace whose Cargo.toml changed. Folders are watched, never files: training and editors write a
// new file and rename it over the old one, which ends a watch held on the old file. A path that does
// not exist yet is watched for in its folder, so a model folder that training is about to write
// loads once it appears. Changes are reported once the paths have been quiet for a while: a model
// folder is written file by file.
import fs from 'node:fs';
import path from 'node:path';

/** How long the watched paths must be quiet before a change is reported. */
export const QUIET_MS = 1000;

export class FileWatch {
  private watchers: fs.FSWatcher[] = [];
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param onChange called with the watched paths that changed, once they have been quiet for `quietMs`.
   * @param log told when a folder cannot be watched (the reload then needs a restart, as before).
   */
  constructor(
    private readonly onChange: (changed: Set<string>) => void,
    private readonly log: (message: string) => void = () => undefined,
    private readonly quietMs = QUIET_MS,
  ) {}

  /**
   * Watches these paths (files or folders) instead of those watched before. Called again after a
   * reload even for the same paths: a folder deleted and written anew needs a new watch.
   */
  watch(paths: readonly string[]): void {
    this.unwatch();
    // Each watched folder's entries, and the path each concerns ('' = any entry: the path is that folder).
    const folders = new Map<string, Map<string, string>>();
    const concern = (folder: string, entry: string, owner: string): void => {
      const entries = folders.get(folder) ?? new Map<string, string>();
      entries.set(entry, owner);
      folders.set(folder, entries);
    };
    for (const each of new Set(paths.map((one) => path.resolve(one)))) {
      if (isFolder(each)) concern(each, '', each);
      // A file, or a folder replaced or not there yet: its entry in the folder above.
      concern(path.dirname(each), path.basename(each), each);
    }
    for (const [folder, entries] of folders) {
      try {
        const watcher = fs.watch(folder, { persistent: false }, (_event, name) => {
          const whole = entries.get('');
          if (whole !== undefined) this.changed(whole);
          const owner = typeof name === 'string' && name ? entries.get(name) : undefined;
          if (owner !== undefined) this.changed(owner);
          // No name given (some platforms): anything in the folder may have changed.
          else if (!name) for (const each of entries.values()) this.changed(each);
        });
        watcher.on('error', (error) => this.log(`Stopped watching ${folder} for changes: ${error.message}`));
        this.watchers.push(watcher);
      } catch (error) {
        // A missing folder, or the system's limit of watches reached: changes there need a restart.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`Cannot watch ${folder} for changes: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  close(): void {
    this.unwatch();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private unwatch(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private changed(owner: string): void {
    this.pending.add(owner);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const changed = new Set(this.pending);
      this.pending.clear();
      this.onChange(changed);
    }, this.quietMs);
    this.timer.unref();
  }
}

/**
 * Whether the path is a folder; false when it cannot be looked at: a path under a file (ENOTDIR) or
 * in a folder not ours to read (EACCES) threw here, which ended the server (a translationFile) or
 * every later request (a modelFolder naming the .onnx file).
 */
function isFolder(file: string): boolean {
  try {
    return fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}
