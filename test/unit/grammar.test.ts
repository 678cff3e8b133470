// The TextMate grammar (media/syntaxes) colours prompts in the editor before the language server
// starts. Tokenized here with VS Code's own engine (vscode-textmate + vscode-oniguruma, the versions
// the workbench ships), it must colour as tags what the parser reads as tags, and weights, networks
// and keywords as syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar } from 'vscode-textmate';
import { loadDictionary } from '../../src/model/index';
import { DEFAULT_INSERT_STYLE, formatTag } from '../../src/prompt/insertStyle';
import { parsePrompt } from '../../src/prompt/parser';

const GRAMMAR_PATH = join(__dirname, '../../media/syntaxes/danbooru-prompt.tmLanguage.json');
const TAG = 'entity.name.tag.danbooru-prompt';
const FACE = 'entity.name.tag.face.danbooru-prompt';

let grammar: Promise<IGrammar> | undefined;
function loadGrammar(): Promise<IGrammar> {
  grammar ??= (async () => {
    const wasm = readFileSync(createRequire(__filename).resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (text: string) => new oniguruma.OnigString(text),
      }),
      loadGrammar: async () => parseRawGrammar(readFileSync(GRAMMAR_PATH, 'utf8'), GRAMMAR_PATH),
    });
    const loaded = await registry.loadGrammar('source.danbooru-prompt');
    if (!loaded) throw new Error(`${GRAMMAR_PATH}: no grammar for source.danbooru-prompt`);
    return loaded;
  })();
  return grammar;
}

/** Each token's text with its innermost scope (undefined: no scope of the grammar's own). */
async function scopes(line: string): Promise<{ text: string; scope?: string }[]> {
  const { tokens } = (await loadGrammar()).tokenizeLine(line, INITIAL);
  return tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scope: t.scopes.length > 1 ? t.scopes[t.scopes.length - 1] : undefined }));
}

/** The texts coloured as tags (runs of adjacent tag tokens joined: an escape splits none). */
async function colouredTags(line: string): Promise<string[]> {
  const { tokens } = (await loadGrammar()).tokenizeLine(line, INITIAL);
  const spans: { start: number; end: number }[] = [];
  for (const token of tokens) {
    const scope = token.scopes[token.scopes.length - 1];
    if (scope !== TAG && scope !== FACE && scope !== 'constant.character.escape.danbooru-prompt') continue;
    const last = spans[spans.length - 1];
    if (last && last.end === token.startIndex) last.end = token.endIndex;
    else spans.push({ start: token.startIndex, end: token.endIndex });
  }
  return spans.map((s) => line.slice(s.start, s.end));
}

test('grammar: colours as tags exactly the tags the parser reads', async () => {
  const lines = [
    '1girl, solo, long hair ,  blue_eyes',
    '(long hair:1.2), [blue eyes], {smile}, ((red bow)), (solo:0.8)',
    '1girl, <lora:add_detail:0.8>, solo BREAK <hypernet:anime:1> smile AND outdoors // a comment, not_a_tag',
    '1girl, smile <lora:add_detail:0.8>, 1girl (smile:1.2), solo',
    'hu_tao_(genshin_impact), (ganyu_(genshin_impact):1.1), jagdpanzer 38(t), gauss <bokashi',
    'ganyu \\(genshin impact\\), smile',
    '|_|, :|, >_<, ^_^, :d, d:, :3, re:zero, #compass, .hack//',
    '[cat ears|dog ears], smile [blush]',
    '[cat ears:dog ears:0.5], [smile::0.5], [smile:0.5], [day :night:10], re:zero',
    '1.5::rain, night::, 1girl, -1:: blurry, lowres ::',
    '(long hair :1.2), smile',
    'embedding:EasyNegative, (embedding:bad_prompt_v2.pt:0.8), 1girl',
    '1girl :1.2 AND 2girls:0.8 ADDCOL solo, red hair ADDROW smile',
    'artist:wlop, 1girl, char:hatsune miku, (artist:ebifurya:1.1), (art:1.2), target#hug',
    '1girl, __hair_color__, (__animals/*__:1.2), __color__ shirt, {2$$__poses__|smile|1-3$$x}, {1-3$$ and $$red|blue}, __hair, smile',
    '__x__ BREAK solo, __y__ // comment, __z__ <lora:a:1>',
    // A comment wherever a tag could start (after a tag and a space, a bracket, a separator), not in a name.
    '1girl, smile # note, 1girl',
    'smile, # heading',
    '(smile)//x',
    '#compass, .hack//, smile #1',
    // A space and a group without a weight continue the tag (the parser without a dictionary reads it so).
    'ganyu (genshin impact), saber (fate), smile (blush), 1girl (smile:1.2), solo',
    '(smile:+1.2), blush',
  ];
  for (const line of lines) {
    assert.deepEqual(await colouredTags(line), parsePrompt(line).tags.map((t) => t.text), line);
  }
});

test('grammar: weights, NovelAI sections, networks, keywords and comments are syntax', async () => {
  const weighted = await scopes('(smile:1.2), 1.5::rain::');
  assert.deepEqual(weighted.filter((t) => t.scope === 'constant.numeric.weight.danbooru-prompt').map((t) => t.text), ['1.2', '1.5']);
  assert.deepEqual(weighted.filter((t) => t.scope === 'punctuation.separator.weight.danbooru-prompt').map((t) => t.text), [':', '::', '::']);
  const network = await scopes('1girl, <lora:add_detail:0.8>');
  assert.ok(network.some((t) => t.text === 'add_detail' && t.scope === 'entity.name.function.network.danbooru-prompt'), JSON.stringify(network));
  assert.ok(!network.some((t) => t.scope === TAG && t.text.includes('<')), 'no part of the LoRA is a tag');
  const keyword = await scopes('1girl BREAK solo // note');
  assert.deepEqual(keyword.filter((t) => t.scope?.startsWith('keyword')).map((t) => t.text), ['BREAK']);
  assert.deepEqual(keyword.filter((t) => t.scope?.startsWith('comment')).map((t) => t.text), ['// note']);
  assert.ok(!keyword.some((t) => t.scope === TAG && /^\s|\s$/.test(t.text)), 'spaces around a tag are not coloured as the tag');
  const dynamic = await scopes('__color__ shirt, {2$$__poses__|smile}');
  assert.deepEqual(dynamic.filter((t) => t.scope === 'variable.other.wildcard.danbooru-prompt').map((t) => t.text), ['__color__', '__poses__']);
  assert.deepEqual(dynamic.filter((t) => t.scope === 'constant.numeric.quantity.danbooru-prompt').map((t) => t.text), ['2$$']);
});

/** Whether the opening and closing brackets of a text fail to pair up (`>_<`, `;)`; not `(o)_(o)`). */
function unbalancedBrackets(text: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{', '>': '<' };
  const open: string[] = [];
  for (const c of text) {
    if ('([{<'.includes(c)) open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return true;
  }
  return open.length > 0;
}

test('grammar: every face of the dictionary whose brackets pair with nothing is one face token, as written or inserted', async () => {
  // The face scope is what package.json's unbalancedBracketScopes names: the editor then neither pairs
  // those brackets with others nor flags them red (e2e scenario 4b checks that in the real editor).
  const packageJson = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { contributes: { grammars: { unbalancedBracketScopes?: string[] }[] } };
  assert.deepEqual(packageJson.contributes.grammars[0]!.unbalancedBracketScopes, [FACE]);
  const faces = loadDictionary().names.filter((name) => /[()[\]{}<>]/.test(name) && !/[a-z0-9]{2}/i.test(name) && unbalancedBrackets(name));
  assert.ok(faces.length >= 15 && faces.includes('>_<') && faces.includes(';)'), `the dictionary's faces: ${faces.join(' ')}`);
  for (const face of faces) {
    for (const written of new Set([face, formatTag(face, DEFAULT_INSERT_STYLE)])) {
      const tokens = await scopes(`smile, ${written}, 1girl`);
      assert.ok(tokens.some((t) => t.text === written && t.scope === FACE), `${written}: ${JSON.stringify(tokens)}`);
      // With a weight too, where the parser reads it as the face (`(;):1.2)` unescaped it does not).
      const weighted = `smile, (${written}:1.2), ((${written}:0.8))`;
      if (parsePrompt(weighted).tags[1]?.text !== written) continue;
      const inGroup = await scopes(weighted);
      assert.deepEqual(inGroup.filter((t) => t.scope === FACE).map((t) => t.text), [written, written], `${weighted}: ${JSON.stringify(inGroup)}`);
    }
  }
  // A bracket that is not a whole tag stays a bracket: a stray `)` is still flagged.
  assert.deepEqual((await scopes('smile )')).filter((t) => t.scope === FACE), []);
  assert.deepEqual((await scopes('((smile)), [cat|dog], (v:1.2), (:d:1.2), (smile:1.2), ((smile:1.2)), (<lora:a:1>:1.2)')).filter((t) => t.scope === FACE), []);
});
