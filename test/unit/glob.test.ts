// globMatcher: the globs of wildcards (Dynamic Prompts' fnmatch) and of banned tags, without RegExp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatcher } from '../../src/util/glob';

/** The same glob as a RegExp (the reference for short texts, where backtracking costs nothing). */
function reference(pattern: string, questionMark: boolean, caseSensitive: boolean): RegExp {
  const source = [...pattern].map((c) => (c === '*' ? '.*' : questionMark && c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'is');
}

test('glob: * any run (none too, / too), ? one character or itself, case as asked', () => {
  const wildcard = (pattern: string) => globMatcher(pattern, { questionMark: true });
  assert.ok(wildcard('animals/*')('animals/cat'));
  assert.ok(wildcard('**/cat')('animals/pets/cat'));
  assert.ok(!wildcard('**/cat')('cat'), 'fnmatch: **/ needs the /');
  assert.ok(wildcard('c?t')('cat') && !wildcard('c?t')('cart'));
  assert.ok(wildcard('Hair_*')('hair_color'), 'case ignored unless asked');
  assert.ok(!globMatcher('Hair_*', { questionMark: true, caseSensitive: true })('hair_color'));
  const ban = (pattern: string) => globMatcher(pattern, { caseSensitive: true });
  assert.ok(ban('*_background')('simple_background') && !ban('*_background')('background'));
  assert.ok(ban('what?')('what?') && !ban('what?')('whatx'), '? is itself in a ban');
  assert.ok(ban('*')('') && ban('**')('x') && !ban('a*')(''));
});

test('glob: the same answers as the RegExp on random patterns and texts', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (chars: string, length: number) => Array.from({ length }, () => chars[Math.floor(random() * chars.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const pattern = pick('ab*?/', Math.floor(random() * 7));
    const text = pick('abAB/?*', Math.floor(random() * 9));
    for (const questionMark of [true, false]) {
      for (const caseSensitive of [true, false]) {
        assert.equal(globMatcher(pattern, { questionMark, caseSensitive })(text), reference(pattern, questionMark, caseSensitive).test(text), `${JSON.stringify(pattern)} ${JSON.stringify(text)} ${questionMark} ${caseSensitive}`);
      }
    }
  }
});

test('glob: a pattern that makes a RegExp backtrack for minutes answers at once', () => {
  const text = 'animals_cat_colors_and_patterns_x'.repeat(4);
  const started = performance.now();
  assert.equal(globMatcher(`${'*?'.repeat(18)}Z`, { questionMark: true })(text), false);
  assert.equal(globMatcher(`${'*'.repeat(10)}q`, { caseSensitive: true })('a'.repeat(200)), false);
  // (Not a timing test of speed: the RegExp of the first took 28 s at 14 pairs on a shorter text.)
  assert.ok(performance.now() - started < 5000);
});
