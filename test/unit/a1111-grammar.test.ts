// src/prompt/a1111Grammar.ts against a1111's own lark grammar: fixtures/a1111-grammar/verdicts.json
// holds lark's verdicts on GENERATED prompts (make_verdicts.py beside it; lark is not installed in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { editingReadAsText, failsOutsideBrackets, outermostBrackets, parsesAsA1111 } from '../../src/prompt/a1111Grammar';

interface Verdict { text: string; parses: boolean; editing?: number[] }
const { verdicts } = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'a1111-grammar', 'verdicts.json'), 'utf8')) as { verdicts: Verdict[] };

test('parsesAsA1111 says what lark says of 600 generated prompts, failures and successes both', () => {
  const wrong = verdicts.filter((v) => parsesAsA1111(v.text) !== v.parses);
  assert.deepEqual(wrong, []);
  assert.ok(verdicts.filter((v) => !v.parses).length > 100 && verdicts.filter((v) => v.parses).length > 100);
});

test('editingReadAsText names only brackets lark does not read as prompt editing or alternation', () => {
  let named = 0;
  for (const v of verdicts.filter((verdict) => verdict.parses)) {
    const asText = editingReadAsText(v.text);
    named += asText.length;
    assert.deepEqual(asText.filter((column) => v.editing!.includes(column)), [], v.text);
  }
  assert.ok(named > 20, `${named} brackets named`);
  const line = '[cat:(:d:1.2):5], [:d:cat:0.5], [[:d]:cat:5], [cat:dog:5]';
  assert.deepEqual(editingReadAsText(line), [line.indexOf('[cat:('), line.indexOf('[:d:cat'), line.indexOf('[[:d]')]);
});

test('a part parses where each outermost bracket does and no `|` is outside them', () => {
  const part = '[cat|:d], (:d:1.2), [smile|cat]';
  assert.deepEqual(outermostBrackets(part).map(({ start, end }) => part.slice(start, end)), ['[cat|:d]', '(:d:1.2)', '[smile|cat]']);
  assert.equal(parsesAsA1111(part), false);
  assert.equal(parsesAsA1111('[cat|\\:d], (:d:1.2), [smile|cat]'), true, 'a ( ) at the top that fits no rule is read as characters');
  assert.equal(failsOutsideBrackets('cat | dog, [a|b]'), true);
  assert.equal(failsOutsideBrackets('cat \\| dog, [a|b]'), false);
  assert.equal(failsOutsideBrackets('[a|b] \\'), true, 'a backslash escaping nothing');
  assert.equal(failsOutsideBrackets('[a|b] \\\\'), false);
});
