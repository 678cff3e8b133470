// Wildcard files (src/server/wildcards.ts, listed by folderFiles.ts): listing folders, names, globs, matching what was typed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { wildcardName } from '../../src/prompt/parser';
import { FolderFiles, isIncomplete, listFolderFiles } from '../../src/server/folderFiles';
import { WILDCARD_EXTENSIONS, filesOfWildcard, matchWildcards, namesInAnotherCase, parseCollection, wildcardFiles, wildcardMarkdown, wildcardOptions, type WildcardFile } from '../../src/server/wildcards';
import { DEFAULT_SETTINGS } from '../../src/server/settings';

const file = (name: string): WildcardFile => ({ name, path: `/w/${name}.txt` });
const names = (files: WildcardFile[]): string[] => files.map((f) => f.name);

test('wildcards: a folder lists its .txt files as names, nested ones with `/`; a missing folder lists none, silently', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-unit-'));
  try {
    fs.mkdirSync(path.join(folder, 'clothes', 'tops'), { recursive: true });
    fs.mkdirSync(path.join(folder, '.git'));
    fs.writeFileSync(path.join(folder, 'Colors.TXT'), 'red\n');
    fs.writeFileSync(path.join(folder, 'clothes', 'tops', 'shirts.txt'), 'shirt\n');
    fs.writeFileSync(path.join(folder, '.git', 'HEAD.txt'), 'x\n');
    fs.writeFileSync(path.join(folder, 'readme.md'), 'x\n');
    const warnings: string[] = [];
    assert.deepEqual(names(await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Wildcard', (m) => warnings.push(m))), ['Colors', 'clothes/tops/shirts']);
    assert.deepEqual(await listFolderFiles(path.join(folder, 'missing'), WILDCARD_EXTENSIONS, 'Wildcard', (m) => warnings.push(m)), []);
    assert.deepEqual(warnings, []);
    // Past the most files asked for, the first ones (by name), and a warning saying so.
    const limited: string[] = [];
    const cut = await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Tag scope', (m) => limited.push(m), 1);
    assert.deepEqual(names(cut), ['Colors']);
    assert.ok(isIncomplete(cut) && !isIncomplete(await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Tag scope')), 'a listing cut short says so');
    assert.deepEqual(limited, [`Tag scope folder ${folder}: more than 1 files; the first 1 are taken.`]);
    // A file where a folder is expected is named in the log, once however often it is listed.
    const logged: string[] = [];
    const folders = new FolderFiles(() => folder, (m) => logged.push(m));
    assert.deepEqual(names(await folders.files(['.', 'readme.md'], WILDCARD_EXTENSIONS, 'Wildcard')), ['Colors', 'clothes/tops/shirts']);
    assert.deepEqual(names(await folders.files(['missing', '.'], WILDCARD_EXTENSIONS, 'Wildcard')), ['Colors', 'clothes/tops/shirts'], 'relative folders are under the workspace folder');
    assert.equal(logged.length, 0, 'readme.md is ENOTDIR: not a folder, like a missing one');
    // Asked again before the folders are listed again: the same array (what is derived from it is kept by it).
    assert.equal(await folders.files(['missing', '.'], WILDCARD_EXTENSIONS, 'Wildcard'), await folders.files(['missing', '.'], WILDCARD_EXTENSIONS, 'Wildcard'));
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('wildcards: links to files and folders are listed as Dynamic Prompts (os.walk, followlinks) and a1111 walk them (a folder by its name and by a link both), a loop not walked; none in an untrusted workspace (incomplete then); folders past 16 deep or unreadable make the listing incomplete, named in the log', { skip: process.platform === 'win32' }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcard-links-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const folder = path.join(root, 'wildcards');
  const outside = path.join(root, 'shared');
  fs.mkdirSync(path.join(outside, 'hair'), { recursive: true });
  fs.mkdirSync(path.join(folder, 'z_real'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'eyes.txt'), 'red eyes\n');
  fs.writeFileSync(path.join(outside, 'hair', 'color.txt'), 'blonde hair\n');
  fs.writeFileSync(path.join(folder, 'colors.txt'), 'red\n');
  fs.writeFileSync(path.join(folder, 'z_real', 'shade.txt'), 'dark\n');
  fs.symlinkSync(path.join(outside, 'eyes.txt'), path.join(folder, 'eyes.txt'));
  fs.symlinkSync(path.join(outside, 'hair'), path.join(folder, 'hair'));
  // Sorting before the folder it names: both are listed (a link sorting first hid the folder's files).
  fs.symlinkSync(path.join(folder, 'z_real'), path.join(folder, 'a_link'));
  fs.symlinkSync(folder, path.join(folder, 'z_real', 'loop'));
  fs.symlinkSync(path.join(root, 'gone.txt'), path.join(folder, 'broken.txt'));
  const warnings: string[] = [];
  const listed = await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Wildcard', (m) => warnings.push(m));
  assert.deepEqual(names(listed), ['a_link/shade', 'colors', 'eyes', 'hair/color', 'z_real/shade']);
  const eyes = listed.find((file) => file.name === 'eyes')!;
  assert.deepEqual([eyes.realPath, eyes.viaLink], [fs.realpathSync(path.join(outside, 'eyes.txt')), true]);
  const shade = listed.find((file) => file.name === 'a_link/shade')!;
  assert.deepEqual([shade.realPath, shade.viaLink], [fs.realpathSync(path.join(folder, 'z_real', 'shade.txt')), true]);
  assert.equal(listed.find((file) => file.name === 'z_real/shade')!.viaLink, undefined);
  assert.deepEqual(warnings, []);
  assert.ok(!isIncomplete(listed));
  const untrusted = await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Wildcard', () => undefined, 20_000, false);
  assert.deepEqual(names(untrusted), ['colors', 'z_real/shade']);
  assert.ok(isIncomplete(untrusted), 'links not followed: the names they hold are not said to be missing');
  const deep = path.join(folder, ...Array.from({ length: 17 }, (_, i) => `d${i}`));
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(deep, 'deep.txt'), 'x\n');
  const deepWarnings: string[] = [];
  const deepListing = await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Wildcard', (m) => deepWarnings.push(m));
  assert.ok(isIncomplete(deepListing));
  assert.deepEqual(deepWarnings, [`Wildcard folder ${folder}: folders more than 16 deep are not read (${deep}).`]);
  fs.rmSync(path.join(folder, 'd0'), { recursive: true });
  // A folder it cannot read (tests may run as root, which reads any: readdir is made to fail there).
  const readdir = fs.promises.readdir;
  t.mock.method(fs.promises, 'readdir', async (...args: Parameters<typeof readdir>) => {
    if (String(args[0]).endsWith('z_real')) throw Object.assign(new Error(`EACCES: permission denied, scandir '${String(args[0])}'`), { code: 'EACCES' });
    return readdir(...args);
  });
  const unreadable: string[] = [];
  const partial = await listFolderFiles(folder, WILDCARD_EXTENSIONS, 'Wildcard', (m) => unreadable.push(m));
  assert.ok(isIncomplete(partial) && names(partial).includes('colors'));
  assert.match(unreadable[0]!, /z_real: EACCES/);
});

test('wildcards: links to the same folders at each level are walked up to 5,000 folders, then the listing says it is incomplete (two a level, 15 levels took 10 s)', { skip: process.platform === 'win32' }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcard-diamond-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const levels = 15;
  for (let level = 0; level <= levels; level++) {
    fs.mkdirSync(path.join(root, `l${level}`));
    fs.writeFileSync(path.join(root, `l${level}`, 'x.txt'), 'x\n');
  }
  for (let level = 0; level < levels; level++) {
    for (const name of ['a', 'b']) fs.symlinkSync(path.join(root, `l${level + 1}`), path.join(root, `l${level}`, name));
  }
  const warnings: string[] = [];
  const started = performance.now();
  const listed = await listFolderFiles(path.join(root, 'l0'), WILDCARD_EXTENSIONS, 'Wildcard', (m) => warnings.push(m));
  assert.ok(performance.now() - started < 5000, `${Math.round(performance.now() - started)} ms`);
  assert.ok(isIncomplete(listed));
  assert.ok(warnings.some((m) => m.includes('more than 5,000 folders')), JSON.stringify(warnings));
});

test('wildcards: a collection over 4 MB is left out with a warning naming it (parsing one took ~90 bytes a byte); smaller ones are read', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-big-'));
  try {
    // GENERATED: made-up keys of one option each, past the limit.
    fs.writeFileSync(path.join(folder, 'big.json'), JSON.stringify(Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`key_${i}`, [`option ${i}`]]))));
    fs.writeFileSync(path.join(folder, 'small.yaml'), 'warm:\n  - red\n');
    assert.ok(fs.statSync(path.join(folder, 'big.json')).size > 4 << 20);
    const warnings: string[] = [];
    const wildcards = await wildcardFiles(new FolderFiles(() => undefined, (m) => warnings.push(m)), { ...DEFAULT_SETTINGS, wildcardFolders: [folder] });
    assert.deepEqual(wildcards.map((w) => w.name), ['warm']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`^Wildcard collection ${path.join(folder, 'big.json').replace(/[.]/g, '\\.')} is left out: \\d+\\.\\d MB, and collections of at most 4 MB are read`));
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('wildcards: in an untrusted workspace a relative folder that links out of it is not read; one inside it, and an absolute one (the user\'s), are', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-untrusted-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-outside-'));
  try {
    const workspace = path.join(root, 'workspace');
    fs.mkdirSync(path.join(workspace, 'inside'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'inside', 'colors.txt'), 'red\n');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'not for the workspace\n');
    fs.symlinkSync(outside, path.join(workspace, 'wildcards'));
    fs.symlinkSync(path.join(workspace, 'inside'), path.join(workspace, 'also-inside'));
    const warnings: string[] = [];
    const folders = new FolderFiles(() => workspace, (m) => warnings.push(m));
    folders.confined = true;
    assert.deepEqual(names(await folders.files(['wildcards', 'also-inside'], WILDCARD_EXTENSIONS, 'Wildcard')), ['colors']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Wildcard folder .*wildcards leads out of this untrusted workspace \(to .*\): not read until you trust the workspace\.$/);
    assert.deepEqual(names(await folders.files([outside], WILDCARD_EXTENSIONS, 'Wildcard')), ['secret'], 'an absolute folder is a user setting: read');
    folders.confined = false;
    assert.deepEqual(names(await folders.files(['wildcards'], WILDCARD_EXTENSIONS, 'Wildcard')), ['secret'], 'trusted: the link is followed');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('wildcards: the first folder wins where two hold the same name', async () => {
  const a = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-a-'));
  const b = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-b-'));
  try {
    fs.writeFileSync(path.join(a, 'colors.txt'), 'red\n');
    fs.writeFileSync(path.join(b, 'colors.txt'), 'blue\n');
    fs.writeFileSync(path.join(b, 'poses.txt'), 'sitting\n');
    const files = await new FolderFiles(() => undefined, () => undefined).files([a, b], WILDCARD_EXTENSIONS, 'Wildcard');
    assert.deepEqual(names(files), ['colors', 'poses']);
    assert.deepEqual(await wildcardOptions(files[0]!), ['red']);
  } finally {
    fs.rmSync(a, { recursive: true, force: true });
    fs.rmSync(b, { recursive: true, force: true });
  }
});

test('wildcards: a text file and a collection key of the same name: the first file listed gives it, once', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-same-'));
  try {
    fs.writeFileSync(path.join(folder, 'a.yaml'), 'colors:\n  - blue\n');
    fs.writeFileSync(path.join(folder, 'colors.txt'), 'red\n');
    const wildcards = await wildcardFiles(new FolderFiles(() => undefined, () => undefined), { ...DEFAULT_SETTINGS, wildcardFolders: [folder] });
    const colors = filesOfWildcard(wildcards, 'colors');
    assert.equal(wildcards.filter((wildcard) => wildcard.name === 'colors').length, 1);
    assert.deepEqual(await wildcardOptions(colors[0]!), ['blue'], 'a.yaml is listed before colors.txt');
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('wildcards: files Dynamic Prompts does not read give none: an extension in another case (`.TXT`), a JSON collection with a byte order mark (a YAML one is read)', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-wildcards-ignored-'));
  try {
    fs.writeFileSync(path.join(folder, 'shouty.TXT'), 'UPPER\n');
    fs.writeFileSync(path.join(folder, 'quiet.txt'), 'lower\n');
    fs.writeFileSync(path.join(folder, 'upper.JSON'), '{"upperkey": ["a"]}');
    fs.writeFileSync(path.join(folder, 'bom.json'), '\uFEFF{"bomkey": ["a", "b"]}');
    fs.writeFileSync(path.join(folder, 'bom.yaml'), '\uFEFFyamlkey: [a]\n');
    const warnings: string[] = [];
    const wildcards = await wildcardFiles(new FolderFiles(() => undefined, (m) => warnings.push(m)), { ...DEFAULT_SETTINGS, wildcardFolders: [folder] });
    assert.deepEqual(names(wildcards), ['yamlkey', 'quiet']);
    assert.ok(!isIncomplete(wildcards), 'their names are flagged: Dynamic Prompts finds none');
    assert.deepEqual(warnings, [`Wildcard collection ${path.join(folder, 'bom.json')} starts with a byte order mark, and Dynamic Prompts reads no wildcard of it ("Unexpected UTF-8 BOM"): save it as UTF-8 without one.`]);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('wildcards: in a ComfyUI Impact Pack folder, its text files and YAML keys; its JSON files are not wildcards there', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-impact-'));
  const folder = path.join(root, 'custom_nodes', 'ComfyUI-Impact-Pack', 'custom_wildcards');
  try {
    fs.mkdirSync(path.join(folder, 'people'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'colors.txt'), 'red\n');
    fs.writeFileSync(path.join(folder, 'people', 'outfits.yaml'), 'school:\n  - serafuku\n');
    fs.writeFileSync(path.join(folder, 'seasons.json'), '{"seasons": ["summer"]}');
    const folders = new FolderFiles(() => root, () => undefined);
    const wildcards = await wildcardFiles(folders, { ...DEFAULT_SETTINGS, wildcardFolders: ['custom_nodes/ComfyUI-Impact-Pack/custom_wildcards'] });
    assert.deepEqual(wildcards.map((w) => w.name).sort(), ['colors', 'school']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('wildcards: names of tokens, globs, and what was typed matched by start, word start, then anywhere', () => {
  assert.equal(wildcardName('__hair_color__'), 'hair_color');
  assert.equal(wildcardName('__color__ shirt'), 'color');
  assert.equal(wildcardName('__animals/*__'), 'animals/*');
  assert.equal(wildcardName('__x__(y)'), 'x', 'as the parser reads it');
  assert.deepEqual(['__~hair_color__', '__@hair_color__', '__!hair_color__'].map(wildcardName), ['hair_color', 'hair_color', 'hair_color'], "after Dynamic Prompts' samplers");
  assert.deepEqual(['__animals\\cat__', '__animals\\\\cat__', '__/animals//cat/__'].map(wildcardName), ['animals/cat', 'animals/cat', 'animals/cat'], "separators as Dynamic Prompts' clean_wildcard reads them");
  assert.equal(wildcardName('smile'), undefined);
  const files = ['animals/cat', 'animals/dog', 'animals/big/lion', 'hair_color', 'eye_color', 'colors', 'poses'].map(file);
  assert.deepEqual(names(filesOfWildcard(files, 'Hair_Color')), ['hair_color'], 'names match in any case');
  // As Dynamic Prompts reads them (Python's fnmatch): `*` goes into subfolders too.
  assert.deepEqual(names(filesOfWildcard(files, 'animals/*')), ['animals/cat', 'animals/dog', 'animals/big/lion']);
  assert.deepEqual(names(filesOfWildcard(files, '*_color')), ['hair_color', 'eye_color']);
  assert.deepEqual(names(filesOfWildcard(files, 'pose?')), ['poses']);
  // A name no wildcard has: each whose name ends with it, as Dynamic Prompts falls back to `**/name`.
  assert.deepEqual(names(filesOfWildcard(files, 'lion')), ['animals/big/lion']);
  assert.deepEqual(names(filesOfWildcard(files, 'big/lion')), ['animals/big/lion']);
  assert.deepEqual(names(filesOfWildcard(files, 'nope')), []);
  assert.deepEqual(names(filesOfWildcard(files, 'olor')), [], 'a whole last part of the path, not its end');
  assert.deepEqual(names(matchWildcards(files, 'col', 10)), ['colors', 'eye_color', 'hair_color']);
  assert.deepEqual(names(matchWildcards(files, 'o', 10)).slice(0, 1), ['poses'], 'no name starts with o: shortest holding it first');
  assert.deepEqual(names(matchWildcards(files, 'lion', 10)), ['animals/big/lion']);
  assert.deepEqual(names(matchWildcards(files, 'eye color', 10)), ['eye_color'], 'a space typed matches an underscore');
  assert.deepEqual(names(matchWildcards([...files, file('my colors')], 'my c', 10)), ['my colors'], 'and a space');
  assert.equal(wildcardName('__my colors__'), 'my colors');
  assert.deepEqual(names(matchWildcards(files, '', 3)), ['animals/big/lion', 'animals/cat', 'animals/dog'], 'nothing typed: by name');
  assert.deepEqual(names(matchWildcards(files, 'zebra', 10)), []);
});

test("wildcards: a YAML or JSON collection's lists are wildcards by their keys under the file's folder, as Dynamic Prompts names them", async () => {
  const yaml = [
    '# a comment',
    'cats:',
    '  black:',
    '    - black cat',
    '    - 2::tuxedo cat',
    '  orange: [orange cat, {text: ginger cat, weight: 2}, {content: calico cat}]',
    'dogs:',
    '  - shiba inu',
    '  - ""',
    '1: [not a name]',
    'fish: goldfish',
    'birds: []',
    'none: ""',
  ].join('\n');
  const parsed = await parseCollection({ name: 'animals/pets', path: '/w/animals/pets.yaml' }, yaml);
  assert.deepEqual(parsed.map((w) => [w.name, w.entries, w.line]), [
    ['animals/cats/black', ['black cat', 'tuxedo cat'], 2],
    ['animals/cats/orange', ['orange cat', 'ginger cat', 'calico cat'], 5],
    ['animals/dogs', ['shiba inu'], 6],
    // As Dynamic Prompts (`_parse_structured_file_dict`): a string is an option of its own, an empty value no wildcard.
    ['animals/fish', ['goldfish'], 10],
  ]);
  // A file that is one list: the file's own name. JSON is read the same way.
  assert.deepEqual((await parseCollection({ name: 'seasons', path: '/w/seasons.json' }, '["summer", "winter", 3]')).map((w) => [w.name, w.entries]), [['seasons', ['summer', 'winter']]]);
  assert.deepEqual(await parseCollection({ name: 'nothing', path: '/w/nothing.json' }, '[]'), []);
  assert.deepEqual((await parseCollection({ name: 'x/colors', path: '/w/x/colors.json' }, '{"warm": {"red": ["red"]}}')).map((w) => w.name), ['x/warm/red']);
  // In a ComfyUI Impact Pack folder, by the keys alone (its wildcards.py: `read_wildcard(k, v)` for
  // each top-level key of each `.yaml`, whatever folder it is in, a string as a list of one); a file that is a list gives none.
  const impact = '/comfy/custom_nodes/ComfyUI-Impact-Pack/wildcards';
  assert.deepEqual((await parseCollection({ name: 'animals/pets', path: `${impact}/animals/pets.yaml` }, yaml)).map((w) => w.name), ['cats/black', 'cats/orange', 'dogs', 'fish']);
  assert.deepEqual(await parseCollection({ name: 'seasons', path: `${impact}/seasons.yaml` }, '[summer, winter]'), []);
  // Aliases and merge keys as PyYAML's safe_load (Dynamic Prompts) reads them.
  const aliased = [
    'colors: &c [red, blue]',
    'more: *c',
    // A list in a list is no option: Dynamic Prompts logs "Unsupported list item" and leaves it out.
    'both: [*c, green, [yellow]]',
    'base: &base {warm: [orange]}',
    'derived:',
    '  <<: *base',
    '  cold: [cyan]',
    'self: &m {y: *m, z: [x]}',
    'later:',
    '  <<: *base',
    '  warm: [red]',
  ].join('\n');
  assert.deepEqual((await parseCollection({ name: 'alias', path: '/w/alias.yaml' }, aliased)).map((w) => [w.name, w.entries]), [
    ['colors', ['red', 'blue']],
    ['more', ['red', 'blue']],
    ['both', ['green']],
    ['base/warm', ['orange']],
    ['derived/warm', ['orange']],
    ['derived/cold', ['cyan']],
    ['self/z', ['x']],
    // A key of the map's own wins over a merged one wherever it is written, as PyYAML reads it.
    ['later/warm', ['red']],
  ]);
  // As PyYAML's safe_load (Dynamic Prompts): a merge is shallow (an own map, list or null replaces the
  // base's whole), a key written twice is its last, of two `<<` keys the later wins, of `<<: [*a, *b]` the earlier.
  const pyyaml = async (text: string): Promise<[string, string[] | undefined][]> => (await parseCollection({ name: 'm', path: '/w/m.yaml' }, text)).map((w) => [w.name, w.entries]);
  assert.deepEqual(await pyyaml('base: &base\n  hair: {color: [blonde], style: [long]}\nderived:\n  <<: *base\n  hair: {color: [black]}\n'), [['base/hair/color', ['blonde']], ['base/hair/style', ['long']], ['derived/hair/color', ['black']]]);
  assert.deepEqual(await pyyaml('base: &base\n  hair: [blonde]\n  eyes: [blue]\nderived:\n  <<: *base\n  hair: ~\n'), [['base/hair', ['blonde']], ['base/eyes', ['blue']], ['derived/eyes', ['blue']]]);
  assert.deepEqual(await pyyaml('a: [x]\na: [y]\n'), [['a', ['y']]]);
  assert.deepEqual(await pyyaml('b1: &b1 {k: [one]}\nb2: &b2 {k: [two]}\nd:\n  <<: *b1\n  <<: *b2\n'), [['b1/k', ['one']], ['b2/k', ['two']], ['d/k', ['two']]]);
  assert.deepEqual(await pyyaml('b1: &b1 {k: [one]}\nb2: &b2 {k: [two]}\nd:\n  <<: [*b1, *b2]\n'), [['b1/k', ['one']], ['b2/k', ['two']], ['d/k', ['one']]]);
  // 8,000 aliases: each found in one walk of the anchors (yaml's resolve() walked the document for each: 53 s).
  const aliases = ['base: &b [red]', ...Array.from({ length: 8000 }, (_, i) => `k${i}: *b`)].join('\n');
  const aliasStarted = performance.now();
  assert.equal((await pyyaml(aliases)).length, 8001);
  assert.ok(performance.now() - aliasStarted < 5000, `${Math.round(performance.now() - aliasStarted)} ms`);
  // A billion-laughs list: its lists are no options, each read once however often aliased.
  const laughs = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
  const started = performance.now();
  const exploded = await parseCollection({ name: 'laughs', path: '/w/laughs.yaml' }, laughs);
  assert.ok(performance.now() - started < 2000, 'not expanded');
  assert.deepEqual(exploded.map((w) => w.entries!.length), [9, 0, 0, 0, 0, 0, 0, 0, 0]);
  // A quoted "<<" is a key like any (PyYAML); an anchor name defined many times, each alias looked up once.
  assert.deepEqual(await pyyaml('base: &base {k: [x]}\nd:\n  "<<": [y]\n'), [['base/k', ['x']], ['d/<<', ['y']]]);
  const redefined = Array.from({ length: 3000 }, (_, i) => `a${i}: &r [v${i}]\nb${i}: *r`).join('\n');
  const redefinedStarted = performance.now();
  const redefinedKeys = await pyyaml(redefined);
  assert.deepEqual(redefinedKeys[1], ['b0', ['v0']]);
  assert.ok(performance.now() - redefinedStarted < 5000, `${Math.round(performance.now() - redefinedStarted)} ms`);
  // Past 50,000 keys the rest are left out, and the wildcards say they are not all.
  const many = Array.from({ length: 50_005 }, (_, i) => `k${i}: [x]`).join('\n');
  const manyWarnings: string[] = [];
  const manyKeys = await parseCollection({ name: 'many', path: '/w/many.yaml' }, many, (m) => manyWarnings.push(m));
  assert.equal(manyKeys.length, 50_000);
  assert.ok(isIncomplete(manyKeys) && !isIncomplete(await parseCollection({ name: 'few', path: '/w/few.yaml' }, 'a: [x]')));
  assert.match(manyWarnings[0]!, /more than 50,000 keys/);
  // One that does not parse gives none, and says where.
  const warnings: string[] = [];
  assert.deepEqual(await parseCollection({ name: 'broken', path: '/w/broken.yaml' }, 'a:\n  - x\n b: [', (m) => warnings.push(m)), []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^Wildcard collection \/w\/broken\.yaml:\d+: /);
});

test('wildcards: a name that finds Dynamic Prompts files only when case is ignored, and how they write it', () => {
  const files = ['animals/cat', 'hair_color', 'Eye_Color', 'animals/Big/lion'].map(file);
  assert.deepEqual(names(filesOfWildcard(files, 'Hair_Color', true)), [], 'Python\'s fnmatch on Linux and macOS compares case');
  assert.deepEqual(namesInAnotherCase(files, 'Hair_Color'), ['hair_color']);
  assert.deepEqual(namesInAnotherCase(files, 'hair_color'), [], 'as written');
  assert.deepEqual(namesInAnotherCase(files, 'eye_color'), ['Eye_Color']);
  assert.deepEqual(namesInAnotherCase(files, 'CAT'), ['cat'], 'found by its end: that end, as the file writes it');
  assert.deepEqual(namesInAnotherCase(files, 'big/lion'), ['Big/lion']);
  assert.deepEqual(namesInAnotherCase(files, 'ANIMALS/*'), [], 'globs are left alone');
  assert.deepEqual(namesInAnotherCase(files, 'nope'), [], 'no file at all is another problem');
  // The Impact Pack lower-cases every name: its files are found in any case.
  const impact: WildcardFile = { name: 'outfits', path: '/c/custom_nodes/ComfyUI-Impact-Pack/wildcards/outfits.txt' };
  assert.deepEqual(namesInAnotherCase([impact], 'Outfits'), []);
});

test('wildcardMarkdown: a list of 150,000 options is counted and shown (spread into push, it overflowed the stack past ~125k)', async () => {
  // Options GENERATED for the test: a collection's list as large as a user's merged wildcard packs get.
  const entries = Array.from({ length: 150_000 }, (_, i) => `option_${i}`);
  const markdown = await wildcardMarkdown('huge', [{ name: 'huge', path: '/w/huge.yaml', entries, line: 0 }]);
  assert.match(markdown, /150000 options of /);
  assert.match(markdown, /`option_0`, `option_1`/);
});
