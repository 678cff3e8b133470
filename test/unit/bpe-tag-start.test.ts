// Early rejection in BPE sampling: a tag being written is dropped as soon as its text can no longer
// become a dictionary tag. That keeps rejection sampling exact only if no text that would be
// accepted is ever dropped on the way: checked here against the dictionary's own names and aliases,
// as a model writes them and as the sampler reads them (without the tokenizer's clean-up of spaces).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BpeModelEngine, settledTagStart } from '../../src/model/bpe-engine';
import { normalizeTag } from '../../src/model/dictionary';
import { loadDictionary, loadEngine } from '../../src/model/index';

const fixture = path.join(__dirname, '..', 'fixtures', 'models', 'tiny-bpe');
const dictionary = loadDictionary();
const separator = ',';
const betweenTags = ' ';
/** The dictionary's aliases, sorted (private to it: read here to test them all alike). */
const aliasNames = (dictionary as unknown as { aliasNames: string[] }).aliasNames;

/** Every name and alias with a character beyond letters, digits and `_()`, and a stride of the rest. */
function testedTexts(): string[] {
  const texts: string[] = [];
  for (let id = 0; id < dictionary.size; id++) {
    const name = dictionary.names[id];
    if (/[^a-z0-9_()]/.test(name) ? id % 3 === 0 : id % 40 === 0) texts.push(name);
  }
  aliasNames.forEach((alias, index) => {
    if (index % 12 === 0) texts.push(alias);
  });
  return texts.filter((text) => !text.includes(separator));
}

describe('settledTagStart: what a tag being sampled can still become', () => {
  let engine: BpeModelEngine;
  before(async () => {
    engine = (await loadEngine({ modelDir: fixture, dictionary, threads: 1 })) as BpeModelEngine;
  });
  after(() => engine.dispose());

  test('never rules out the start of a text that would be accepted (names and aliases, both spellings)', () => {
    const texts = testedTexts();
    assert.ok(texts.length > 5000, `${texts.length} texts`);
    let checked = 0;
    let acceptedTexts = 0;
    texts.forEach((name, index) => {
      for (const spaces of [false, true]) {
        const written = spaces ? name.replace(/_/g, ' ') : name;
        for (const first of [true, false]) {
          const plain = (first ? '' : betweenTags) + written;
          // Also as a model may write it: a space before an apostrophe or stop (`hand_on_another_'s` is then no tag).
          const spaced = plain.replace(/(?=['.!?]|n't)/g, ' ');
          for (const raw of plain === spaced ? [plain] : [plain, spaced]) {
            const ids = engine.encodeText(raw + separator);
            const text = engine.tokenizer.decode(ids, { clean_up_tokenization_spaces: false });
            const end = text.indexOf(separator);
            const body = text.slice(0, end);
            if (!first && !body.startsWith(betweenTags)) continue;
            const tag = normalizeTag(first ? body : body.slice(betweenTags.length));
            if (!dictionary.resolveId(tag)) continue;
            acceptedTexts++;
            // The starts a sampler sees: every character prefix, and every token prefix's decoding
            // (an unfinished UTF-8 character shows as U+FFFD) for those beyond ASCII and a share of the rest.
            const partials = Array.from({ length: raw.length + 1 }, (_, length) => raw.slice(0, length));
            if (index % 4 === 0 || /[^ -~]/.test(raw)) {
              for (let length = 1; length < ids.length; length++) {
                partials.push(engine.tokenizer.decode(ids.slice(0, length), { clean_up_tokenization_spaces: false }));
              }
            }
            for (const partial of partials) {
              const start = settledTagStart(partial, first, betweenTags, separator);
              assert.ok(start !== null && tag.startsWith(start), `${JSON.stringify(partial)} of ${JSON.stringify(raw)}: ${JSON.stringify(start)}`);
              if (start) assert.ok(dictionary.startsSomeTag(start), start);
              checked++;
            }
          }
        }
      }
    });
    assert.ok(acceptedTexts > 4 * texts.length, `${acceptedTexts} accepted texts`);
    assert.ok(checked > 100_000, `${checked} starts checked`);
  });

  test('never rules out an accepted text for other separators and texts between tags (random cases, seeded)', () => {
    const names = testedTexts();
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
    let accepted = 0;
    for (let iteration = 0; iteration < 20_000; iteration++) {
      const separatorText = pick([',', ', ', '::', ';', ' |', '\n']);
      const between = pick(['', ' ', '  ', '\n', ' ~ ', 'x']);
      const first = random() < 0.3;
      const name = pick(names);
      if (name.includes(separatorText[0])) continue;
      // Written as a model might: spaces or underscores, any case, spaces doubled, before `'s` or `.`, around.
      let written = random() < 0.5 ? name.replace(/_/g, ' ') : name;
      if (random() < 0.3) written = written.toUpperCase();
      if (random() < 0.3) written = written.replace(/(?=['.!?]|n't)/g, ' ');
      if (random() < 0.2) written = written.replace(/ /g, '  ');
      if (random() < 0.2) written = ` ${written}`;
      if (random() < 0.2) written = `${written} `;
      const raw = (first ? '' : between) + written;
      const text = engine.tokenizer.decode(engine.encodeText(raw + separatorText), { clean_up_tokenization_spaces: false });
      // Read back as the sampler's acceptTag reads it.
      const end = text.indexOf(separatorText);
      if (end < 0 || text.slice(end + separatorText.length).trim()) continue;
      const body = text.slice(0, end);
      if (!first && !body.startsWith(between)) continue;
      const tag = normalizeTag(first ? body : body.slice(between.length));
      if (!dictionary.resolveId(tag)) continue;
      accepted++;
      // Every start the sampler may judge: up to a part of the separator (the whole one ends the tag).
      const full = raw + separatorText;
      for (let length = 0; length < full.length; length++) {
        if (full.slice(0, length).includes(separatorText)) break;
        for (const partial of [full.slice(0, length), `${full.slice(0, length)}\uFFFD`]) {
          const start = settledTagStart(partial, first, between, separatorText);
          const where = JSON.stringify({ partial, raw, separatorText, between, first, start });
          assert.ok(start !== null && tag.startsWith(start), where);
          if (start) assert.ok(dictionary.startsSomeTag(start), where);
        }
      }
    }
    assert.ok(accepted > 10_000, `${accepted} accepted texts`);
  });

  test('rules out what cannot become a tag, and keeps undecided text undecided', () => {
    // A later tag must start with the text between tags.
    assert.equal(settledTagStart('long', false, ' ', ','), null);
    assert.equal(settledTagStart('', false, ' ', ','), '');
    assert.equal(settledTagStart(' ', false, ' ', ','), '');
    assert.equal(settledTagStart(' Long Hai', false, ' ', ','), 'long_hai');
    assert.equal(settledTagStart('Long', true, ' ', ','), 'long');
    assert.ok(dictionary.startsSomeTag('long_hai'));
    assert.equal(settledTagStart(' long_eyes', false, ' ', ','), 'long_eyes');
    assert.ok(!dictionary.startsSomeTag('long_eyes'), 'long_eyes is no tag or alias start');
    assert.ok(!dictionary.startsSomeTag('xqzw'));
    // Aliases count: one that starts no name still starts something a tag can become.
    const aliasOnly = aliasNames.find((name) => dictionary.prefixIds(name).length === 0);
    assert.ok(aliasOnly && dictionary.startsSomeTag(aliasOnly), aliasOnly);
    // The text is read as written: a space before `'s` stays (no tag starts so), a later tag may start with `?` or `.`.
    assert.equal(settledTagStart(' hand on another ', false, ' ', ','), 'hand_on_another');
    assert.equal(settledTagStart(' hand on another \'s', false, ' ', ','), 'hand_on_another_\'s');
    assert.equal(settledTagStart(' ?', false, ' ', ','), '?');
    assert.equal(settledTagStart(' ...', false, ' ', ','), '...');
    // An unfinished UTF-8 character, and the separator's first character, end what is settled.
    assert.equal(settledTagStart(' bü\uFFFD\uFFFDrent', false, ' ', ','), 'bü');
    assert.equal(settledTagStart(' a:b', false, ' ', ':: '), 'a');
    // A capital sigma lower-cases by what follows it.
    assert.equal(settledTagStart('ABΣ', true, ' ', ','), 'ab');
  });
});
