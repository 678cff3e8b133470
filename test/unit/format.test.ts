import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { formatPrompt, mayNeedFormatting, separatorStyleOf, type FormatOptions } from '../../src/prompt/format';
import { parsePrompt, type ParseOptions } from '../../src/prompt/parser';
import { createRandom } from '../../src/util/random';

const SPACED: FormatOptions = { separator: 'commaSpace', tagWords: 'keep' };
const BARE: FormatOptions = { separator: 'comma', tagWords: 'keep' };

/**
 * What a line means to the parser, whitespace and empty separators aside: its tags (dictionary
 * names) and syntax in order, each with the brackets around it. Formatting must keep it.
 */
function reading(line: string, options: ParseOptions = {}): string[] {
  const parsed = parsePrompt(line, options);
  const items: { at: number; what: string }[] = [];
  const path = (group: number | undefined): string => {
    let kinds = '';
    for (let g = group; g !== undefined; g = parsed.groups[g]!.parent) kinds = parsed.groups[g]!.kind + kinds;
    return kinds;
  };
  for (const tag of parsed.tags) items.push({ at: tag.start, what: `tag ${tag.name} in ${path(tag.group)}` });
  for (const token of parsed.tokens) {
    const text = line.slice(token.start, token.end);
    items.push({ at: token.start, what: `${token.kind} ${token.kind === 'comment' ? text.trimEnd() : text.replace(/\s+/g, '')}` });
  }
  parsed.groups.forEach((group) => items.push({ at: group.open, what: `open ${group.kind}${group.close === undefined ? ' unclosed' : ''}` }));
  for (const at of parsed.separators) if (line[at] !== ',') items.push({ at, what: `separator ${line[at]}` });
  return items.sort((a, b) => a.at - b.at).map((item) => item.what);
}

/** A line the cheap check passes over is one formatting would leave as it is. */
function assertCheapCheckHolds(line: string): void {
  for (const options of [SPACED, BARE]) {
    if (!mayNeedFormatting(line, options)) assert.equal(formatPrompt(line, options), line, `${JSON.stringify(line)} passed over with ${options.separator}`);
  }
}

test('format: one separator between tags, no empty tags, no space inside brackets or before a weight', () => {
  const cases: [string, string, string][] = [
    // input, with `, `, with `,`
    ['1girl,solo ,  long  hair', '1girl, solo, long hair', '1girl,solo,long hair'],
    ['( long  hair : 1.2 ) ,, smile ,', '(long hair:1.2), smile,', '(long hair:1.2),smile,'],
    [', , 1girl,, ,solo, ', '1girl, solo,', '1girl,solo,'],
    ['(, a, b ,)', '(a, b,)', '(a,b,)'],
    ['[ cat : dog : 0.5 ], [ cat | dog ], { red|blue }', '[cat:dog:0.5], [cat | dog], {red|blue}', '[cat:dog:0.5],[cat | dog],{red|blue}'],
    ['1.5 :: rain , night ::, -1::blur::', '1.5::rain, night::, -1::blur::', '1.5::rain,night::,-1::blur::'],
    ['1girl : 1.2 AND 2girls', '1girl :1.2 AND 2girls', '1girl :1.2 AND 2girls'],
    ['smile <lora:add detail: 0.5> ,BREAK,  1girl', 'smile <lora:add detail: 0.5>, BREAK, 1girl', 'smile <lora:add detail: 0.5>,BREAK,1girl'],
    ['a,b   //  keep ,, this  ', 'a, b //  keep ,, this', 'a,b //  keep ,, this'],
    ['a,b,#note', 'a, b, #note', 'a,b,#note'],
    ['{2$$ red | blue },__color__  shirt', '{2$$ red | blue}, __color__  shirt', '{2$$ red | blue},__color__  shirt'],
    ['{1-3$$ and $$a|b}', '{1-3$$ and $$a|b}', '{1-3$$ and $$a|b}'],
    ['ganyu \\(genshin impact\\),>_<, ( >_< :1.2),;)', 'ganyu \\(genshin impact\\), >_<, (>_<:1.2), ;)', 'ganyu \\(genshin impact\\),>_<,(>_<:1.2),;)'],
    ['embedding:EasyNegative ,  ( (red bow) )', 'embedding:EasyNegative, ((red bow))', 'embedding:EasyNegative,((red bow))'],
    // `3:` is a face: joined to its weight it would read as NovelAI's `::`.
    ['( 3: : 1.2 ), 1girl', '(3: :1.2), 1girl', '(3: :1.2),1girl'],
    // Prompt editing's own `::` stays joined (it became `[smile: :5]`).
    ['[smile::5], [cat::dog:0.5]', '[smile::5], [cat::dog:0.5]', '[smile::5],[cat::dog:0.5]'],
    ['', '', ''],
    ['   ', '', ''],
    // Without its empty first separator the line would read as a comment: left as it is.
    [', # portraits', ', # portraits', ', # portraits'],
    [' ,, // note ', ' ,, // note ', ' ,, // note '],
    // Tabs alone on a line: the quick check must see them too (Format Document skips lines it passes).
    ['long\thair,\tsmile', 'long hair, smile', 'long hair,smile'],
    ['(\tsmile:1.2)', '(smile:1.2)', '(smile:1.2)'],
  ];
  for (const [input, spaced, bare] of cases) {
    assertCheapCheckHolds(input);
    assert.equal(formatPrompt(input, SPACED), spaced, `${JSON.stringify(input)} with ", "`);
    assert.equal(formatPrompt(input, BARE), bare, `${JSON.stringify(input)} with ","`);
    assert.deepEqual(reading(spaced), reading(input), input);
    assert.deepEqual(reading(bare), reading(input), input);
  }
});

test('format: a tag the dictionary knows is one tag; emphasis after a tag keeps its space', () => {
  const known = new Set(['smile', 'blush', 'ganyu_(genshin_impact)']);
  const options: FormatOptions = { ...SPACED, isTag: (name) => known.has(name) };
  assert.equal(formatPrompt('smile  ( blush ),ganyu  (genshin impact)', options), 'smile (blush), ganyu (genshin impact)');
});

const posts = fs
  .readFileSync(path.join(__dirname, '..', '..', 'training', 'tests', 'data', 'posts-sample.tsv'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => line.split('\t').pop()!.split(',').filter(Boolean));

test('format: real posts already written as the converter writes them (`a,b`) or as a prompt (`a, b`) stay as they are', () => {
  assert.ok(posts.length >= 300);
  let passedOver = 0;
  for (const tags of posts) {
    assert.equal(formatPrompt(tags.join(','), BARE), tags.join(','));
    const prompt = tags.map((tag) => tag.replace(/_/g, ' ').replace(/[()]/g, '\\$&')).join(', ');
    assert.equal(formatPrompt(prompt, SPACED), prompt);
    if (!mayNeedFormatting(tags.join(','), BARE) && !mayNeedFormatting(prompt, SPACED)) passedOver++;
  }
  // The cheap check passes over a tidy file's lines (a face such as `;)` or `#` is looked at).
  assert.ok(passedOver > posts.length * 0.9, `${passedOver} of ${posts.length}`);
});

test('format: messy prompts built from real posts read the same after formatting, and formatting twice changes nothing', () => {
  const next = createRandom(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const spaces = ['', '', ' ', '  ', '\t'];
  const separators = [',', ', ', ' ,', ' , ', ',,', ', ,', ',\t'];
  let changed = 0;
  for (const tags of posts) {
    const parts = tags.map((tag) => {
      let text = tag.replace(/[()]/g, '\\$&');
      if (next() < 0.5) text = text.replace(/_/g, pick([' ', '  ']));
      const roll = next();
      if (roll < 0.1) return `(${pick(spaces)}${text}${pick(spaces)}:${pick(spaces)}${(0.5 + next()).toFixed(1)}${pick(spaces)})`;
      if (roll < 0.15) return `[${pick(spaces)}${text}${pick(spaces)}]`;
      if (roll < 0.18) return `[${text}${pick(spaces)}|${pick(spaces)}${pick(tags)}]`;
      if (roll < 0.2) return `{${pick(['', '2$$'])}${text}|${pick(tags)}}`;
      if (roll < 0.22) return `${text} <lora:${pick(tags)}:${pick(spaces)}0.6>`;
      if (roll < 0.24) return 'BREAK';
      if (roll < 0.26) return `__${pick(tags)}__`;
      return text;
    });
    let line = pick(spaces) + parts.map((part, i) => (i === 0 ? part : pick(separators) + pick(spaces) + part)).join('') + pick(['', ',', ', ', ' ,  ']);
    if (next() < 0.1) line += ` // ${pick(tags)},, ${pick(tags)}`;
    for (const options of [SPACED, BARE]) {
      const formatted = formatPrompt(line, options);
      assert.deepEqual(reading(formatted), reading(line), `${line}\n→ ${formatted}`);
      assert.equal(formatPrompt(formatted, options), formatted, `twice: ${line}`);
      assert.doesNotMatch(formatted.replace(/ \/\/.*$/, '').replace(/<[^>]*>/g, '<>'), /,\s*,|\(\s|\s\)|[^:]\s:\d\.\d|\s{2}|^\s|\s$/, `${line}\n→ ${formatted}`);
      if (formatted !== line) changed++;
      assertCheapCheckHolds(line);
      assertCheapCheckHolds(formatted);
    }
  }
  assert.ok(changed > posts.length, 'most messy lines change');
});

test('format: tags\' words rewritten with spaces or underscores, only for tags the dictionary knows; faces keep theirs', () => {
  const known = new Set(['long_hair', 'blue_eyes', '^_^', 'ganyu_(genshin_impact)']);
  const isTag = (name: string): boolean => known.has(name);
  const line = 'long_hair, (blue  eyes:1.2), ^_^, my_lora_word, ganyu_\\(genshin_impact\\), <lora:long_hair:1>';
  assert.equal(formatPrompt(line, { ...SPACED, tagWords: 'spaces', isTag }), 'long hair, (blue eyes:1.2), ^_^, my_lora_word, ganyu \\(genshin impact\\), <lora:long_hair:1>');
  assert.equal(formatPrompt(line, { ...SPACED, tagWords: 'underscores', isTag }), 'long_hair, (blue_eyes:1.2), ^_^, my_lora_word, ganyu_\\(genshin_impact\\), <lora:long_hair:1>');
  assert.equal(formatPrompt(line, { ...SPACED, isTag }), 'long_hair, (blue eyes:1.2), ^_^, my_lora_word, ganyu_\\(genshin_impact\\), <lora:long_hair:1>');
});

test('format: a file\'s separator style is what most of its commas have after them', () => {
  const of = (lines: string[]): string => separatorStyleOf((i) => lines[i]!, lines.length);
  assert.equal(of(['a,b,c', 'd,e', 'f, g']), 'comma');
  assert.equal(of(['a, b, c', 'd,e']), 'commaSpace');
  assert.equal(of(['# a, comment', 'solo']), 'commaSpace');
  assert.equal(of([]), 'commaSpace');
  // Comments are prose, an empty tag has no style.
  assert.equal(of(['# a,b,c,d', 'a, b // c,d,e,f', 'g,,h, i']), 'commaSpace');
  // A trailing comma says nothing.
  assert.equal(of(['a,b,', 'c, d,']), 'commaSpace');
  // Nor does an empty tag's comma, at the line's start or between two commas (formatting takes them
  // out); and `//` inside a tag (`x//c`) is no comment, as the parser reads it.
  assert.equal(of([',a, b', ', ,c, d', 'e,, f']), 'commaSpace');
  assert.equal(of(['x//c, y', ',#1girl']), 'commaSpace');
  assert.equal(of(['a, b // c,d,e', '(// c,d,e', 'f,g,h']), 'comma');
  // So formatting a file twice gives what formatting it once gives (a fuzz-made file that did not).
  const lines = [',#1girl', ':1.2x//c, y,)z'];
  const formatted = (input: string[]): string[] => input.map((line) => formatPrompt(line, { separator: of(input) as 'comma' | 'commaSpace', tagWords: 'keep' }));
  const once = formatted(lines);
  assert.deepEqual(formatted(once), once);
});

test('formatPrompt keeps a space a backslash escapes: `smile\\ , blush` stays two tags, `(smile\\ :1.2)` a weighted one', () => {
  const options = { separator: 'commaSpace' as const, tagWords: 'keep' as const };
  for (const line of ['smile\\ , blush', '(smile\\ :1.2), blush', 'smile\\ ']) assert.equal(formatPrompt(line, options), line);
  assert.deepEqual(parsePrompt('smile\\ , blush').tags.map((tag) => tag.text), ['smile\\ ', 'blush']);
  // An escaped backslash escapes no space: that one is trimmed as before.
  assert.equal(formatPrompt('a\\\\ , b', options), 'a\\\\, b');
});
