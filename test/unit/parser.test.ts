import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commentLineText, contextAt, continuationColumn, isInAlternation, normalizeTag, parsePrompt, removalRange, wildcardName } from '../../src/prompt/parser';
import { continuationEdit, escapeParentheses, formatTag, hasUnescapedParentheses, isKaomoji, separatorAfter, styleOf, DEFAULT_INSERT_STYLE } from '../../src/prompt/insertStyle';

const names = (line: string): string[] => parsePrompt(line).tags.map((t) => t.name);
/** Each tag's raw text must be exactly the text at its span: the parser never rewrites. */
function assertSpansExact(line: string): void {
  for (const tag of parsePrompt(line).tags) assert.equal(line.slice(tag.start, tag.end), tag.text);
}

test('parser: plain comma-separated tags, spaces and underscores are the same tag', () => {
  assert.deepEqual(names('1girl, solo,long hair ,  blue_eyes'), ['1girl', 'solo', 'long_hair', 'blue_eyes']);
  assertSpansExact('1girl, solo,long hair ,  blue_eyes');
});

test('parser: weights and emphasis brackets are not part of tags', () => {
  const line = '(long hair:1.2), [blue eyes], {smile}, ((red bow)), (solo:0.8)';
  assert.deepEqual(names(line), ['long_hair', 'blue_eyes', 'smile', 'red_bow', 'solo']);
  const weights = parsePrompt(line).tokens.filter((t) => t.kind === 'weight').map((t) => line.slice(t.start, t.end));
  assert.deepEqual(weights, [':1.2', ':0.8']);
  assertSpansExact(line);
});

test('parser: escaped and in-tag parentheses belong to the tag', () => {
  assert.deepEqual(names('ganyu \\(genshin impact\\), hu_tao_(genshin_impact), (ganyu \\(genshin impact\\):1.1)'), [
    'ganyu_(genshin_impact)', 'hu_tao_(genshin_impact)', 'ganyu_(genshin_impact)',
  ]);
});

test('parser: LoRA, hypernetworks, BREAK, AND and comments are tokens, not tags', () => {
  const line = '1girl, <lora:add_detail:0.8>, solo BREAK <hypernet:anime:1> smile AND outdoors // a comment, not_a_tag';
  assert.deepEqual(names(line), ['1girl', 'solo', 'smile', 'outdoors']);
  const kinds = parsePrompt(line).tokens.map((t) => t.kind);
  assert.deepEqual(kinds, ['network', 'keyword', 'network', 'keyword', 'comment']);
  assert.deepEqual(names('# heading comment'), []);
  assert.deepEqual(names('#compass, .hack//'), ['#compass', '.hack//']);
});

test('parser: a LoRA or a weighted group right after a tag (no comma) is syntax, not part of the tag', () => {
  assert.deepEqual(names('1girl, smile <lora:add_detail:0.8>'), ['1girl', 'smile']);
  assert.deepEqual(parsePrompt('1girl, smile <lora:add_detail:0.8>').tokens.map((t) => t.kind), ['network']);
  assert.deepEqual(names('long hair <hypernet:foo:1>, smile'), ['long_hair', 'smile']);
  assert.deepEqual(names('1girl, smile<lora:x:1>'), ['1girl', 'smile']);
  assert.deepEqual(names('1girl (smile:1.2), solo'), ['1girl', 'smile', 'solo']);
  assert.deepEqual(names('1girl, smile  (blush:1.1)'), ['1girl', 'smile', 'blush']);
  assert.deepEqual(names('smile ((blush:1.2))'), ['smile', 'blush']);
  assert.deepEqual(names('smile [blush]'), ['smile', 'blush']);
  assert.deepEqual(names('smile [cat|dog]'), ['smile', 'cat', 'dog']);
  assertSpansExact('1girl, smile  (blush:1.1), smile <lora:x:1>');
  // Still part of the tag: qualifiers, escapes, faces and names holding `<` or `(`.
  assert.deepEqual(names('ganyu (genshin impact), ganyu_(genshin_impact), ganyu \\(genshin impact\\)'), Array(3).fill('ganyu_(genshin_impact)'));
  assert.deepEqual(names('ganyu (gensh'), ['ganyu_(gensh'], 'a qualifier being typed');
  assert.deepEqual(names('gauss <bokashi, jagdpanzer 38(t)'), ['gauss_<bokashi', 'jagdpanzer_38(t)']);
});

test('parser: `tag (word)` is emphasis only when the dictionary knows the tag and not tag + qualifier', () => {
  const known = new Set(['smile', 'blush', 'ganyu', 'ganyu_(genshin_impact)']);
  const isTag = (name: string): boolean => known.has(name);
  const with_ = (line: string): string[] => parsePrompt(line, { isTag }).tags.map((t) => t.name);
  assert.deepEqual(with_('smile (blush)'), ['smile', 'blush']);
  assert.deepEqual(with_('ganyu (genshin impact)'), ['ganyu_(genshin_impact)']);
  assert.deepEqual(with_('smiel (blush)'), ['smiel_(blush)'], 'an unknown tag keeps its parentheses');
  assert.deepEqual(names('smile (blush)'), ['smile_(blush)'], 'without a dictionary a `(` in a tag stays literal');
  // A qualifier holding `:number` is a weight to a1111, but the tag where tag + qualifier is one (67 tags: vertin_(reverse:1999)).
  const withWeights = new Set([...known, 'vertin', 'vertin_(reverse:1999)']);
  const weighed = (line: string): string[] => parsePrompt(line, { isTag: (name) => withWeights.has(name) }).tags.map((t) => t.name);
  assert.deepEqual(weighed('vertin (reverse:1999), smile (blush:1.2)'), ['vertin_(reverse:1999)', 'smile', 'blush']);
  assert.deepEqual(parsePrompt('vertin (reverse:1999)', { isTag: (name) => withWeights.has(name) }).tokens, [], 'no weight token');
  // A name ending in `:` that ends [ ] is the tag (`d:` 8.7k posts, `3:` 7.8k), not `d` and a separator.
  const colonNames = new Set([...known, 'd:', '3:']);
  const ending = (line: string): string[] => parsePrompt(line, { isTag: (name) => colonNames.has(name) }).tags.map((t) => t.name);
  assert.deepEqual(ending('[d:], [smile, 3: ], [smile:], [cat:d:0.5]'), ['d:', 'smile', '3:', 'smile', 'cat', 'd']);
});

test('parser: alternation and prompt editing split tags inside square brackets', () => {
  assert.deepEqual(names('[cat ears|dog ears], [day:night:0.5]'), ['cat_ears', 'dog_ears', 'day', 'night']);
  assert.deepEqual(names('|_|, :|, >_<, ^_^, :d, <|>_<|>'), ['|_|', ':|', '>_<', '^_^', ':d', '<|>_<|>']);
  // `[:to:when]` adds `to` at a step; a face in square brackets (`[:d]`) stays a face.
  assert.deepEqual(names('[:smile:0.5], x, [: long hair :0.3], [:d], [:3:0.5]'), ['smile', 'x', 'long_hair', ':d', '3']);
  assertSpansExact('[:smile:0.5], x, [: long hair :0.3], [:d]');
  // Alternation has no `:when` in a1111's grammar: after a `|` in [ ], `:3` is the face, not a weight.
  assert.deepEqual(names('[smile|:3], [:3|smile], [smile:3]'), ['smile', ':3', ':3', 'smile', 'smile']);
  assert.deepEqual(names('[smile|:d|:3], [:o|:0]'), ['smile', ':d', ':3', ':o', ':0'], 'no [:to:when] across a |');
  assertSpansExact('[smile|:3], [:3|smile]');
});

test("parser: ComfyUI's random choice {a|b} splits its options; a face holding | stays one tag in any bracket", () => {
  assert.deepEqual(names('{red hair|blue hair}, {day|night}, {{masterpiece}}'), ['red_hair', 'blue_hair', 'day', 'night', 'masterpiece']);
  assert.deepEqual(names('[|_|], {|_|}, {:|}, [;|], (<|>_<|>:1.2), {smile|:|}'), ['|_|', '|_|', ':|', ';|', '<|>_<|>', 'smile', ':|']);
  assertSpansExact('{red hair|blue hair}, [|_|], {smile|:|}');
  // A face before the `|` that separates: the `|` is not the face's (none has a letter or space after its `|`).
  assert.deepEqual(names('[>_<|smile], [<|>_<|>|smile], [^_^ | blush], {smile|<|>_<|>}'), ['>_<', 'smile', '<|>_<|>', 'smile', '^_^', 'blush', 'smile', '<|>_<|>']);
  assertSpansExact('[>_<|smile], [<|>_<|>|smile]');
});

test("parser: NovelAI's numeric sections (`1.5::rain, night::`) are weights, not tags", () => {
  const weights = (line: string): string[] => parsePrompt(line).tokens.filter((t) => t.kind === 'weight').map((t) => line.slice(t.start, t.end));
  assert.deepEqual(names('1.5::rain, night::, 1girl'), ['rain', 'night', '1girl']);
  assert.deepEqual(weights('1.5::rain, night::, 1girl'), ['1.5::', '::']);
  assert.deepEqual(names('-1::blurry, lowres::, 2 :: smile ::'), ['blurry', 'lowres', 'smile']);
  assert.deepEqual(weights('-1::blurry, lowres::, 2 :: smile ::'), ['-1::', '::', '2 ::', '::']);
  assert.deepEqual(names('.5::solo'), ['solo'], 'a section left open runs to the end of the line');
  assertSpansExact('1.5::rain, night::, -1:: blurry ::, 1girl');
  // Names holding one colon are still tags; a1111's `[from::0.5]` is still prompt editing.
  assert.deepEqual(names(':d, d:, :3, 3:, re:zero'), [':d', 'd:', ':3', '3:', 're:zero']);
  assert.deepEqual(names('1.5:::d, :3::'), [':d', ':3']);
  assert.deepEqual(names('[smile::0.5], 1girl'), ['smile', '1girl']);
  assert.deepEqual(weights('[smile::0.5], 1girl'), [':0.5']);
});

test('parser: embeddings (ComfyUI), Regional Prompter keywords and the weights of AND segments are syntax', () => {
  const tokens = (line: string): string[] => parsePrompt(line).tokens.map((t) => `${t.kind} ${line.slice(t.start, t.end)}`);
  assert.deepEqual(names('embedding:EasyNegative, 1girl, (embedding:bad_prompt_v2.pt:0.8), embedding'), ['1girl', 'embedding']);
  assert.deepEqual(tokens('embedding:EasyNegative, (embedding:bad_prompt_v2.pt:0.8)'), ['network embedding:EasyNegative', 'network embedding:bad_prompt_v2.pt', 'weight :0.8']);
  assert.deepEqual(names('2girls ADDCOMM 1girl, red hair ADDCOL 1girl, blue hair ADDROW x ADDBASE y'), ['2girls', '1girl', 'red_hair', '1girl', 'blue_hair', 'x', 'y']);
  assert.deepEqual(tokens('1girl :1.2 AND 2girls:0.8 AND solo :-.5'), ['weight :1.2', 'keyword AND', 'weight :0.8', 'keyword AND', 'weight :-.5']);
  assert.deepEqual(names('1girl :1.2 AND 2girls:0.8 AND solo :-.5'), ['1girl', '2girls', 'solo']);
  // Without AND a prompt has no segment weight: a face ending it stays a tag.
  assert.deepEqual(names('1girl, smile, :3'), ['1girl', 'smile', ':3']);
  assert.deepEqual(names('1girl, :3 AND smile, :3'), ['1girl', 'smile']);
  assertSpansExact('embedding:x, 1girl :1.2 AND 2girls ADDCOL solo');
});

test("parser: Danbooru's category prefixes (artist:, char:, …) are syntax; the tag after them is the tag", () => {
  const tokens = (line: string): string[] => parsePrompt(line).tokens.map((t) => `${t.kind} ${line.slice(t.start, t.end)}`);
  const line = 'artist:wlop, 1girl, char:hatsune miku, (artist:ask_(askzy):1.2), Meta:highres, copyright:';
  assert.deepEqual(names(line), ['wlop', '1girl', 'hatsune_miku', 'ask_(askzy)', 'highres']);
  assert.deepEqual(tokens(line), ['category artist:', 'category char:', 'category artist:', 'weight :1.2', 'category Meta:', 'category copyright:']);
  assertSpansExact(line);
  assert.deepEqual(names('source#hug, target#hug, mutual#holding hands'), ['hug', 'hug', 'holding_hands']);
  assert.equal(contextAt('target#hu', 9).category, undefined, 'an action prefix names no category');
  assert.deepEqual(contextAt('1girl, target#', 14).current, { start: 14, end: 14, typed: '', prefix: '' }, 'a tag starts right after it, as after artist:');
  assert.deepEqual(contextAt('1girl, artist:', 14).current, { start: 14, end: 14, typed: '', prefix: '' });
  // Every name README lists: gen:/general: too.
  assert.deepEqual(names('gen:long hair, general:smile'), ['long_hair', 'smile']);
  assert.equal(contextAt('gen:lo', 6).category, 'general');
  assert.equal(contextAt('1girl, general:sm', 17).category, 'general');
  // Not a prefix: prompt editing in square brackets, a weight, a prefix-like word inside a tag.
  assert.deepEqual(names('[art:photo:0.5], (art:1.2), smile artist:x'), ['art', 'photo', 'art', 'smile_artist:x']);
  assert.deepEqual(tokens('[art:photo:0.5], (art:1.2)'), ['weight :0.5', 'weight :1.2']);
});

test("parser: Dynamic Prompts' wildcards (`__hair_color__`) and choice counts (`{2$$a|b}`) are syntax, not tags", () => {
  const tokens = (line: string): string[] => parsePrompt(line).tokens.map((t) => `${t.kind} ${line.slice(t.start, t.end)}`);
  const line = '1girl, __hair_color__, (__animals/*__:1.2), __color__ shirt, {2$$__poses__|smile|1-3$$x}, {1-3$$ and $$red|blue}, smile';
  assert.deepEqual(names(line), ['1girl', 'smile', '1-3$$x', 'red', 'blue', 'smile']);
  assert.deepEqual(tokens(line), [
    'wildcard __hair_color__', 'wildcard __animals/*__', 'weight :1.2', 'wildcard __color__ shirt',
    'weight 2$$', 'wildcard __poses__', 'weight 1-3$$ and $$',
  ]);
  assertSpansExact(line);
  // As Dynamic Prompts reads them: a sampler, spaces in the name, a template's variables.
  const written = '__~hair_color__, __my colors__ shirt, __outfit(color=red, size=s)__, (__my colors__:1.1), __a__ __b__';
  assert.deepEqual(names(written), []);
  assert.deepEqual(tokens(written), ['wildcard __~hair_color__', 'wildcard __my colors__ shirt', 'wildcard __outfit(color=red, size=s)__', 'wildcard __my colors__', 'weight :1.1', 'wildcard __a__ __b__']);
  assert.deepEqual(parsePrompt(written).tokens.filter((t) => t.kind === 'wildcard').map((t) => wildcardName(written.slice(t.start, t.end))), ['hair_color', 'my colors', 'outfit', 'my colors', 'a']);
  // A name holds no `__`, `$` or `#` (Dynamic Prompts' path): none reaches across words to a later `__`.
  const across = '__hair__long hair__, __a $b__, __a#b__';
  assert.deepEqual(parsePrompt(across).tokens.filter((t) => t.kind === 'wildcard').map((t) => wildcardName(across.slice(t.start, t.end))), []);
  // Dynamic Prompts' variables: a value (or a default) is read as a choice's options, up to its `}`.
  const variables = '${c=__hair_color__} ${c}, ${ d ?=! {red|blue} }, ${e:smile}, ${c} hair, $x, ${c';
  assert.deepEqual(names(variables), ['red', 'blue', 'smile', '$x', '${c']);
  assert.deepEqual(tokens(variables), ['variable ${c=', 'wildcard __hair_color__', 'variable ${c}', 'variable ${ d ?=! ', 'variable ${e:', 'variable ${c} hair']);
  assert.deepEqual(parsePrompt(variables).groups.map((g) => variables.slice(g.open, (g.close ?? -1) + 1)), ['{c=__hair_color__}', '{ d ?=! {red|blue} }', '{red|blue}', '{e:smile}']);
  // Not a wildcard: no closing `__`, an underscore inside a name, a count outside `{ }`.
  assert.deepEqual(names('__hair, macross__frontier, long __x__ hair, 2$$a'), ['__hair', 'macross__frontier', 'long___x___hair', '2$$a']);
  // The first option of a choice is typed right after its count; a wildcard is no context of the model.
  assert.deepEqual(contextAt('1girl, {2$$', 11).current, { start: 11, end: 11, typed: '', prefix: '' });
  assert.deepEqual(contextAt('__x__, 1girl, __hair_c', 22).before, ['1girl']);
  assert.equal(contextAt('__hair_color__, 1girl', 5).current, undefined);
});

test('contextAt: the category a prefix names, for the tag typed after it', () => {
  assert.deepEqual(contextAt('1girl, artist:wl', 16).current, { start: 14, end: 16, typed: 'wl', prefix: 'wl' });
  assert.equal(contextAt('1girl, artist:wl', 16).category, 'artist');
  assert.equal(contextAt('1girl, artist:', 14).category, 'artist');
  assert.equal(contextAt('char:hats', 9).category, 'character');
  assert.equal(contextAt('COPY:tou', 8).category, 'copyright');
  assert.equal(contextAt('1girl, wl', 9).category, undefined);
  assert.deepEqual(contextAt('artist:wlop, sm', 15).before, ['wlop']);
});

test('parser: unbalanced or unknown syntax stays as tag text', () => {
  const line = 'tag)), ((unclosed, weird:stuff, a}b';
  assertSpansExact(line);
  assert.ok(names(line).includes('weird:stuff'));
});

test('contextAt: plain tags left of the cursor and the span of the tag being typed', () => {
  const line = '1girl, solo, lo';
  const ctx = contextAt(line, line.length);
  assert.deepEqual(ctx.before, ['1girl', 'solo']);
  assert.deepEqual(ctx.current, { start: 13, end: 15, typed: 'lo', prefix: 'lo' });
  const middle = contextAt('1girl, long hair, solo', 9);
  assert.deepEqual(middle.before, ['1girl']);
  assert.deepEqual(middle.current, { start: 7, end: 16, typed: 'lo', prefix: 'lo' });
});

test('contextAt: inside weights, escapes and LoRA', () => {
  const weighted = '1girl, (long ha:1.2)';
  const w = contextAt(weighted, 15);
  assert.deepEqual(w.current, { start: 8, end: 15, typed: 'long ha', prefix: 'long_ha' });
  assert.equal(contextAt(weighted, 18).current, undefined, 'inside the weight number');
  const escaped = 'ganyu \\(gen';
  assert.deepEqual(contextAt(escaped, escaped.length).current, { start: 0, end: 11, typed: 'ganyu \\(gen', prefix: 'ganyu_(gen' });
  const lora = '1girl, <lora:detail:0.8>, sm';
  assert.equal(contextAt(lora, 15).current, undefined, 'inside a LoRA');
  assert.deepEqual(contextAt(lora, lora.length).before, ['1girl']);
  assert.deepEqual(contextAt(lora, lora.length).current?.typed, 'sm');
});

test('contextAt: an empty tag after a separator, a trailing space continues a multi-word tag', () => {
  const afterComma = contextAt('1girl, solo, ', 13);
  assert.deepEqual(afterComma.current, { start: 13, end: 13, typed: '', prefix: '' });
  assert.deepEqual(afterComma.before, ['1girl', 'solo']);
  const typing = contextAt('1girl, long ', 12);
  assert.deepEqual(typing.current, { start: 7, end: 12, typed: 'long ', prefix: 'long_' });
  assert.equal(contextAt('(solo:1.2)', 10).current, undefined, 'right after a closing bracket');
});

test('contextAt: in a NovelAI section the tag after `1.5::` is typed, its weight is not context', () => {
  assert.deepEqual(contextAt('1.5::rain, ni', 13).before, ['rain']);
  assert.deepEqual(contextAt('1.5::rain, ni', 13).current, { start: 11, end: 13, typed: 'ni', prefix: 'ni' });
  assert.deepEqual(contextAt('1girl, 1.5::', 12).current, { start: 12, end: 12, typed: '', prefix: '' });
  assert.deepEqual(contextAt('1girl, 1.5::', 12).before, ['1girl']);
  assert.deepEqual(contextAt('1.5::rain::, s', 14).before, ['rain']);
  assert.equal(contextAt('1girl, 1.5::', 9).current, undefined, 'inside the weight number');
});

test('contextAt: nothing to complete right after BREAK/AND until a space follows', () => {
  for (const line of ['1girl, BREAK', 'BREAK', '1girl BREAK', '1girl, AND']) assert.equal(contextAt(line, line.length).current, undefined, line);
  assert.deepEqual(contextAt('1girl, BREAK ', 13).current, { start: 13, end: 13, typed: '', prefix: '' });
  assert.deepEqual(contextAt('1girl BREAK ', 12).before, ['1girl']);
});

test('removalRange: removes a duplicate with its separator, its prefix, or its whole group or section', () => {
  const remove = (line: string, index: number): string => {
    const r = removalRange(line, parsePrompt(line), index);
    return line.slice(0, r.start) + line.slice(r.end);
  };
  assert.equal(remove('1girl, solo, smile, solo', 3), '1girl, solo, smile');
  assert.equal(remove('solo, 1girl, solo, smile', 0), '1girl, solo, smile');
  assert.equal(remove('1girl, (solo:1.2), solo', 1), '1girl, solo');
  assert.equal(remove('1girl, (solo, smile:1.2)', 2), '1girl, (solo:1.2)');
  assert.equal(remove('smile , smile , blush', 1), 'smile , blush', 'the spaces around the separator go with it');
  assert.equal(remove('smile BREAK smile', 1), 'smile BREAK', 'no trailing space');
  assert.equal(remove('smile BREAK (smile), blush', 1), 'smile BREAK blush');
  assert.equal(remove('smile, smile BREAK blush', 1), 'smile BREAK blush');
  // A category prefix goes with its tag; a NovelAI section holding only the tag goes whole.
  assert.equal(remove('wlop, artist:wlop, smile', 1), 'wlop, smile', 'not "artist:smile"');
  assert.equal(remove('smile, artist:wlop', 1), 'smile');
  assert.equal(remove('(artist:wlop:1.2), smile', 0), 'smile');
  assert.equal(remove('1.5::smile::, smile', 0), 'smile', 'not "1.5::::"');
  assert.equal(remove('1.5::smile, blush::, smile', 0), '1.5::blush::, smile');
});

test('isInAlternation: options of [a|b], [a:b:0.5] and {a|b}, not plain brackets', () => {
  const at = (line: string, index: number): boolean => isInAlternation(line, parsePrompt(line), index);
  assert.equal(at('smile, [smile|blush]', 1), true);
  assert.equal(at('smile, [smile:blush:0.5]', 1), true);
  assert.equal(at('smile, [(smile:1.2)|blush]', 1), true);
  assert.equal(at('smile, {smile|blush}', 1), true);
  assert.equal(at('smile, {smile}', 1), false);
  assert.equal(at('smile, [smile]', 1), false);
  assert.equal(at('smile, (smile:1.2)', 1), false);
});

test('insert style: spaces keep kaomoji, parentheses are escaped, separators only where missing', () => {
  assert.equal(formatTag('long_hair', DEFAULT_INSERT_STYLE), 'long hair');
  assert.equal(formatTag('^_^', DEFAULT_INSERT_STYLE), '^_^');
  assert.equal(formatTag('o_o', DEFAULT_INSERT_STYLE), 'o_o');
  assert.ok(isKaomoji('>_<') && !isKaomoji('long_hair'));
  assert.ok(['^_^', 'o_o', '0_0', 'u_u', '|_|'].every(isKaomoji));
  assert.equal(formatTag('h&k_g11', DEFAULT_INSERT_STYLE), 'h&k g11', 'a gun, not a face (h&k_hk416 was h&k hk416)');
  assert.equal(formatTag('s&w_m&p', DEFAULT_INSERT_STYLE), 's&w m&p');
  assert.ok(!isKaomoji('t_k_g') && !isKaomoji('y_o_u_k_a'), 'names spelt out letter by letter');
  assert.equal(formatTag('ganyu_(genshin_impact)', DEFAULT_INSERT_STYLE), 'ganyu \\(genshin impact\\)');
  assert.equal(formatTag('ganyu_(genshin_impact)', { separator: 'underscores', escapeParentheses: false }), 'ganyu_(genshin_impact)');
  assert.equal(separatorAfter('1girl, lo', 9, DEFAULT_INSERT_STYLE), ', ');
  assert.equal(separatorAfter('lo, solo', 2, DEFAULT_INSERT_STYLE), '');
  assert.equal(separatorAfter('(lo:1.2)', 3, DEFAULT_INSERT_STYLE), '');
  assert.equal(separatorAfter('[lo|dog]', 3, DEFAULT_INSERT_STYLE), '', 'an alternation\'s | separates already');
  assert.equal(separatorAfter('{lo|dog}', 3, DEFAULT_INSERT_STYLE), '');
  assert.equal(separatorAfter('lo', 2, { appendComma: false }), '');
  assert.equal(styleOf('long hair', { ...DEFAULT_INSERT_STYLE, separator: 'underscores' }).separator, 'spaces');
  assert.equal(styleOf('long_hair', DEFAULT_INSERT_STYLE).separator, 'underscores');
});

test('continuationEdit: joins samples to the prompt with exactly one separator', () => {
  const apply = (line: string, column: number): string => {
    const e = continuationEdit(line, column, ['long_hair', 'smile'], DEFAULT_INSERT_STYLE);
    return line.slice(0, e.start) + e.text + line.slice(e.end);
  };
  assert.equal(apply('1girl, solo', 11), '1girl, solo, long hair, smile, ');
  assert.equal(apply('1girl, solo, ', 13), '1girl, solo, long hair, smile, ');
  assert.equal(apply('1girl, solo,', 12), '1girl, solo, long hair, smile, ');
  assert.equal(apply('1girl, solo ', 12), '1girl, solo, long hair, smile, ');
  assert.equal(apply('', 0), 'long hair, smile, ');
  assert.equal(apply('1girl, , blush', 7), '1girl, long hair, smile, blush');
});

test('continuationColumn / continuationEdit: never inside a weight, LoRA, keyword or comment', () => {
  const apply = (marked: string): string => {
    const column = marked.indexOf('§');
    const line = marked.replace('§', '');
    const e = continuationEdit(line, column, ['yuri', 'smile'], DEFAULT_INSERT_STYLE);
    return line.slice(0, e.start) + e.text + line.slice(e.end);
  };
  assert.equal(apply('1girl, (blush:1.§2), solo'), '1girl, (blush:1.2), yuri, smile, solo');
  assert.equal(apply('1girl, ((blush:1.§2)), solo'), '1girl, ((blush:1.2)), yuri, smile, solo');
  assert.equal(apply('1girl, <lora:fo§o:1>, blush'), '1girl, <lora:foo:1>, yuri, smile, blush');
  assert.equal(apply('1girl, <lora:fo§o:1>'), '1girl, <lora:foo:1>, yuri, smile, ');
  assert.equal(apply('1girl, solo // port§rait'), '1girl, solo, yuri, smile // portrait');
  assert.equal(apply('// comment§'), 'yuri, smile // comment');
  assert.equal(apply('1girl // c§'), '1girl, yuri, smile // c');
  // A click in the Related Tags view in the middle of a tag inserts after it.
  assert.equal(apply('1girl, long §hair, blush'), '1girl, long hair, yuri, smile, blush');
  assert.equal(apply('1girl, §long hair'), '1girl, yuri, smile, long hair');
  assert.equal(continuationColumn('1girl, solo', 11), 11);
  // In a tag inside brackets the tags would take the weight, emphasis or alternation: after the group.
  assert.equal(apply('1girl, (smi§le:1.2), blush'), '1girl, (smile:1.2), yuri, smile, blush');
  assert.equal(apply('1girl, (smile§:1.2), blush'), '1girl, (smile:1.2), yuri, smile, blush');
  assert.equal(apply('((master§piece)), 1girl'), '((masterpiece)), yuri, smile, 1girl');
  assert.equal(apply('[c§at|dog] ears, x'), '[cat|dog] ears, yuri, smile, x');
  // In a category prefix: after the tag it prefixes.
  assert.equal(apply('1girl, art§ist:wlop, smile'), '1girl, artist:wlop, yuri, smile, smile');
  assert.equal(apply('1girl, artist:wl§op'), '1girl, artist:wlop, yuri, smile, ');
  assert.equal(apply('1girl, artist:§'), '1girl, yuri, smile, artist:', 'before a prefix still waiting for its tag');
  // In a NovelAI section, as in brackets, the tags would take its weight: after its closing `::`.
  assert.equal(apply('1.5::rain, ni§ght::, 1girl'), '1.5::rain, night::, yuri, smile, 1girl');
  assert.equal(apply('1.§5::rain::'), '1.5::rain::, yuri, smile, ');
  assert.equal(apply('1girl, 2::rain§::'), '1girl, 2::rain::, yuri, smile, ');
  assert.equal(apply('1.5::rain, ni§ght'), '1.5::rain, night, yuri, smile, ', 'left open: it runs to the end anyway');
  assert.equal(apply('1girl, 1.5::§'), '1girl, 1.5::yuri, smile, ', 'the first tags of a new section');
  assert.equal(apply('1girl, 1.5::§::'), '1girl, 1.5::yuri, smile::', 'an empty section');
  // A comma the user wrote after BREAK stays, and the tags go after it; never two spaces.
  assert.equal(apply('1girl, BRE§AK, blush'), '1girl, BREAK, yuri, smile, blush');
  assert.equal(apply('1girl, BRE§AK blush'), '1girl, BREAK yuri, smile, blush');
  // An AND segment's weight ends its segment: the tags go before it, in it or just after it.
  assert.equal(apply('1girl :1.§2 AND 2girls'), '1girl, yuri, smile :1.2 AND 2girls');
  assert.equal(apply('1girl, smile :0.8§ AND x'), '1girl, smile, yuri, smile :0.8 AND x');
  assert.equal(apply('a AND b :0.5 §'), 'a AND b, yuri, smile :0.5 ');
  assert.equal(apply('1girl :1.2 AND 2gi§rls'), '1girl :1.2 AND 2girls, yuri, smile, ', 'a tag after it is no weight\'s');
});

test('normalizeTag', () => {
  assert.equal(normalizeTag('  Long   Hair '), 'long_hair');
  assert.equal(normalizeTag('ganyu \\(genshin impact\\)'), 'ganyu_(genshin_impact)');
});

test('parser invariants on random prompt syntax: spans are exact, ordered and never overlap', () => {
  const alphabet = 'ab ,()[]{}|:\\<>#/BREAKAND1.2_^';
  let seed = 11;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // Whole pieces of syntax too, so that prefixes, embeddings, sections and AND weights meet each other.
  const pieces = ['artist:', 'char:', 'target#', 'embedding:', 'x', '::', '1.5', ':1.2', 'AND', 'ADDCOL', 'BREAK', ', ', ' ', '|', '(', ')', '[', ']', '{', '}', ':|', '>_<', '\\', '<lora:a:1>', '//', '__x__', '__', '2$$', '$$'];
  for (let n = 0; n < 10000; n++) {
    let line = '';
    const length = Math.floor(random() * 40);
    const fromPieces = n % 2 === 1;
    for (let j = 0; j < length; j++) line += fromPieces ? pieces[Math.floor(random() * pieces.length)] : alphabet[Math.floor(random() * alphabet.length)];
    const parsed = parsePrompt(line);
    const spans = [
      ...parsed.tags.map((t) => ({ start: t.start, end: t.end, what: 'tag' })),
      ...parsed.tokens.map((t) => ({ start: t.start, end: t.end, what: t.kind })),
    ].sort((a, b) => a.start - b.start);
    for (const tag of parsed.tags) {
      assert.equal(line.slice(tag.start, tag.end), tag.text, `tag text at its span in ${JSON.stringify(line)}`);
      // Trimmed, but for a space a backslash escapes (`smile\ `).
      assert.ok(tag.text === tag.text.trim() || /(^|[^\\])(\\\\)*\\\s$/.test(tag.text), JSON.stringify(tag.text));
      assert.equal(tag.name, normalizeTag(tag.text));
    }
    for (let k = 1; k < spans.length; k++) {
      assert.ok(spans[k - 1]!.end <= spans[k]!.start, `${spans[k - 1]!.what} and ${spans[k]!.what} overlap in ${JSON.stringify(line)}`);
    }
    for (const at of parsed.separators) assert.ok(!spans.some((s) => s.start <= at && at < s.end), `separator ${at} inside a span of ${JSON.stringify(line)}`);
    // contextAt never throws and its current span, when any, lies on the line
    const cursor = contextAt(line, Math.floor(random() * (line.length + 1)), parsed);
    if (cursor.current) assert.ok(cursor.current.start <= cursor.current.end && cursor.current.end <= line.length);
    // and tags continuing the prompt there go in somewhere on the line, keeping all of its text
    const edit = continuationEdit(line, Math.floor(random() * (line.length + 1)), ['yuri'], DEFAULT_INSERT_STYLE);
    assert.ok(edit.start <= edit.end && edit.end <= line.length && edit.text.includes('yuri'), JSON.stringify({ line, edit }));
    assert.equal(line.slice(edit.start, edit.end).trim().replace(/^,/, '').trim(), '', `the edit replaces only spaces and a comma in ${JSON.stringify(line)}`);
  }
});

test('parser: a long prompt of unclosed parentheses parses in linear time, as before', () => {
  // `smile (blush` is a tag then a `(` that is never closed: each one scanned to the end of the line
  // for its `)` and for a weight, so 20,000 of them took ~10 s; 8,000 took 1.6 s.
  const line = Array.from({ length: 20000 }, () => 'smile (blush').join(', ');
  const started = performance.now();
  const parsed = parsePrompt(line, { isTag: () => true });
  const elapsed = performance.now() - started;
  assert.equal(parsed.tags.length, 20000);
  assert.equal(parsed.tags[1]!.text, 'smile (blush');
  assert.ok(elapsed < 1000, `parsed in ${elapsed.toFixed(0)} ms`);
  // The unclosed group still takes a weight written after it (`smile (blush:1.2`, being typed).
  assert.deepEqual(parsePrompt('1girl, smile (blush, solo:1.2', { isTag: () => true }).tags.map((t) => t.text), ['1girl', 'smile', 'blush', 'solo']);
  assert.deepEqual(parsePrompt('1girl, smile (blush, solo:1.2', { isTag: () => true }).tags.map((t) => t.text), parsePrompt('1girl, smile (blush, solo:1.2').tags.map((t) => t.text));
});

test('commentLineText: the text of a comment line without its marker; undefined for a prompt (a comment after tags too)', () => {
  assert.equal(commentLineText('  # portraits '), 'portraits');
  assert.equal(commentLineText('// backgrounds'), 'backgrounds');
  assert.equal(commentLineText('#'), '');
  assert.equal(commentLineText('#tag'), undefined, '`#` with no space after it is no comment');
  assert.equal(commentLineText('1girl, # note'), undefined);
  assert.equal(commentLineText(''), undefined);
});

test('unescaped parentheses: in a name of words only (faces keep theirs); escaping leaves escaped ones', () => {
  assert.equal(hasUnescapedParentheses('ganyu (genshin impact)'), true);
  assert.equal(hasUnescapedParentheses('hu_tao_(genshin_impact)'), true);
  assert.equal(hasUnescapedParentheses('ganyu \\(genshin impact\\)'), false);
  for (const face of [':)', '(o)_(o)', '\\(^o^)/', ';)']) assert.equal(hasUnescapedParentheses(face), false, face);
  // A face that opens a bracket it never closes makes a1111 weight the rest of the prompt; numbers count as words.
  for (const flagged of ['>:(', ':(', ';(', 'u2_(5798239)', 'm_(m073111)']) assert.equal(hasUnescapedParentheses(flagged), true, flagged);
  assert.equal(hasUnescapedParentheses('>:\\('), false);
  assert.equal(escapeParentheses('saber (fate) \\(x\\)'), 'saber \\(fate\\) \\(x\\)');
});

test('the commas a CJK input method types (，、) separate tags as , does: tags, the tag being typed, what continues a prompt', () => {
  assert.deepEqual(parsePrompt('1girl，long hair、smile, solo').tags.map((tag) => tag.text), ['1girl', 'long hair', 'smile', 'solo']);
  // The tag being typed starts after it (completion replaced `1girl， lo` whole).
  const typing = contextAt('1girl， lo', 9);
  assert.deepEqual([typing.current?.start, typing.current?.typed, typing.before], [7, 'lo', ['1girl']]);
  assert.deepEqual(contextAt('1girl，', 6).current, { start: 6, end: 6, typed: '', prefix: '' });
  // Nothing doubled: no `,` after it, no space (it carries its own); one before a following `，`.
  const apply = (line: string, edit: { start: number; end: number; text: string }): string => line.slice(0, edit.start) + edit.text + line.slice(edit.end);
  assert.equal(apply('1girl，', continuationEdit('1girl，', 6, ['smile'], DEFAULT_INSERT_STYLE)), '1girl，smile，');
  assert.equal(separatorAfter('a，b', 1, DEFAULT_INSERT_STYLE), '');
  // A tab or a full-width space after a comma is the space already there.
  assert.equal(apply('1girl,\t', continuationEdit('1girl,\t', 7, ['smile'], DEFAULT_INSERT_STYLE)), '1girl,\tsmile, ');
  assert.equal(apply('1girl,\u3000', continuationEdit('1girl,\u3000', 7, ['smile'], DEFAULT_INSERT_STYLE)), '1girl,\u3000smile, ');
});

test('what is inserted on a line written with ，or 、 is separated as that line is (the nearest separator before, else after)', () => {
  const apply = (line: string, edit: { start: number; end: number; text: string }): string => line.slice(0, edit.start) + edit.text + line.slice(edit.end);
  assert.equal(separatorAfter('1girl，long hair', 14, DEFAULT_INSERT_STYLE), '，');
  assert.equal(separatorAfter('1girl、long hair', 14, DEFAULT_INSERT_STYLE), '、');
  assert.equal(separatorAfter('1girl，long hair ', 14, DEFAULT_INSERT_STYLE), '，', 'no space to keep: it carries its own');
  assert.equal(separatorAfter('long hair smile，solo', 4, DEFAULT_INSERT_STYLE), '，', 'none before: the first after');
  assert.equal(separatorAfter('1girl，solo, long', 17, DEFAULT_INSERT_STYLE), ', ', 'the nearest before: the user switched');
  assert.equal(separatorAfter('1girl, solo，long', 17, DEFAULT_INSERT_STYLE), '，');
  assert.equal(separatorAfter('long', 4, DEFAULT_INSERT_STYLE), ', ');
  assert.equal(apply('1girl，solo', continuationEdit('1girl，solo', 11, ['long_hair', 'smile'], DEFAULT_INSERT_STYLE)), '1girl，solo，long hair，smile，');
  assert.equal(apply('1girl、solo // note', continuationEdit('1girl、solo // note', 10, ['smile'], DEFAULT_INSERT_STYLE)), '1girl、solo、smile // note');
  assert.equal(apply('1girl, solo', continuationEdit('1girl, solo', 11, ['smile'], DEFAULT_INSERT_STYLE)), '1girl, solo, smile, ');
});

test('separatorAfter: a trailing space of the line is the one after the comma (no second one)', () => {
  assert.equal(separatorAfter('1girl, long', 11, DEFAULT_INSERT_STYLE), ', ');
  assert.equal(separatorAfter('1girl, long ', 11, DEFAULT_INSERT_STYLE), ',');
  assert.equal(separatorAfter('1girl, long  \t', 11, DEFAULT_INSERT_STYLE), ',');
  assert.equal(separatorAfter('1girl, long smile', 11, DEFAULT_INSERT_STYLE), ', ');
  assert.equal(separatorAfter('1girl, long ', 11, { appendComma: false }), '');
});

test('nested emphasis after tags, `smile (smile (… blush))`: each ( is emphasis, and the names asked about stay short (the line was read once per level)', () => {
  const levels = 2000;
  const line = 'smile ('.repeat(levels) + 'blush' + ')'.repeat(levels);
  const asked: string[] = [];
  const parsed = parsePrompt(line, { isTag: (name) => (asked.push(name), name === 'smile' || name === 'blush') });
  assert.equal(parsed.tags.length, levels + 1);
  assert.equal(parsed.groups.length, levels);
  assert.deepEqual(new Set(parsed.tags.map((tag) => tag.name)), new Set(['smile', 'blush']));
  assert.ok(Math.max(...asked.map((name) => name.length)) <= 512, 'no name is longer than any tag');
  const charactersAsked = asked.reduce((sum, name) => sum + name.length, 0);
  assert.ok(charactersAsked < 10 * line.length, `${charactersAsked} characters asked about for a line of ${line.length}`);
});

test('a tag with several qualifiers written with parentheses as they are is one tag, not a tag and emphasis', () => {
  const known = new Set(['medusa', 'medusa_(rider)_(fate)', 'jeanne_d\'arc', 'jeanne_d\'arc_(swimsuit_archer)', 'jeanne_d\'arc_(swimsuit_archer)_(first_ascension)_(fate)', 'smile']);
  const isTag = (name: string): boolean => known.has(name);
  assert.deepEqual(parsePrompt('1girl, medusa (rider) (fate), smile', { isTag }).tags.map((tag) => tag.name), ['1girl', 'medusa_(rider)_(fate)', 'smile']);
  assert.deepEqual(parsePrompt('jeanne d\'arc (swimsuit archer) (first ascension) (fate)', { isTag }).tags.map((tag) => tag.name), ['jeanne_d\'arc_(swimsuit_archer)_(first_ascension)_(fate)']);
  // Still emphasis where the chain is no tag.
  assert.deepEqual(parsePrompt('smile (medusa) (fate)', { isTag }).tags.map((tag) => tag.name), ['smile', 'medusa', 'fate']);
});

test('a backslash escapes the prompt syntax\'s characters only: `\\m/` and `double \\n/` keep theirs', () => {
  assert.equal(normalizeTag('\\m/'), '\\m/');
  assert.equal(normalizeTag('double \\n/'), 'double_\\n/');
  assert.equal(normalizeTag('saber \\(fate\\)'), 'saber_(fate)');
  assert.equal(normalizeTag('\\\\\\(^o^\\)/'), '\\(^o^)/');
  assert.equal(normalizeTag('a\\:b\\,c\\|d'), 'a:b,c|d');
  assert.equal(formatTag('\\m/', DEFAULT_INSERT_STYLE), '\\m/');
  assert.equal(formatTag('\\(^o^)/', DEFAULT_INSERT_STYLE), '\\\\\\(^o^\\)/');
  assert.equal(formatTag('x\\', DEFAULT_INSERT_STYLE), 'x\\\\', 'a backslash at the end would escape the comma after it');
});

test('a weighted tag ending in a colon, `(d::1.2)`: the tag `d:` and its weight (NovelAI\'s `::` elsewhere)', () => {
  const parsed = parsePrompt('1girl, (d::1.2), (kos-mos re::1.1), d:, 1.5::rain, night::');
  assert.deepEqual(parsed.tags.map((tag) => tag.name), ['1girl', 'd:', 'kos-mos_re:', 'd:', 'rain', 'night']);
  assert.deepEqual(parsed.tokens.filter((token) => token.kind === 'weight').map((token) => '1girl, (d::1.2), (kos-mos re::1.1), d:, 1.5::rain, night::'.slice(token.start, token.end)), [':1.2', ':1.1', '1.5::', '::']);
});

test('a name the dictionary knows that starts with a bracket (`(o)_(o)`, `(9)`, `[_]`) is a tag, not emphasis; emphasis is still emphasis', () => {
  const known = new Set(['(o)_(o)', '(9)', '[_]', 'smile']);
  const isTag = (name: string): boolean => known.has(name);
  const names = (line: string): string[] => parsePrompt(line, { isTag }).tags.map((tag) => tag.name);
  assert.deepEqual(names('smile, (o)_(o), 1girl'), ['smile', '(o)_(o)', '1girl']);
  assert.deepEqual(names('(9), [_]'), ['(9)', '[_]']);
  assert.deepEqual(names('((o)_(o):1.2), [(o)_(o)|smile]'), ['(o)_(o)', '(o)_(o)', 'smile']);
  const emphasis = parsePrompt('(smile), (blush:1.1)', { isTag });
  assert.deepEqual(emphasis.tags.map((tag) => tag.name), ['smile', 'blush']);
  assert.equal(emphasis.groups.length, 2);
  assert.deepEqual(names('(o)_(o)'), ['(o)_(o)']);
  assert.deepEqual(parsePrompt('(o)_(o)').tags.map((tag) => tag.name), ['o', '_(o)'], 'without a dictionary: brackets as written');
});

test('a1111\'s syntax read as a1111 reads it: a weight with a plus sign, an escaped colon in [:to:when], [tag:when] is prompt editing', () => {
  const plus = parsePrompt('(smile:+1.2), blush');
  assert.deepEqual(plus.tags.map((tag) => tag.name), ['smile', 'blush']);
  assert.deepEqual(plus.tokens.filter((token) => token.kind === 'weight').map((token) => '(smile:+1.2), blush'.slice(token.start, token.end)), [':+1.2']);
  const line = '[:my little pony\\: friendship is magic:0.5]';
  assert.deepEqual(parsePrompt(line).tags.map((tag) => tag.name), ['my_little_pony:_friendship_is_magic']);
  // A face where prompt editing has no colon left for it: after its first (`[smile::d:0.5]`), or opening
  // the brackets where what its colon would add is no tag (`[:3:0.5]` adds `3`).
  const dictionaryOf = (names: string[]): { isTag: (name: string) => boolean } => ({ isTag: (name) => names.includes(name) });
  const faces = dictionaryOf([':d', ':3', 'x', ':x', 'smile']);
  const tagsOf = (text: string): string[] => parsePrompt(text, faces).tags.map((tag) => tag.text);
  assert.deepEqual(tagsOf('[smile::d:0.5]'), ['smile', ':d']);
  assert.deepEqual(tagsOf('[::d:0.5], [[smile]::d:0.5]'), [':d', 'smile', ':d']);
  assert.deepEqual(tagsOf('[:3:0.5], [:x:0.5], [cat:3:0.5], [:smile:0.5], [smile::0.5]'), [':3', 'x', 'cat', '3', 'smile', 'smile']);
  assert.deepEqual(tagsOf('[:d:cat:0.5]'), [':d', 'cat']);
  const editing = parsePrompt('smile, [smile:0.5]');
  assert.equal(isInAlternation('smile, [smile:0.5]', editing, 1), true);
  assert.equal(isInAlternation('smile, [smile:0.5]', editing, 0), false);
});
