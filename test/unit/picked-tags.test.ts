// Picked tags: the store the language server keeps (pickedTags.ts), and the completion bonus every
// engine adds to a picked tag's score.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDictionary, loadEngine, type TagEngine } from '../../src/model/index';
import { describeEveryEngine } from './engines';
import { PICK_HALF_LIFE_DAYS, PickedTags, parsePicks } from '../../src/server/pickedTags';

const dictionary = loadDictionary();
const fixtures = path.join(__dirname, '..', 'fixtures', 'models');
const DAY = 24 * 60 * 60 * 1000;

/** Runs `body` with a new temporary folder, removed afterwards whatever happens. */
async function inTemporaryFolder(body: (folder: string) => Promise<void>): Promise<void> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-picks-'));
  try {
    await body(folder);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** A clock the test moves. */
function clock(start = Date.UTC(2026, 11, 7)): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

describe('picked tags: the store', () => {
  test('a pick counts 1 and fades by half every half-life; the bonus is weight · ln(1 + faded picks)', () => {
    const time = clock();
    const picks = new PickedTags(undefined, assert.fail, time.now);
    assert.equal(picks.bonus(1).size, 0);
    picks.record('Long Hair');
    assert.equal(picks.total('long_hair'), 1);
    assert.ok(Math.abs(picks.bonus(1).get('long_hair')! - Math.log(2)) < 1e-12);
    assert.ok(Math.abs(picks.bonus(2.5).get('long_hair')! - 2.5 * Math.log(2)) < 1e-12);
    // 30 days, as README and the setting's description say (not the constant: it would pass any half-life).
    assert.equal(PICK_HALF_LIFE_DAYS, 30);
    time.advance(30 * DAY);
    assert.ok(Math.abs(picks.bonus(1).get('long_hair')! - Math.log(1.5)) < 1e-12);
    picks.record('long_hair');
    assert.equal(picks.total('long hair'), 2, 'the total is not faded: it is what the list shows');
    assert.ok(Math.abs(picks.bonus(1).get('long_hair')! - Math.log(2.5)) < 1e-12);
    assert.equal(picks.bonus(0).size, 0, 'weight 0: no bonus at all');
    // One map while nothing changes (engines remember their lookups by it); a pick makes a new one.
    const kept = picks.bonus(1);
    time.advance(1000);
    assert.equal(picks.bonus(1), kept);
    assert.equal(picks.total('smile'), 0);
    picks.record('smile');
    assert.notEqual(picks.bonus(1), kept);
    assert.ok(picks.bonus(1).has('smile'));
  });

  test('picks are written to the file and read back; two windows sharing it keep both their picks', async () => {
    await inTemporaryFolder(async (folder) => {
      const file = path.join(folder, 'storage', 'picked-tags.json');
      const time = clock();
      const first = new PickedTags(file, assert.fail, time.now);
      const second = new PickedTags(file, assert.fail, time.now);
      first.record('long_hair');
      first.record('smile');
      second.record('long_hair');
      second.record('open_mouth');
      await first.flush();
      await second.flush();
      const reread = new PickedTags(file, assert.fail, time.now);
      assert.deepEqual(['long_hair', 'smile', 'open_mouth', 'sky'].map((tag) => reread.total(tag)), [2, 1, 1, 0]);
      assert.deepEqual(['long_hair', 'smile', 'open_mouth'].map((tag) => second.total(tag)), [2, 1, 1], 'the window that wrote last knows both');
      const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; tags: Record<string, unknown> };
      assert.equal(written.version, 1);
      assert.deepEqual(Object.keys(written.tags), ['long_hair', 'open_mouth', 'smile'], 'most picked first');
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['picked-tags.json'], 'no temporary file left');
      // Forgetting some: in the file too, whichever window picked them.
      assert.equal(await reread.forget(['Open Mouth', 'sky']), 1);
      assert.deepEqual(reread.list().map((info) => [info.tag, info.total]), [['long_hair', 2], ['smile', 1]]);
      assert.equal(new PickedTags(file, assert.fail, time.now).total('open_mouth'), 0);
      assert.equal(await reread.forget(), 2);
      assert.equal(reread.total('long_hair'), 0);
      assert.equal(new PickedTags(file, assert.fail, time.now).size, 0, 'forgotten in the file too');
      assert.deepEqual(reread.list(), []);
    });
  });

  test('a pick older than the file\'s last (another window\'s clock, or a late write) fades by its own age', async () => {
    await inTemporaryFolder(async (folder) => {
      const file = path.join(folder, 'picked-tags.json');
      const now = clock();
      const earlier = clock(now.now() - PICK_HALF_LIFE_DAYS * DAY);
      const newer = new PickedTags(file, assert.fail, now.now);
      newer.record('blush');
      await newer.flush();
      const older = new PickedTags(file, assert.fail, earlier.now);
      older.record('blush');
      await older.flush();
      const reread = new PickedTags(file, assert.fail, now.now);
      assert.equal(reread.total('blush'), 2);
      assert.ok(Math.abs(reread.bonus(1).get('blush')! - Math.log(1 + 1 + 0.5)) < 1e-12, 'the older pick counts a half');
    });
  });

  test('writing holds a lock file: a fresh one is waited for, a stale one taken over, one never freed warned about', async () => {
    await inTemporaryFolder(async (folder) => {
      const file = path.join(folder, 'picked-tags.json');
      const lock = `${file}.lock`;
      // Another window writing: its lock goes 100 ms later.
      fs.writeFileSync(lock, '');
      const picks = new PickedTags(file, assert.fail);
      picks.record('smile');
      const started = Date.now();
      setTimeout(() => fs.rmSync(lock), 100);
      await picks.flush();
      assert.ok(Date.now() - started >= 90, 'waited for the lock');
      assert.equal(new PickedTags(file, assert.fail).total('smile'), 1);
      assert.ok(!fs.existsSync(lock), 'its own lock freed');
      // A crashed window's lock.
      fs.writeFileSync(lock, '');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
      picks.record('smile');
      await picks.flush();
      assert.equal(new PickedTags(file, assert.fail).total('smile'), 2);
      // A lock never freed.
      fs.writeFileSync(lock, '');
      const warnings: string[] = [];
      const stuck = new PickedTags(file, (message) => warnings.push(message));
      stuck.record('blush');
      await stuck.flush();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`${lock.replace(/[.]/g, '\\.')} was not freed within 2 s`));
      assert.equal(new PickedTags(file, assert.fail).total('blush'), 1, 'written anyway');
      assert.ok(fs.existsSync(lock), "another window's lock is left to it");
    });
  });

  test('picks faded below a twentieth are not written again', async () => {
    await inTemporaryFolder(async (folder) => {
      const file = path.join(folder, 'picked-tags.json');
      const time = clock();
      const picks = new PickedTags(file, assert.fail, time.now);
      picks.record('smile');
      await picks.flush();
      time.advance(5 * PICK_HALF_LIFE_DAYS * DAY);
      picks.record('long_hair');
      await picks.flush();
      assert.deepEqual([...parsePicks(fs.readFileSync(file, 'utf8')).keys()], ['long_hair']);
    });
  });

  test('a file that is not a picked-tags file is kept aside as .bad, named in a warning, and a new one started', async () => {
    await inTemporaryFolder(async (folder) => {
      const file = path.join(folder, 'picked-tags.json');
      for (const [content, reason] of [
        ['{"version": 1, "tags": {"long_hair": {"picks": 2', / in JSON at position \d+\)|Unexpected end of JSON input/],
        ['[1, 2]', /expected a JSON object/],
        ['{"version": 7, "tags": {}}', /version 7, expected 1/],
        ['{"version": 1, "tags": {"smile": {"picks": "two"}}}', /"smile" is not \{ picks, at, total \}/],
      ] as const) {
        fs.writeFileSync(file, content);
        const warnings: string[] = [];
        const picks = new PickedTags(file, (message) => warnings.push(message));
        assert.equal(picks.size, 0);
        assert.equal(warnings.length, 1, content);
        assert.ok(warnings[0]!.includes(file) && warnings[0]!.includes(`${file}.bad`), warnings[0]);
        assert.match(warnings[0]!, reason);
        assert.equal(fs.readFileSync(`${file}.bad`, 'utf8'), content, 'the bad file is kept as it was');
        assert.ok(!fs.existsSync(file));
        picks.record('smile');
        await picks.flush();
        assert.equal(new PickedTags(file, assert.fail).total('smile'), 1);
        fs.rmSync(`${file}.bad`);
      }
    });
  });

  test('a file that cannot be written is a warning naming it; the picks still count in this session', async () => {
    await inTemporaryFolder(async (folder) => {
      // A regular file where the storage folder should be.
      fs.writeFileSync(path.join(folder, 'storage'), 'not a folder');
      const file = path.join(folder, 'storage', 'picked-tags.json');
      const warnings: string[] = [];
      const picks = new PickedTags(file, (message) => warnings.push(message));
      picks.record('smile');
      await picks.flush();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`cannot write ${file.replace(/[.]/g, '\\.')}`));
      assert.equal(picks.total('smile'), 1);
      assert.deepEqual(fs.readdirSync(folder), ['storage'], 'no temporary file left');
    });
  });
});

/**
 * What every engine must do with a completion's bonus: nothing without one or for tags the prefix does
 * not reach; a picked candidate's score gains exactly its bonus; a picked tag the prefix reaches joins
 * the list however rare; the context's tags stay out.
 */
async function checkBonus(engine: TagEngine, context: string[], prefix: string): Promise<void> {
  const top = 10;
  const base = await engine.complete(context, prefix, { top });
  assert.equal(base.length, top);
  assert.deepEqual(await engine.complete(context, prefix, { top, bonus: new Map() }), base, 'an empty bonus changes nothing');

  const unreached = await engine.complete(context, prefix, { top, bonus: new Map([['smile', 1000], [context[0]!, 1000]]) });
  assert.deepEqual(unreached, base, 'neither a tag the prefix does not reach nor a context tag is proposed');

  const sixth = base[5]!;
  const raised = await engine.complete(context, prefix, { top, bonus: new Map([[sixth.tag, 1000]]) });
  assert.equal(raised[0]!.tag, sixth.tag);
  assert.ok(Math.abs(raised[0]!.score - (sixth.score + 1000)) < 1e-6, `${raised[0]!.score} vs ${sixth.score} + 1000`);
  assert.deepEqual(raised.slice(1).map((c) => c.tag), base.filter((c) => c !== sixth).map((c) => c.tag), 'the others keep their order');

  const listed = new Set(base.map((c) => c.tag));
  const rare = [...dictionary.prefixIds(prefix)]
    .filter((id) => dictionary.categories[id] === 0 && !listed.has(dictionary.names[id]!) && !context.includes(dictionary.names[id]!))
    .sort((a, b) => b - a)[0]!;
  const rareName = dictionary.names[rare]!;
  const joined = await engine.complete(context, prefix, { top, bonus: new Map([[rareName, 1000]]) });
  assert.equal(joined[0]!.tag, rareName, `${rareName} (${dictionary.counts[rare]} posts) joins the list`);
  assert.equal(joined[0]!.kind, 'prefix');
}

describe('picked tags: the completion bonus', () => {
  describeEveryEngine(dictionary, (engine) => {
    test('raises a picked tag by exactly its bonus, adds a rare one the prefix reaches, ignores the rest', async () => {
      await checkBonus(engine(), ['multiple_girls', 'long_hair', 'smile'], 'lo');
      await checkBonus(engine(), ['1girl', 'solo'], 'sh');
    });
  });

  test('tag model: a picked tag one of whose later words the prefix starts is proposed as a word match', async () => {
    const engine = await loadEngine({ modelDir: path.join(fixtures, 'tiny-tag'), dictionary, threads: 1 });
    try {
      const words = [...dictionary.wordMatchIds('hair')].filter((id) => dictionary.categories[id] === 0 && !dictionary.names[id]!.startsWith('hair'));
      const rarest = dictionary.names[Math.max(...words)]!;
      const base = await engine.complete([], 'hair', { top: 10 });
      assert.ok(!base.some((c) => c.tag === rarest));
      const picked = await engine.complete([], 'hair', { top: 10, bonus: new Map([[rarest, 1000]]) });
      assert.equal(picked[0]!.tag, rarest);
      assert.equal(picked[0]!.kind, 'word');
    } finally {
      await engine.dispose();
    }
  });
});
