// Tag translations (a tagcomplete translation CSV): the file's layouts, the search by translation,
// and the engines ranking the tags found as aliases.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDictionary, loadEngine } from '../../src/model/index';
import { describeEveryEngine } from './engines';
import { loadTranslations, parseTranslations } from '../../src/model/translations';
import { KEPT_TRANSLATION_FILES, TranslationHost } from '../../src/server/translations';

const dictionary = loadDictionary();
const fixture = path.join(__dirname, '..', 'fixtures', 'translations', 'zh-cn.csv');

describe('translation files', () => {
  test('the three layouts, quoting, a BOM, CRLF; lines that are no translation are counted, the first named', () => {
    const text = [
      '\uFEFFlong_hair,长发',
      'Short Hair,短发',
      '',
      'smile,0,微笑',
      'blue_eyes,0,1234567,"aqua_eyes,blue_eye",蓝眼睛',
      'school_uniform,"校服,学生制服"',
      'just_a_tag',
      'long_hair,長い髪',
      '"unterminated,x',
      'red_eyes,   ',
    ].join('\r\n');
    const { translations, skipped } = parseTranslations(text, 'test.csv');
    assert.deepEqual(skipped, { count: 3, firstLine: 7 });
    assert.equal(translations.size, 5);
    assert.equal(translations.of('long hair'), '长发', 'the first a file gives is kept');
    assert.equal(translations.of('short_hair'), '短发');
    assert.equal(translations.of('smile'), '微笑', 'old layout: tag,category,translation');
    assert.equal(translations.of('blue_eyes'), '蓝眼睛', 'extra-tags layout: the fifth column');
    assert.equal(translations.of('school_uniform'), '校服,学生制服');
    assert.equal(translations.firstOf('school_uniform'), '校服');
    assert.equal(translations.firstOf('long_hair'), '长发');
    assert.equal(translations.firstOf('red_eyes'), undefined);
    assert.equal(translations.of('red_eyes'), undefined);
    assert.equal(translations.tagOf('学生制服'), 'school_uniform', 'each alternative names its tag');
    assert.equal(translations.tagOf(' 长发 '), 'long_hair');
    assert.equal(translations.tagOf('长'), undefined);
  });

  test('search: the typed text anywhere in CJK, at a word start in Latin text, each tag once, at most the limit', () => {
    const { translations } = parseTranslations(
      ['long_hair,长发', 'short_hair,短发', 'very_long_hair,超长发', 'hair_ornament,发饰',
        'school_uniform,"校服,学生制服"', 'sailor_collar,Col marin', 'long_sleeves,manches longues', 'smile,Sourire'].join('\n'),
      'test.csv',
    );
    const tags = (typed: string, limit = 10): string[] => translations.search(typed, limit).map((match) => match.tag);
    assert.deepEqual(tags('长'), ['long_hair', 'very_long_hair']);
    assert.deepEqual(tags('发'), ['long_hair', 'short_hair', 'very_long_hair', 'hair_ornament']);
    assert.deepEqual(tags('发', 2), ['long_hair', 'short_hair']);
    assert.deepEqual(translations.search('学生', 10), [{ tag: 'school_uniform', translation: '学生制服' }], 'found in its alternative');
    assert.deepEqual(tags('校'), ['school_uniform']);
    assert.deepEqual(tags('long'), ['long_sleeves'], 'a word of the translation');
    assert.deepEqual(tags('ongues'), [], 'not inside a Latin word, as tagcomplete');
    assert.deepEqual(tags('MARIN'), ['sailor_collar'], 'any case');
    assert.deepEqual(tags('ｓｏｕ'), ['smile'], 'full-width letters as plain ones');
    assert.deepEqual(tags(''), []);
    assert.deepEqual(tags('发\n长'), []);
  });

  test('alternatives: split at the separators the community files use (, ， 、 / | ; ；)', () => {
    const { translations } = parseTranslations(['long_hair,"長い髪、ロングヘア"', 'smile,"微笑，笑"', 'blush,脸红/红脸', 'solo,单人|独自', 'open_mouth,张嘴;开口', 'closed_eyes,闭眼；合眼'].join('\n'), 'test.csv');
    assert.equal(translations.firstOf('long_hair'), '長い髪');
    for (const [text, tag] of [['ロングヘア', 'long_hair'], ['笑', 'smile'], ['红脸', 'blush'], ['独自', 'solo'], ['开口', 'open_mouth'], ['合眼', 'closed_eyes']]) {
      assert.equal(translations.tagOf(text!), tag, text);
    }
  });

  test('the fixture loads; a missing file is an error naming it', () => {
    const { translations, skipped } = loadTranslations(fixture);
    assert.equal(skipped.count, 0);
    assert.equal(translations.of('long_hair'), '长发');
    assert.equal(translations.file, fixture);
    const missing = path.join(os.tmpdir(), 'danbooru-gpt-no-such-translations.csv');
    assert.throws(() => loadTranslations(missing), new RegExp(`${missing.replace(/[.]/g, '\\.')}: file not found`));
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-translations-'));
    try {
      assert.throws(() => loadTranslations(folder), new RegExp(`${folder}: a folder, not a file`));
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the server\'s translation files (TranslationHost)', () => {
  test('two folders\' files, asked for in turn: each loaded once and watched; an edit reloads that file only; the least recently asked for past the bound is dropped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'danbooru-gpt-translation-host-'));
    const fileOf = (name: string): string => path.join(dir, `${name}.csv`);
    // As an editor saves: a new file renamed over the old one.
    const save = (name: string, translation: string): void => {
      fs.writeFileSync(`${fileOf(name)}.new`, `long_hair,${translation}\n`);
      fs.renameSync(`${fileOf(name)}.new`, fileOf(name));
    };
    const loads: string[] = [];
    let changes = 0;
    const host = new TranslationHost(() => dir, (problem) => assert.fail(problem), (message) => {
      const loaded = /^Loaded the translations of 1 tags from (.*) in \d+ ms\.$/.exec(message);
      if (loaded) loads.push(path.basename(loaded[1]!, '.csv'));
    }, () => changes++);
    const translationOf = (name: string): string | undefined => host.get(fileOf(name))?.of('long_hair');
    try {
      save('a', '长发A');
      save('b', '長髪B');
      for (let round = 0; round < 3; round++) {
        assert.equal(translationOf('a'), '长发A');
        assert.equal(translationOf('b'), '長髪B');
      }
      assert.deepEqual(loads, ['a', 'b'], 'each file read once, not again at each turn');
      // The file asked for before the last one is watched too.
      save('a', '长发A2');
      for (let waited = 0; changes === 0; waited += 50) {
        assert.ok(waited < 10_000, 'the edit of a.csv is reported');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(translationOf('b'), '長髪B');
      assert.equal(translationOf('a'), '长发A2');
      assert.deepEqual(loads, ['a', 'b', 'a'], 'the edited file read again, the other not');
      const others = Array.from({ length: KEPT_TRANSLATION_FILES - 1 }, (_, index) => `other${index}`);
      for (const name of others) save(name, name);
      for (const name of others) assert.equal(translationOf(name), name);
      loads.length = 0;
      assert.equal(translationOf('a'), '长发A2');
      assert.equal(translationOf('b'), '長髪B');
      assert.deepEqual(loads, ['b'], `${KEPT_TRANSLATION_FILES} files kept: b.csv, asked for least recently, was dropped`);
    } finally {
      host.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('extra aliases (tags found by translation) in every engine', () => {
  describeEveryEngine(dictionary, (engine) => {
    test('proposed as aliases with the text typed towards them, ranked; the context stays out; the dictionary\'s own matches as before', async () => {
      const extraAliases = new Map([['long_hair', '长发'], ['very_long_hair', '超长发'], ['short_hair', '短发'], ['no_such_tag_xyz', '无']]);
      const found = await engine().complete(['1girl', 'short_hair'], '发', { top: 10, extraAliases });
      assert.deepEqual(found.map((c) => c.tag).sort(), ['long_hair', 'very_long_hair']);
      for (const completion of found) {
        assert.equal(completion.kind, 'alias');
        assert.equal(completion.alias, extraAliases.get(completion.tag));
      }
      assert.ok(found[0]!.score >= found[1]!.score);
      const plain = await engine().complete(['1girl'], 'lo', { top: 10 });
      assert.deepEqual((await engine().complete(['1girl'], 'lo', { top: 10, extraAliases })).slice(0, 3), plain.slice(0, 3), 'prefix matches keep the top of the list');
    });
  });

  test('tag model: a translation\'s tag ranks by the model, as an alias typed towards it', async () => {
    const engine = await loadEngine({ modelDir: path.join(__dirname, '..', 'fixtures', 'models', 'tiny-tag'), dictionary, threads: 1 });
    try {
      const viaAlias = await engine.complete(['multiple_girls'], 'longhai', { top: 3 });
      const viaTranslation = await engine.complete(['multiple_girls'], '长发', { top: 3, extraAliases: new Map([['long_hair', '长发']]) });
      assert.equal(viaTranslation[0]!.tag, 'long_hair');
      assert.ok(Math.abs(viaTranslation[0]!.score - viaAlias.find((c) => c.tag === 'long_hair')!.score) < 1e-9, 'the score of the same tag reached through a real alias');
    } finally {
      await engine.dispose();
    }
  });
});
