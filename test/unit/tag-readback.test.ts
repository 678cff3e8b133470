// Every tag of the shipped dictionary, as the extension writes it (completion, rename, Sample Tags,
// Add Tag), reads back as that one tag: `\m/`, `\(^o^)/`, `medusa (rider) (fate)` did not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDictionary } from '../../src/model/index';
import { formatTag, type InsertStyle } from '../../src/prompt/insertStyle';
import { parseLine } from '../../src/server/serverContext';

const dictionary = loadDictionary();

/** Tags of the dictionary written in `style` that do not read back as themselves between two others. */
function notReadBack(style: Pick<InsertStyle, 'separator' | 'escapeParentheses'>): string[] {
  const failed: string[] = [];
  for (let id = 0; id < dictionary.size; id++) {
    const name = dictionary.info(id).name;
    const tags = parseLine(`1girl, ${formatTag(name, style)}, solo`, dictionary).tags;
    if (tags.length !== 3 || dictionary.resolve(tags[1]!.name)?.tag.name !== name) failed.push(name);
  }
  return failed;
}

test('every dictionary tag written with escaped parentheses reads back as itself (spaces and underscores)', () => {
  assert.ok(dictionary.size > 100_000);
  assert.deepEqual(notReadBack({ separator: 'spaces', escapeParentheses: true }), []);
  assert.deepEqual(notReadBack({ separator: 'underscores', escapeParentheses: true }), []);
});

test('written with escaped parentheses, no tag holds a bracket a1111 reads as emphasis (`00_qan[t]`)', () => {
  const unescaped: string[] = [];
  for (let id = 0; id < dictionary.size; id++) {
    const written = formatTag(dictionary.info(id).name, { separator: 'spaces', escapeParentheses: true });
    if (/(?<!\\)[()[\]]/.test(written.replace(/\\\\/g, ''))) unescaped.push(written);
  }
  assert.deepEqual(unescaped, []);
  assert.equal(formatTag('00_qan[t]', { separator: 'spaces', escapeParentheses: true }), '00 qan\\[t\\]');
});

test('written with parentheses as they are, every tag reads back but those whose qualifier is a weight, `(reverse:1999)`', () => {
  for (const separator of ['spaces', 'underscores'] as const) {
    const failed = notReadBack({ separator, escapeParentheses: false });
    assert.deepEqual(failed.filter((name) => !/\([^()]*:\d+\)$/.test(name)), [], separator);
  }
  assert.deepEqual(
    ['medusa_(rider)_(fate)', 'jeanne_d\'arc_(swimsuit_archer)_(first_ascension)_(fate)', '\\m/', '\\(^o^)/', 'double_\\n/'].map((name) => {
      const written = formatTag(name, { separator: 'spaces', escapeParentheses: false });
      return [written, parseLine(`1girl, ${written}, solo`, dictionary).tags.map((tag) => tag.name)];
    }),
    [
      ['medusa (rider) (fate)', ['1girl', 'medusa_(rider)_(fate)', 'solo']],
      ['jeanne d\'arc (swimsuit archer) (first ascension) (fate)', ['1girl', 'jeanne_d\'arc_(swimsuit_archer)_(first_ascension)_(fate)', 'solo']],
      ['\\m/', ['1girl', '\\m/', 'solo']],
      ['\\\\(^o^)/', ['1girl', '\\(^o^)/', 'solo']],
      ['double \\n/', ['1girl', 'double_\\n/', 'solo']],
    ],
  );
});
