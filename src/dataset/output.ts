// Writer stage: a temporary file beside the target, renamed over it only when complete, removed on
// error or cancellation; lines are batched into large writes and the caller waits on backpressure.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

const BATCH_BYTES = 1 << 20;

/**
 * This machine, as temporary names carry it: a folder shared with another machine holds its runs' too.
 * A hash of its whole name (names cut short or of other scripts would meet: two pods of one deployment).
 */
const HOST = crypto.createHash('sha256').update(os.hostname()).digest('hex').slice(0, 12);

/**
 * A temporary file untouched this long is stale even where its process seems gone: a run in another
 * process namespace of the same machine name (a container) writes its file all the time.
 */
const STALE_AFTER_MS = 10 * 60_000;

/**
 * The stem of this run's temporary files beside `target` (`.NAME.HOST-PID-RANDOM`): what
 * removeStaleTempFiles knows again once the process is gone.
 */
export function tempStem(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${HOST}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

/**
 * Temporary files of `target` (its stem's, tempStem) left by a run of this machine whose process is
 * gone (a window reloaded mid-way, a run the OOM killer ended) and untouched for 10 minutes: each held
 * part of a dataset, GBs for a dump, that no run would reuse. Files of a running process, or of another
 * machine (a shared folder, where this one cannot tell), are left. Returns the files removed.
 */
export async function removeStaleTempFiles(target: string): Promise<string[]> {
  const prefix = `.${path.basename(target)}.${HOST}-`;
  let names: string[];
  try {
    names = await fs.promises.readdir(path.dirname(target));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-[0-9a-f]{8}(?:\.|$)/.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined || isRunning(Number(pid))) continue;
    const file = path.join(path.dirname(target), name);
    try {
      if (Date.now() - (await fs.promises.stat(file)).mtimeMs < STALE_AFTER_MS) continue;
      await fs.promises.unlink(file);
      removed.push(file);
    } catch {
      // gone meanwhile, or not ours to remove: left
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: running, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class AtomicFile {
  // Lines are encoded straight into a batch buffer: cheaper than concatenating strings and encoding them on write.
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private finished = false;
  private closed = false;

  private constructor(
    readonly target: string,
    readonly tempPath: string,
    private readonly stream: fs.WriteStream,
  ) {
    // A failed write (a full disk) is read from `stream.errored` by drain() and commit(), which name the
    // target; unheard, the stream's error event would end the process.
    stream.on('error', () => undefined);
  }

  static async create(target: string): Promise<AtomicFile> {
    const tempPath = `${tempStem(target)}.tmp`;
    return AtomicFile.createAt(target, tempPath);
  }

  /** With a temporary path chosen by the caller (who then can remove it even if this thread dies). */
  static async createAt(target: string, tempPath: string): Promise<AtomicFile> {
    const stream = fs.createWriteStream(tempPath, { flags: 'wx' });
    try {
      await once(stream, 'open');
    } catch (error) {
      // Named by the file asked for: the temporary one beside it is ours (its folder is what is not writable).
      throw new Error(`cannot write ${target}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return new AtomicFile(target, tempPath, stream);
  }

  /** Queues one line (the newline is added). Call `drain()` now and then to honour backpressure. */
  writeLine(line: string): void {
    // 3 bytes per UTF-16 unit is the most UTF-8 needs, plus the newline.
    if (this.used + line.length * 3 + 1 > this.batch.length) {
      this.flushBatch();
      if (line.length * 3 + 1 > this.batch.length) this.batch = Buffer.allocUnsafe(line.length * 3 + 1);
    }
    this.used += this.batch.write(line, this.used, 'utf8');
    this.batch[this.used++] = 10;
  }

  needsDrain(): boolean {
    return this.stream.writableNeedDrain || this.stream.errored !== null;
  }

  /** Queues bytes already encoded (whole lines, newline included). */
  writeBytes(source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.used + length > this.batch.length) {
      this.flushBatch();
      if (length > this.batch.length) this.batch = Buffer.allocUnsafe(length);
    }
    source.copy(this.batch, this.used, start, end);
    this.used += length;
  }

  /** Waits while the file is behind; rethrows a write error. */
  async drain(): Promise<void> {
    try {
      if (this.stream.errored) throw this.stream.errored;
      if (this.stream.writableNeedDrain) await once(this.stream, 'drain');
    } catch (error) {
      throw new Error(`cannot write ${this.target}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** Writes what is queued, closes the file and renames it over the target (keeping the target's permissions, as `sed -i` does). */
  async commit(): Promise<void> {
    await this.close();
    const existing = await fs.promises.stat(this.target).catch(() => undefined);
    if (existing?.isFile()) await fs.promises.chmod(this.tempPath, existing.mode & 0o7777);
    await fs.promises.rename(this.tempPath, this.target);
    this.finished = true;
  }

  /**
   * Commits files that belong together (a dataset and its count table): all are written and closed
   * before any is renamed, so a write that fails (a full disk) leaves every target as it was.
   */
  static async commitTogether(files: readonly AtomicFile[]): Promise<void> {
    for (const file of files) await file.close();
    for (const file of files) await file.commit();
  }

  /** Writes what is queued and closes the temporary file; a write error names the target. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.flushBatch();
    try {
      // A write that failed before (a full disk) has destroyed the stream: end's callback gets its error.
      if (this.stream.errored) throw this.stream.errored;
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject);
        this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
      if (!this.stream.closed) await once(this.stream, 'close');
    } catch (error) {
      throw new Error(`cannot write ${this.target}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.closed = true;
  }

  /** Closes and removes the temporary file; the target is left as it was. */
  async discard(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.used = 0;
    if (!this.stream.closed) {
      this.stream.destroy();
      await once(this.stream, 'close').catch(() => undefined);
    }
    await fs.promises.rm(this.tempPath, { force: true });
  }

  private flushBatch(): void {
    if (this.used === 0) return;
    // The stream keeps the written buffer until it is on disk, so the next lines go to a new one.
    this.stream.write(this.batch.subarray(0, this.used));
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
  }
}
