// The tags the user picked from the completion list, remembered across sessions, so that their own
// habits rank a little higher (a1111 tagcomplete's usage-frequency sorting, which PYS #404 asks for).
// A pick counts 1 and fades by half every PICK_HALF_LIFE_DAYS; a picked tag's completion score gains
// weight · ln(1 + its faded picks) (danbooruGpt.completion.pickedTagWeight; the model's scores are
// natural-log probabilities, so weight 1 ranks a tag picked once as if twice as likely, picked nine
// times as if ten times). There is no data of one user's picks to tune the weight on: 1 is a choice,
// and 0 turns it off.
//
// The file (in the extension's global storage) is shared by every window: picks are kept as pending
// until written, and writing re-reads the file and adds them to what is there, holding a lock file, so
// that two windows' picks both count. Written to a temporary file and renamed; a file that cannot be
// read is kept aside (`.bad`), never overwritten.
import fs from 'node:fs';
import path from 'node:path';
import { normalizeTag } from '../model/index';
import type { PickedTagInfo } from '../protocol';

export const PICK_HALF_LIFE_DAYS = 30;
const HALF_LIFE_MS = PICK_HALF_LIFE_DAYS * 24 * 60 * 60 * 1000;
/** Tags kept at most (the most picked); a pick that has faded below FADED_OUT is forgotten. */
const MAX_TAGS = 2000;
const FADED_OUT = 0.05;
/** How long after a pick the file is written: picks in a row are written once. */
const WRITE_DELAY_MS = 1000;
const FORMAT_VERSION = 1;
/** How long one bonus map is handed out while nothing is picked. */
const BONUS_KEPT_MS = 60_000;

export interface PickedTag {
  /** Picks, each faded by its age, as of `at`. */
  picks: number;
  /** When last picked (ms since the epoch). */
  at: number;
  /** Every pick, unfaded: what the completion list shows. */
  total: number;
}

type Picks = Map<string, PickedTag>;

export class PickedTags {
  /** As last read from or written to the file, with `pending` applied. */
  private picks: Picks = new Map();
  /** Picks not written yet: [tag, when]. */
  private pending: [string, number][] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Counts changes to `picks` (a pick, Forget), for the bonus memo. */
  private version = 0;
  private bonusMemo: { bonus: ReadonlyMap<string, number>; picks: Picks; version: number; weight: number; at: number } | undefined;
  private writing: Promise<void> = Promise.resolve();

  /** `file` undefined: picks count for this session only (a client that gives no storage). */
  constructor(
    private readonly file: string | undefined,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    if (file) this.picks = this.read(file);
  }

  /** The user picked `tag` (its canonical name) from a completion list. */
  record(tag: string): void {
    const name = normalizeTag(tag);
    if (!name) return;
    const at = this.now();
    addPick(this.picks, name, at);
    this.version++;
    if (!this.file) return;
    this.pending.push([name, at]);
    this.timer ??= setTimeout(() => void this.flush(), WRITE_DELAY_MS);
  }

  /** How many times the tag was picked, unfaded (0 when never). */
  total(tag: string): number {
    return this.picks.get(normalizeTag(tag))?.total ?? 0;
  }

  /**
   * Each picked tag's completion bonus, weight · ln(1 + faded picks); empty for weight 0. The same map
   * until a pick changes, the weight changes or a minute passes (fading is slow), so that an engine
   * can remember what it looked up for it.
   */
  bonus(weight: number): ReadonlyMap<string, number> {
    const now = this.now();
    const memo = this.bonusMemo;
    if (memo && memo.picks === this.picks && memo.version === this.version && memo.weight === weight && now - memo.at < BONUS_KEPT_MS) return memo.bonus;
    const bonus = new Map<string, number>();
    if (weight > 0) for (const [name, pick] of this.picks) bonus.set(name, weight * Math.log1p(faded(pick, now)));
    this.bonusMemo = { bonus, picks: this.picks, version: this.version, weight, at: now };
    return bonus;
  }

  get size(): number {
    return this.picks.size;
  }

  /** The picked tags, the most picked (faded) first. */
  list(): PickedTagInfo[] {
    const now = this.now();
    return [...this.picks]
      .map(([tag, pick]) => ({ tag, total: pick.total, picks: faded(pick, now), lastPicked: pick.at }))
      .sort((a, b) => b.picks - a.picks || (a.tag < b.tag ? -1 : 1))
      .map(({ tag, total, lastPicked }) => ({ tag, total, lastPicked }));
  }

  /**
   * Forgets the picks of `tags` (any spelling), or every pick when `tags` is undefined, this window's
   * and the file's; returns how many of them were remembered.
   */
  async forget(tags?: readonly string[]): Promise<number> {
    const names = tags === undefined ? undefined : new Set(tags.map(normalizeTag));
    const forgotten = names === undefined ? this.picks.size : [...names].filter((name) => this.picks.has(name)).length;
    const drop = (picks: Picks): void => {
      if (names === undefined) picks.clear();
      else for (const name of names) picks.delete(name);
    };
    drop(this.picks);
    this.pending = names === undefined ? [] : this.pending.filter(([name]) => !names.has(name));
    this.version++;
    if (this.file) {
      if (this.pending.length === 0) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      await this.rewrite(this.file, drop);
    }
    return forgotten;
  }

  /** Writes the pending picks now (on shutdown, and after WRITE_DELAY_MS). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const file = this.file;
    if (!file || this.pending.length === 0) return this.writing;
    const pending = this.pending;
    this.pending = [];
    return this.rewrite(file, (picks) => {
      for (const [name, at] of pending) addPick(picks, name, at);
    });
  }

  /**
   * Changes the file, after the writes queued before: what other windows wrote since is read, `change`
   * applied, the result written, all holding the lock; this window's view is then the file's with the
   * picks made meanwhile (still pending) on top.
   */
  private rewrite(file: string, change: (picks: Picks) => void): Promise<void> {
    this.writing = this.writing.then(() =>
      withFileLock(file, async () => {
        const merged = fs.existsSync(file) ? this.read(file) : new Map<string, PickedTag>();
        change(merged);
        await this.write(file, merged);
        this.picks = merged;
        for (const [name, at] of this.pending) addPick(this.picks, name, at);
        this.version++;
      }, this.warn),
    );
    return this.writing;
  }

  private read(file: string): Picks {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      // Absent (ENOTDIR: its folder is a file, which writing will report) is a first start.
      if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) this.warn(`Picked tags: cannot read ${file}: ${(err as Error).message}`);
      return new Map();
    }
    try {
      return parsePicks(text);
    } catch (err) {
      // Kept for the user to look at: a new file starts beside it.
      const aside = `${file}.bad`;
      try {
        fs.renameSync(file, aside);
      } catch {
        // left where it is; it will be read (and found bad) again
      }
      this.warn(`Picked tags: ${file} is not a picked-tags file (${(err as Error).message}); moved to ${aside}, starting afresh.`);
      return new Map();
    }
  }

  private async write(file: string, picks: Picks): Promise<void> {
    const now = this.now();
    const kept = [...picks].filter(([, pick]) => faded(pick, now) >= FADED_OUT);
    kept.sort((a, b) => faded(b[1], now) - faded(a[1], now) || (a[0] < b[0] ? -1 : 1));
    const tags: Record<string, PickedTag> = {};
    for (const [name, pick] of kept.slice(0, MAX_TAGS)) tags[name] = pick;
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await fs.promises.writeFile(temporary, `${JSON.stringify({ version: FORMAT_VERSION, halfLifeDays: PICK_HALF_LIFE_DAYS, tags }, null, 1)}\n`);
      await fs.promises.rename(temporary, file);
    } catch (err) {
      await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
      this.warn(`Picked tags: cannot write ${file}: ${(err as Error).message}`);
    }
  }
}

/** How long a lock is waited for, and after how long one is taken as left behind (a crashed window). */
const LOCK_WAIT_MS = 2000;
const LOCK_STALE_MS = 10_000;

/**
 * Runs `body` holding `FILE.lock` (created exclusively), so that two windows' read-merge-write of the
 * shared file do not interleave and lose one's picks. A lock older than LOCK_STALE_MS is taken over; one
 * not freed within LOCK_WAIT_MS is warned about and `body` runs anyway (a pick lost is better than none kept).
 */
async function withFileLock(file: string, body: () => Promise<void>, warn: (message: string) => void): Promise<void> {
  const lock = `${file}.lock`;
  await fs.promises.mkdir(path.dirname(file), { recursive: true }).catch(() => undefined);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let held = false;
  for (;;) {
    try {
      await (await fs.promises.open(lock, 'wx')).close();
      held = true;
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') break;
      const age = Date.now() - ((await fs.promises.stat(lock).catch(() => undefined))?.mtimeMs ?? 0);
      if (age > LOCK_STALE_MS) await fs.promises.rm(lock, { force: true }).catch(() => undefined);
      else if (Date.now() > deadline) {
        warn(`Picked tags: ${lock} was not freed within ${LOCK_WAIT_MS / 1000} s; writing ${file} without it.`);
        break;
      } else await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    await body();
  } finally {
    if (held) await fs.promises.rm(lock, { force: true }).catch(() => undefined);
  }
}

/** A pick's faded count as of `now`. */
function faded(pick: PickedTag, now: number): number {
  return pick.picks * 0.5 ** (Math.max(0, now - pick.at) / HALF_LIFE_MS);
}

/** Adds a pick made at `at` (possibly before the tag's last one, from another window): each faded by its own age. */
function addPick(picks: Picks, name: string, at: number): void {
  const before = picks.get(name);
  if (!before) {
    picks.set(name, { picks: 1, at, total: 1 });
    return;
  }
  const latest = Math.max(at, before.at);
  picks.set(name, { picks: faded(before, latest) + faded({ picks: 1, at, total: 1 }, latest), at: latest, total: before.total + 1 });
}

/** The file's picks; throws with the reason when it is not one. */
export function parsePicks(text: string): Picks {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('expected a JSON object');
  const { version, tags } = raw as { version?: unknown; tags?: unknown };
  if (version !== FORMAT_VERSION) throw new Error(`version ${JSON.stringify(version)}, expected ${FORMAT_VERSION}`);
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw new Error('"tags" is not an object');
  const picks: Picks = new Map();
  for (const [name, value] of Object.entries(tags as Record<string, unknown>)) {
    const { picks: count, at, total } = (value ?? {}) as Record<string, unknown>;
    if (typeof count !== 'number' || !(count > 0) || typeof at !== 'number' || !Number.isFinite(at) || typeof total !== 'number' || !(total >= 1)) {
      throw new Error(`"${name}" is not { picks, at, total }`);
    }
    picks.set(normalizeTag(name), { picks: count, at, total: Math.round(total) });
  }
  return picks;
}
