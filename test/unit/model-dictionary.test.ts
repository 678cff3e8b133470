import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDictionary, parseCsvLine, readRows } from '../../scripts/build-dictionary';
import { parseRows } from '../../src/model/dictionary-csv';
import { abbreviates, boundedEditDistance, defaultDictionaryPath, loadDictionary } from '../../src/model/dictionary';
import { createDictionaryOnlyEngine } from '../../src/model/index';
import { decodeSections, encodeSections } from '../../src/model/dictionary-format';

const dictionary = loadDictionary();

// Its load time (target < 100 ms) is a figure of `npm run bench:model`, not a timed test.
test('dictionary: the shipped file holds every tag of the CSV', () => {
  const fresh = loadDictionary();
  const csv = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'danbooru-tags.csv');
  // The source CSV sits beside the checkout on the development machine; a bare clone has only the .bin.
  const expected = fs.existsSync(csv)
    ? fs
        .readFileSync(csv, 'utf8')
        .split('\n')
        .filter((line) => line.trim()).length
    : 140_782;
  assert.equal(fresh.size, expected);
});

test('dictionary: exact lookup ignores case and treats spaces as underscores', () => {
  const tag = dictionary.get('Long Hair');
  assert.equal(tag?.name, 'long_hair');
  assert.equal(tag?.category, 0);
  assert.ok((tag?.count ?? 0) > 1_000_000);
  assert.ok(tag?.aliases.includes('longhair'));
  assert.equal(dictionary.get('long_hai'), undefined);
});

test('dictionary: a space typed last ends the word, as an underscore does; a space typed first is nothing', () => {
  const names = (prefix: string) => dictionary.search(prefix, { limit: 20 }).map((match) => match.tag.name);
  assert.deepEqual(names('hair '), names('hair_'));
  assert.ok(!names('hair ').includes('hairband'), 'hairband does not start with "hair "');
  assert.ok(names('hair').includes('hairband'));
  assert.deepEqual(names('  Long Ha'), names('long_ha'));
});

test('dictionary: full-width letters, as a Japanese input method types them, are read as ASCII (names that hold them still found)', () => {
  assert.equal(dictionary.resolve('ｌｏｎｇ\u3000ｈａｉｒ')?.tag.name, 'long_hair');
  assert.equal(dictionary.resolve('１ｇｉｒｌ')?.tag.name, '1girl');
  assert.equal(dictionary.search('ｌｏｎｇ', { limit: 1 })[0]?.tag.name, 'long_hair');
  assert.equal(dictionary.search('１girl', { limit: 1 })[0]?.tag.name, '1girl');
  assert.equal(dictionary.resolve('aｓhhero')?.viaAlias, 'aｓhhero', 'an alias written with one, found as it is');
});

test('dictionary: resolve maps an alias to its canonical tag', () => {
  const resolved = dictionary.resolve('longhair');
  assert.equal(resolved?.tag.name, 'long_hair');
  assert.equal(resolved?.viaAlias, 'longhair');
  assert.equal(dictionary.resolve('long_hair')?.viaAlias, undefined);
  assert.equal(dictionary.resolve('no_such_tag_at_all_xyz'), undefined);
});

test('dictionary: prefix matches come first, by post count, and all start with the prefix', () => {
  const matches = dictionary.search('lo', { limit: 15 });
  assert.equal(matches.length, 15);
  assert.equal(matches[0].tag.name, 'long_hair');
  for (const match of matches) {
    assert.equal(match.kind, 'prefix');
    assert.ok(match.tag.name.startsWith('lo'));
    assert.equal(match.tag.category, 0);
  }
  for (let i = 1; i < matches.length; i++) assert.ok(matches[i - 1].tag.count >= matches[i].tag.count);
});

test('dictionary: word-start matches find long_hair from "hair" after the prefix matches', () => {
  const matches = dictionary.search('hair', { limit: 500, fuzzy: false });
  const long = matches.find((match) => match.tag.name === 'long_hair');
  assert.equal(long?.kind, 'word');
  const firstWord = matches.findIndex((match) => match.kind === 'word');
  assert.ok(firstWord > 0);
  assert.ok(matches.slice(0, firstWord).every((match) => match.kind === 'prefix'));
});

test('dictionary: typing an alias proposes the canonical tag', () => {
  const matches = dictionary.search('longhai', { limit: 5 });
  const viaAlias = matches.find((match) => match.kind === 'alias');
  assert.equal(viaAlias?.tag.name, 'long_hair');
  assert.equal(viaAlias?.alias, 'longhair');
});

test('dictionary: typo-tolerant matches rank below real prefix matches', () => {
  const typo = dictionary.search('lnog_hai', { limit: 5 });
  assert.equal(typo[0].tag.name, 'long_hair');
  assert.equal(typo[0].kind, 'fuzzy');
  const kinds = dictionary.search('long_hair_b', { limit: 10 }).map((match) => match.kind);
  assert.equal(kinds[0], 'prefix');
  assert.ok(kinds.includes('fuzzy'));
  assert.ok(kinds.lastIndexOf('prefix') < kinds.indexOf('fuzzy'));
  assert.equal(dictionary.search('lnog_hai', { limit: 5, fuzzy: false }).length, 0);
  // The typos by edits (the nearest first), then post count: a popular tag two edits away does not
  // come before a rarer one at one.
  const edits = (name: string): number => boundedEditDistance('lnog_hai', name, 9, true);
  const fuzzy = dictionary.search('lnog_hai', { limit: 20 }).filter((match) => match.kind === 'fuzzy');
  assert.ok(fuzzy.length >= 5, fuzzy.map((m) => m.tag.name).join(', '));
  assert.ok(new Set(fuzzy.map((m) => edits(m.tag.name))).size > 1, 'more than one distance among them');
  fuzzy.forEach((match, i) => {
    if (i === 0) return;
    const [before, now] = [edits(fuzzy[i - 1]!.tag.name), edits(match.tag.name)];
    assert.ok(before < now || (before === now && fuzzy[i - 1]!.tag.count >= match.tag.count), `${fuzzy[i - 1]!.tag.name} (${before}) before ${match.tag.name} (${now})`);
  });
});

test('dictionary: an abbreviation is the starts of the words, in order, from the first', () => {
  for (const [query, name] of [
    ['detco', 'detached_collar'],
    ['det_co', 'detached_collar'],
    ['lohai', 'long_hair'],
    ['hairb', 'hair_bow'],
    ['lovi', 'looking_at_viewer'],
    ['loatvi', 'looking_at_viewer'],
    ['l_a_v', 'looking_at_viewer'],
    ['ganyu_gen', 'ganyu_(genshin_impact)'],
    ['ganyu_(gen', 'ganyu_(genshin_impact)'], // a piece may start with the parenthesis too
    ['ganyu_(gen_im', 'ganyu_(genshin_impact)'],
    ['de__co', 'detached_collar'], // underscores in a row are one
    ['_detco', 'detached_collar'],
    ['whiba', 'white_background'],
  ]) {
    assert.ok(abbreviates(query, name), `${query} → ${name}`);
  }
  for (const [query, name] of [
    ['lav', 'looking_at_viewer'], // one-letter pieces only where an underscore ends them
    ['dtco', 'detached_collar'],
    ['colde', 'detached_collar'], // the first piece starts the tag
    ['codet', 'detached_collar'], // words in order
    ['detcox', 'detached_collar'],
    ['lonhaix', 'long_hair'],
    ['det_det', 'detached_collar'], // a word is used once
  ]) {
    assert.ok(!abbreviates(query, name), `${query} is not ${name}`);
  }
});

test('dictionary: an abbreviation of a name of many alike words is decided quickly', () => {
  // Without remembering failed states this took seconds to minutes (exponential in the words).
  const name = Array.from({ length: 40 }, () => 'aa').join('_');
  const started = performance.now();
  assert.equal(abbreviates(`${'a'.repeat(24)}b`, name), false);
  assert.equal(abbreviates('a_a_a_a_a_a_a_a_b', Array.from({ length: 40 }, () => 'a').join('_')), false);
  assert.equal(abbreviates('a'.repeat(24), name), true);
  assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
});

test('dictionary: abbreviations come after the real matches, before the typos, most posts first', () => {
  const detco = dictionary.search('detco', { limit: 8 });
  assert.equal(detco[0].tag.name, 'detached_collar');
  assert.equal(detco[0].kind, 'abbreviation');
  const whba = dictionary.search('whba', { limit: 20 }).filter((match) => match.kind === 'abbreviation');
  assert.equal(whba[0].tag.name, 'white_background');
  assert.ok(whba.every((match, i) => i === 0 || match.tag.count <= whba[i - 1].tag.count));
  for (const query of ['detco', 'whba', 'lohai', 'hairb', 'opmo']) {
    const matches = dictionary.search(query, { limit: 100 });
    const firstAbbreviation = matches.findIndex((match) => match.kind === 'abbreviation');
    assert.ok(firstAbbreviation >= 0, query);
    // Before them only a one-edit typo of a tag more popular than every abbreviation (popularTypos).
    const abbreviated = matches.filter((match) => match.kind === 'abbreviation');
    const early = matches.slice(0, firstAbbreviation).filter((match) => match.kind === 'fuzzy');
    for (const typo of early) assert.ok(boundedEditDistance(query, typo.tag.name, 9, true) === 1 && abbreviated.every((match) => typo.tag.count >= match.tag.count), `${query}: ${typo.tag.name}`);
    const kinds = matches.filter((match) => !early.includes(match)).map((match) => match.kind);
    const order = ['prefix', 'word', 'alias', 'abbreviation', 'fuzzy'];
    assert.ok(kinds.every((kind, i) => i === 0 || order.indexOf(kind) >= order.indexOf(kinds[i - 1])), `${query}: ${kinds.join(' ')}`);
  }
  // A tag the query is a plain prefix of is a prefix match, not also an abbreviation.
  const hairb = dictionary.search('hairb', { limit: 100 });
  assert.equal(hairb.filter((match) => match.tag.name === 'hairband').length, 1);
  assert.equal(hairb.find((match) => match.tag.name === 'hairband')?.kind, 'prefix');
  assert.equal(hairb.find((match) => match.tag.name === 'hair_bobbles')?.kind, 'abbreviation');
  // Real matches that fill the list leave no room, and no need, for abbreviations.
  assert.ok(dictionary.search('lon', { limit: 10 }).every((match) => match.kind === 'prefix'));
});

test('dictionary: a one-edit typo of a tag more popular than every abbreviation comes before them (holdig: holding, not 20 of holding_gun…)', () => {
  for (const [typed, meant] of [['holdig', 'holding'], ['blsh', 'blush'], ['scaf', 'scarf']] as const) {
    const matches = dictionary.search(typed, { limit: 20 });
    const at = matches.findIndex((match) => match.tag.name === meant);
    const firstAbbreviation = matches.findIndex((match) => match.kind === 'abbreviation');
    assert.ok(at >= 0 && (firstAbbreviation < 0 || at < firstAbbreviation), `${typed}: ${matches.map((match) => match.tag.name).join(' ')}`);
  }
  assert.equal(dictionary.search('detco', { limit: 8 })[0]?.tag.name, 'detached_collar', 'a rarer typo (decora) does not come before the abbreviation');
});

test('dictionary: the typo index built ahead (prepareTypoSearch, as the server does after a load) gives the same matches', () => {
  const fresh = loadDictionary();
  const lazily = fresh.search('holdig', { limit: 20 }).map((match) => match.tag.name);
  const prepared = loadDictionary();
  prepared.prepareTypoSearch();
  assert.deepEqual(prepared.search('holdig', { limit: 20 }).map((match) => match.tag.name), lazily);
  assert.ok(lazily.includes('holding'));
});

test('dictionary: categories filter the matches', () => {
  const characters = dictionary.search('hatsune', { categories: [4], limit: 5 });
  assert.ok(characters.length > 0);
  assert.ok(characters.every((match) => match.tag.category === 4));
  assert.ok(dictionary.search('hatsune', { limit: 5, fuzzy: false }).every((match) => match.tag.category === 0));
});

test('dictionary: nearest() suggests real tags for a misspelling', () => {
  assert.equal(dictionary.nearest('thighhigs', 3)[0].name, 'thighhighs');
  assert.equal(dictionary.nearest('lnog hair', 3)[0].name, 'long_hair');
  // An abbreviation left as written: its tags, most posts first.
  assert.deepEqual(dictionary.nearest('lohai', 2).map((tag) => tag.name), ['long_hair', 'low-tied_long_hair']);
  assert.equal(dictionary.nearest('smille', 3)[0].name, 'smile');
});

test('dictionary: nearest() orders as completion does: an abbreviation (or a tag it starts) before a rarer one-edit typo, a popular typo before abbreviations', () => {
  // deto (an artist, 193 posts) and choo (82) are one edit away; completion lists detached_collar, chocolate.
  assert.deepEqual(dictionary.nearest('detco', 3).map((tag) => tag.name).slice(0, 2), ['detached_collar', 'deto']);
  assert.equal(dictionary.nearest('choco', 3)[0].name, 'chocolate');
  // Short words: a typo of a tag more popular than any tag the word starts or abbreviates comes first (`slo`), else
  // those tags (`long` starts long_hair, `thig` thighhighs), and the nearest typo of a popular tag keeps a place (`catt`).
  for (const [typo, tag] of [['slo', 'solo'], ['aht', 'hat'], ['til', 'tail'], ['smle', 'smile'], ['long', 'long_hair'], ['look', 'looking_at_viewer'], ['thig', 'thighhighs']]) {
    assert.equal(dictionary.nearest(typo, 3)[0]!.name, tag, typo);
  }
  assert.ok(dictionary.nearest('catt', 3).some((tag) => tag.name === 'cat'));
  // Typos of popular tags still come first, before the tags they abbreviate (holding_gun for holdig).
  for (const [typo, tag] of [['holdig', 'holding'], ['ponytial', 'ponytail'], ['smlie', 'smile'], ['twintals', 'twintails'], ['school unifrom', 'school_uniform'],
    ['wite background', 'white_background'], ['blu eyes', 'blue_eyes'], ['bkini', 'bikini'], ['thighhigs', 'thighhighs'], ['lnog hair', 'long_hair']]) {
    assert.equal(dictionary.nearest(typo, 3)[0]!.name, tag, typo);
  }
  // An alias spelled exactly first of all.
  assert.equal(dictionary.nearest('longhair', 3)[0]!.name, 'long_hair');
});

test('dictionary: edit distance counts swaps as one edit and respects the bound', () => {
  assert.equal(boundedEditDistance('ab', 'ba', 3, false), 1);
  assert.equal(boundedEditDistance('kitten', 'sitting', 5, false), 3);
  assert.equal(boundedEditDistance('kitten', 'sitting', 2, false), 3);
  assert.equal(boundedEditDistance('lon', 'long_hair', 1, true), 0);
});

test('dictionary: a bad file gets an error naming it', () => {
  const file = path.join(os.tmpdir(), `bad-dictionary-${process.pid}.bin`);
  fs.writeFileSync(file, 'name,category\n');
  try {
    assert.throws(() => loadDictionary(file), new RegExp(`${file.replace(/[.]/g, '\\.')}: not a danbooru-gpt dictionary`));
  } finally {
    fs.unlinkSync(file);
  }
  assert.throws(() => loadDictionary('/no/such/dictionary.bin'), /\/no\/such\/dictionary\.bin: .*not found/);
});

test('dictionary: a .bin whose sections have their lengths but ids out of range is refused naming it (it loaded, then every completion threw)', (t) => {
  const sections = decodeSections(fs.readFileSync(defaultDictionaryPath()), 'shipped');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-bad-bin-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['nameOrder', 'aliasTargets', 'wordTags'] as const) {
    const broken = new Map(sections);
    const ids = Buffer.from(sections.get(name)!);
    ids.writeUInt32LE(0xfffffff0, ids.length - 4);
    broken.set(name, ids);
    const file = path.join(dir, `${name}.bin`);
    fs.writeFileSync(file, encodeSections(broken));
    assert.throws(() => loadDictionary(file), new RegExp(`${name}\\.bin: not a danbooru-gpt dictionary \\(${name} holds a tag id out of range\\)`));
  }
});

test('dictionary-only engine: completion by post count, context excluded, sample rejects', async () => {
  const engine = createDictionaryOnlyEngine(dictionary);
  const completions = await engine.complete(['long hair', 'solo'], 'lo', { top: 5 });
  assert.equal(completions.length, 5);
  assert.ok(completions.every((completion) => completion.tag.startsWith('lo') && completion.tag !== 'long_hair'));
  for (let i = 1; i < completions.length; i++) assert.ok(completions[i - 1].count >= completions[i].count);
  const next = await engine.nextTags(['1girl'], 3);
  assert.deepEqual(
    next.map((entry) => entry.tag),
    ['solo', 'long_hair', 'breasts'],
  );
  await assert.rejects(engine.sample({ n: 1 }), /needs a model/);
});

test('build-dictionary: CSV quoting, and the shipped file is exactly what the script makes of the source CSV', (t) => {
  assert.deepEqual(parseCsvLine('"don\'t_say_""lazy""",0,1076,don\'t_say_lazy'), ["don't_say_\"lazy\"", '0', '1076', "don't_say_lazy"]);
  assert.deepEqual(parseCsvLine('long_hair,0,4350743,"/lh,longhair"'), ['long_hair', '0', '4350743', '/lh,longhair']);
  const csv = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'danbooru-tags.csv');
  if (!fs.existsSync(csv)) {
    t.skip('the source CSV is not beside this checkout');
    return;
  }
  assert.ok(buildDictionary(readRows(csv)).equals(fs.readFileSync(defaultDictionaryPath())));
});

test('build-dictionary: CSV lines split as RFC 4180 reads them, on random lines of quotes and commas', () => {
  // The reference: RFC 4180 read a character at a time (what parseCsvLine did before it cut runs).
  const reference = (line: string): string[] | 'unterminated' => {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted && ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = !quoted;
      } else if (ch === ',' && !quoted) {
        fields.push(field);
        field = '';
      } else {
        field += ch;
      }
    }
    return quoted ? 'unterminated' : [...fields, field];
  };
  let seed = 3;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 20_000; i++) {
    const line = Array.from({ length: Math.floor(random() * 12) }, () => 'ab,"x '[Math.floor(random() * 6)]).join('');
    const expected = reference(line);
    if (expected === 'unterminated') assert.throws(() => parseCsvLine(line), /unterminated quoted field/, line);
    else assert.deepEqual(parseCsvLine(line), expected, line);
  }
});

test('build-dictionary: a malformed row is an error naming the file and line', () => {
  const file = path.join(os.tmpdir(), `bad-tags-${process.pid}.csv`);
  fs.writeFileSync(file, 'long_hair,0,10,\nshort_hair,zero,5,\n');
  try {
    assert.throws(() => readRows(file), new RegExp(`${file.replace(/[.]/g, '\\.')}:2: bad name or category`));
  } finally {
    fs.unlinkSync(file);
  }
});

test('build-dictionary: a first line naming the columns is a header, skipped; one further down is a bad row', () => {
  const rows = parseRows('name,category,post_count,aliases\nlong_hair,0,10,"longhair"\n', 'tags.csv');
  assert.deepEqual(rows, [{ name: 'long_hair', category: 0, count: 10, aliases: ['longhair'] }]);
  assert.deepEqual(parseRows('\uFEFFtag,type,count\nsmile,0,5\n', 'tags.csv').map((row) => row.name), ['smile']);
  assert.throws(() => parseRows('long_hair,0,10\nname,category,post_count\n', 'tags.csv'), /tags\.csv:2: bad name or category/);
  // Two lines naming columns: the second is a bad row, not a second header (any number were skipped).
  assert.throws(() => parseRows('name,category,post_count\nfoo,bar,baz\nsmile,0,5\n', 'tags.csv'), /tags\.csv:2: bad name or category/);
  // A row whose count alone is wrong is no header.
  assert.throws(() => parseRows('long_hair,0,many\n', 'tags.csv'), /tags\.csv:1: bad post count/);
});

test('bans: a pattern is read as a prompt writes a tag and as the dictionary spells it; an alias bans its tag', () => {
  const engine = createDictionaryOnlyEngine(loadDictionary());
  const banned = engine.bannedTest(['gap \\(touhou\\)', '\\(^o^)/', '*\\(medium\\)', 'smiling']);
  for (const tag of ['gap_(touhou)', '\\(^o^)/', 'watercolor_(medium)', 'smile']) assert.equal(banned(tag), true, tag);
  for (const tag of ['gap', 'watercolor', 'smiling_face', '^o^']) assert.equal(banned(tag), false, tag);
  assert.deepEqual(engine.unmatchedBans(['\\(^o^)/', '\\\\//', 'gap \\(touhou\\)', '*\\(mediun\\)', 'no_such_tag']), ['*\\(mediun\\)', 'no_such_tag']);
});
