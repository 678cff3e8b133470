// The real-editor scenarios: the packaged extension installed in code-server, driven in Chromium.
// Run through `npm run test:e2e` (which installs, builds and packages first and sets E2E_VSIX).
// Each scenario saves a screenshot under test-results/e2e/ whether it passes (NAME.png) or fails
// (NAME-FAILED.png). The expected values come from the project's own dictionary and the real
// fixtures, never from what the page shows.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadDictionary, normalizeTag, type TagDictionary } from '../../src/model/index';
import { compactCount } from '../../src/server/serverContext';
import { startCodeServer, type CodeServer } from './lib/codeServer';
import { cacheDir, repoRoot, resultsDir } from './lib/paths';
import { Workbench, type SuggestRow } from './lib/workbench';
import { BAD_LINES_FILE, createWorkspace, type BadLinesFixture } from './lib/workspace';

const vsix = process.env.E2E_VSIX;
const shotsDir = path.join(resultsDir, 'e2e');
const runDir = path.join(cacheDir, 'run');
const workspace = path.join(runDir, 'workspace');
const SAMPLE_SEED = 20211;

/**
 * Settings of the sample workspace: a fixed sampling seed (scenario 3); everything else default, so
 * the shipped model is used. E2E_MODEL_FOLDER runs the scenarios against another model folder.
 */
const WORKSPACE_SETTINGS: Record<string, unknown> = {
  'danbooruGpt.sample.seed': SAMPLE_SEED,
  ...(process.env.E2E_MODEL_FOLDER ? { 'danbooruGpt.modelFolder': path.resolve(process.env.E2E_MODEL_FOLDER) } : {}),
};

let server: CodeServer;
let browser: Browser;
let workbench: Workbench;
let fixture: BadLinesFixture;
let dictionary: TagDictionary;
/** Tags the model knows (its tokenizer's vocabulary): real tags of the posts it was trained on. */
let modelVocabulary: Set<string>;

function loadModelVocabulary(): Set<string> {
  const folder = process.env.E2E_MODEL_FOLDER ? path.resolve(process.env.E2E_MODEL_FOLDER) : path.join(repoRoot, 'models', 'default');
  const file = path.join(folder, 'tokenizer.json');
  if (!existsSync(file)) return new Set(); // no model: only dictionary tags count as real
  const tokenizer = JSON.parse(readFileSync(file, 'utf8')) as { model: { vocab: Record<string, number> } };
  return new Set(Object.keys(tokenizer.model.vocab).filter((token) => !/^<\|.*\|>$/.test(token)));
}

/** A tag the dictionary has (name or alias), or one of the model's real training tags (2020 names such as `bangs`). */
function isRealTag(tag: string): boolean {
  return dictionary.resolve(tag) !== undefined || modelVocabulary.has(tag);
}

before(async () => {
  if (!vsix) throw new Error('E2E_VSIX is not set: run the scenarios with `npm run test:e2e`');
  rmSync(runDir, { recursive: true, force: true });
  rmSync(shotsDir, { recursive: true, force: true });
  dictionary = loadDictionary();
  modelVocabulary = loadModelVocabulary();
  fixture = createWorkspace(workspace, WORKSPACE_SETTINGS);
  server = await startCodeServer({
    stateDir: path.join(runDir, 'state'),
    workspace,
    vsixFiles: [vsix],
    // one editor line per document line, so that the tests read back whole prompts
    userSettings: { '[danbooru-prompt]': { 'editor.wordWrap': 'off' } },
    log: (line) => console.log(`  ${line}`),
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  workbench = await Workbench.open(browser, server.url, shotsDir);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

/** A scenario: runs `body`, and screenshots the page as `name.png` (or `name-FAILED.png`). */
function scenario(name: string, body: (t: TestContext) => Promise<void>): void {
  test(name, { timeout: 240_000 }, async (t) => {
    try {
      await body(t);
      await workbench.screenshot(name);
    } catch (err) {
      await workbench.screenshot(`${name}-FAILED`).catch(() => {});
      throw err;
    }
  });
}

// ---- helpers on what the page shows ------------------------------------------------------------

/** The tag a suggestion row stands for: its label, or the canonical tag of an `alias → tag` row. */
function rowTag(row: SuggestRow): string {
  const arrow = row.label.split(' → ');
  return normalizeTag(arrow[arrow.length - 1]!);
}

/** The text typed towards: the label, or the alias of an `alias → tag` row. */
function rowTyped(row: SuggestRow): string {
  return normalizeTag(row.label.split(' → ')[0]!);
}

/** Tags of a prompt line as written (`long hair` or `long_hair`), in canonical form. */
function tagsOf(line: string): string[] {
  return line.split(',').map((t) => t.trim()).filter(Boolean).map((t) => normalizeTag(t.replace(/\\([()])/g, '$1')));
}

/** A suggestion list that came from the language server: rows that are real tags from the dictionary. */
function realTagRows(rows: SuggestRow[], prefix: string): boolean {
  return rows.length >= 3 && rows.every((row) => dictionary.get(rowTag(row)) !== undefined) && rowTyped(rows[0]!).startsWith(prefix);
}

/** Types `text` into the open suggest list until `label` is its only row, and accepts it. */
async function narrowToAndAccept(text: string, label: string): Promise<void> {
  await workbench.type(text);
  await workbench.waitForSuggestions((rows) => rows.length === 1 && rows[0]!.label === label);
  await workbench.press('Enter');
}

/** Waits until the editor's last line reads `expected` (after a suggestion is accepted, say). */
async function lastLineBecomes(expected: string): Promise<void> {
  const lines = await workbench.editorLinesWhen((l) => l[l.length - 1] === expected);
  assert.equal(lines[lines.length - 1], expected);
}

async function typeOnNewLine(file: string, text: string): Promise<void> {
  await workbench.openFile(file);
  await workbench.newLineAtEnd();
  await workbench.type(text);
}

// ---- the scenarios ---------------------------------------------------------------------------

scenario('0-no-status-item-before-a-prompt', async () => {
  // The extension activates in every window (onStartupFinished, for extraFiles globs): until a prompt
  // is opened or a command runs, its view says what to do and the status bar shows nothing of it.
  const deadline = Date.now() + 60_000;
  for (let state = await workbench.relatedTagsView(); !/Put the cursor in a prompt file/.test(state.message); state = await workbench.relatedTagsView()) {
    assert.ok(Date.now() < deadline, `the extension did not activate: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const items = await workbench.statusBarItems();
  assert.ok(!items.some((item) => /Danbooru GPT/.test(item.text + item.ariaLabel)), JSON.stringify(items));
  await workbench.openFile('portrait.prompt');
  await workbench.waitForStatusBarItem(/Danbooru GPT/, 90_000);
});

scenario('1-completion', async () => {
  await typeOnNewLine('portrait.prompt', '1girl, solo, lo');
  const rows = await workbench.waitForSuggestions((r) => realTagRows(r, 'lo'));
  for (const row of rows) {
    const info = dictionary.get(rowTag(row))!;
    assert.ok(rowTyped(row).includes('lo'), `"${row.label}" does not match the typed "lo"`);
    // every row shows its real post count (compact), the focused one the exact count too
    assert.ok(row.detail.includes(compactCount(info.count)), `"${row.label}" shows "${row.detail}", not its ${info.count} posts`);
  }
  const first = rows[0]!;
  assert.ok(first.focused, 'the first suggestion is selected');
  // the selected item's details: category, exact post count, aliases, wiki link
  const detailsText = await workbench.suggestDetails();
  const firstInfo = dictionary.get(rowTag(first))!;
  assert.ok(detailsText.includes(firstInfo.count.toLocaleString('en-US')), `details show ${firstInfo.count} posts: "${detailsText}"`);
  assert.match(detailsText, /general/);
  await workbench.screenshot('1-completion-widget');
  copyFileSync(path.join(shotsDir, '1-completion-widget.png'), path.join(resultsDir, 'screenshot-completion.png'));

  await workbench.press('Enter');
  // default insert style: words separated by spaces, then `, `
  const expected = `1girl, solo, ${rowTag(first).replace(/_/g, ' ')}, `;
  await lastLineBecomes(expected);
});

scenario('1b-artist-prefix', async () => {
  // `:` is a trigger character: after `artist:` the list opens by itself, with artists only.
  await typeOnNewLine('portrait.prompt', 'artist:');
  const opened = await workbench.suggestionsOpenedByTyping();
  assert.ok(opened.length >= 3, `the list opened after "artist:": ${JSON.stringify(opened.map((r) => r.label))}`);
  for (const row of opened) assert.equal(dictionary.get(rowTag(row))?.category, 1, `"${row.label}" is an artist tag`);
  await workbench.type('wlo');
  const rows = await workbench.waitForSuggestions((r) => r.length > 0 && rowTag(r[0]!) === 'wlop');
  for (const row of rows) assert.equal(dictionary.get(rowTag(row))?.category, 1, `"${row.label}" is an artist tag`);
  await workbench.press('Enter');
  await lastLineBecomes('artist:wlop, ');
  await workbench.press('Escape');
});

scenario('1c-wildcards', async () => {
  // The workspace's wildcards/ folder (where danbooruGpt.wildcardFolders looks by default): typing `__`
  // opens the list of its files by name by itself, and the name accepted is written whole.
  await typeOnNewLine('portrait.prompt', '__');
  const opened = await workbench.suggestionsOpenedByTyping();
  assert.deepEqual(opened.map((r) => r.label), ['__hair_color__', '__outfits/school__']);
  await narrowToAndAccept('sch', '__outfits/school__');
  await lastLineBecomes('__outfits/school__, ');
  await workbench.press('Escape');
});

scenario('1d-lora-names', async () => {
  // The workspace's models/Lora (an a1111 WebUI's folder, where danbooruGpt.loraFolders looks by
  // default): `:` opens the list of its LoRAs after `<lora`, and the one chosen gets a weight selected
  // to type over.
  await typeOnNewLine('portrait.prompt', '1girl, <lora:');
  const opened = await workbench.suggestionsOpenedByTyping();
  assert.deepEqual(opened.map((r) => r.label), ['add_detail', 'anime_lineart']);
  await narrowToAndAccept('line', 'anime_lineart');
  await lastLineBecomes('1girl, <lora:anime_lineart:1>');
  await workbench.type('0.6');
  await lastLineBecomes('1girl, <lora:anime_lineart:0.6>');
  await workbench.press('Escape');
});

/** Moves the suggest list's focus down to row `index` (0-based), waiting until it is there. */
async function focusSuggestRow(index: number): Promise<SuggestRow[]> {
  let rows = await workbench.suggestRows();
  for (let tries = 0; !rows[index]?.focused; tries++) {
    assert.ok(tries < 2 * index + 10, `row ${index} never took the focus: ${JSON.stringify(rows.map((r) => [r.label, r.focused]))}`);
    await workbench.press('ArrowDown');
    await new Promise((resolve) => setTimeout(resolve, 150));
    rows = await workbench.suggestRows();
  }
  return rows;
}

scenario('1e-picked-tags', async () => {
  // A tag accepted from the list is counted: its item's command goes through the client to the
  // server, the list opens again for the next tag, the pick is written to the extension's global
  // storage and shown on the row next time; Forget Picked Tags clears it.
  const picksFile = path.join(runDir, 'state', 'data', 'User', 'globalStorage', 'danbooru-gpt.danbooru-gpt', 'picked-tags.json');
  const picksOf = (tag: string): number | undefined => {
    if (!existsSync(picksFile)) return undefined;
    return (JSON.parse(readFileSync(picksFile, 'utf8')) as { tags: Record<string, { total: number }> }).tags[tag]?.total;
  };
  await typeOnNewLine('portrait.prompt', '1girl, solo, sh');
  const rows = await workbench.waitForSuggestions((r) => realTagRows(r, 'sh') && r.length >= 5);
  const picked = rowTag(rows[4]!);
  assert.equal(picksOf(picked), undefined, `${picked} was not picked before`);
  await focusSuggestRow(4);
  await workbench.press('Enter');
  await lastLineBecomes(`1girl, solo, ${picked.replace(/_/g, ' ')}, `);
  // The list opens again by itself after the written `, `: the model's next tags.
  const next = await workbench.suggestionsOpenedByTyping();
  assert.ok(next.length >= 3 && next.every((row) => isRealTag(rowTag(row))), `next tags: ${JSON.stringify(next.map((r) => r.label))}`);
  await workbench.press('Escape');
  const deadline = Date.now() + 10_000;
  while (picksOf(picked) !== 1) {
    assert.ok(Date.now() < deadline, `${picksFile} never recorded ${picked}: ${existsSync(picksFile) ? readFileSync(picksFile, 'utf8') : 'no file'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  await workbench.press('End');
  await workbench.press('Enter');
  await workbench.type('1girl, solo, sh');
  const again = await workbench.waitForSuggestions((r) => realTagRows(r, 'sh') && r.some((row) => rowTag(row) === picked));
  const index = again.findIndex((row) => rowTag(row) === picked);
  assert.ok(index <= 4, `${picked}, picked once, ranks no lower than before: row ${index}`);
  await focusSuggestRow(index);
  // The focused item's detail, in the details pane (open since scenario 1).
  assert.match(await workbench.suggestDetails(), /picked once/);
  await workbench.press('Escape');

  await workbench.runCommand('Danbooru GPT: Forget Picked Tags…');
  // Every picked tag listed and checked (scenarios 1 and 1b picked a tag each too): Enter forgets them.
  const listed = await workbench.waitForQuickPickRow(picked);
  assert.ok(listed.some((row) => row.startsWith(`${picked}picked once`)), JSON.stringify(listed));
  await workbench.press('Enter');
  await workbench.waitForNotification(/forgot \d+ picked tags?;/);
  assert.equal(picksOf(picked), undefined, 'forgotten in the file');
});

scenario('1f-translations', async () => {
  // A tag translation file (the tests' own, test/fixtures/translations) set in the workspace's
  // settings: typing Chinese lists the tags whose translation holds it, and the tag is inserted.
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const before = readFileSync(settingsFile, 'utf8');
  mkdirSync(path.join(workspace, 'translations'), { recursive: true });
  copyFileSync(path.join(repoRoot, 'test', 'fixtures', 'translations', 'zh-cn.csv'), path.join(workspace, 'translations', 'zh-cn.csv'));
  writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(before), 'danbooruGpt.translationFile': 'translations/zh-cn.csv' }, null, 2) + '\n');
  try {
    await typeOnNewLine('portrait.prompt', '1girl, solo, 长');
    const rows = await workbench.waitForSuggestions((r) => r.some((row) => row.label === '长发 → long_hair'));
    assert.ok(rows.every((row) => row.label.includes('长') && row.label.includes(' → ')), `only tags found by translation: ${JSON.stringify(rows.map((r) => r.label))}`);
    assert.ok(rows.some((row) => row.label === '超长发 → very_long_hair'));
    await workbench.type('发');
    const narrowed = await workbench.waitForSuggestions((r) => r.length >= 2 && r.every((row) => row.label.includes('长发')));
    await focusSuggestRow(narrowed.findIndex((row) => row.label === '长发 → long_hair'));
    await workbench.press('Enter');
    // The editor shows the tag's translation after it (an inlay hint) once the server sends it: the
    // text is the line without it.
    const lines = await workbench.editorLinesWhen((l) => l[l.length - 1]!.replace(/\s*长发/, '') === '1girl, solo, long hair, ');
    assert.equal(lines[lines.length - 1]!.replace(/\s*长发/, ''), '1girl, solo, long hair, ');
    await workbench.press('Escape');
    // ... and it does come (inlay hints, danbooruGpt.translationHints).
    const hinted = await workbench.editorLinesWhen((l) => /long hair\s*长发, $/.test(l[l.length - 1]!), 20_000);
    assert.match(hinted[hinted.length - 1]!, /long hair\s*长发, $/);
  } finally {
    writeFileSync(settingsFile, before);
  }
});

scenario('1g-related-tags-view', async () => {
  // The Related Tags view follows the editor in front: a prompt's likely next tags, and for another
  // file (the workspace's README) no tags but a line saying what to do.
  const view = async (accept: (state: { message: string; rows: string[] }) => boolean, what: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await workbench.relatedTagsView();
      if (accept(state)) return state;
      assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  await workbench.openFile('portrait.prompt');
  await workbench.goTo(1);
  // (The rows the pane's height shows: 3 or more.)
  const inPrompt = await view((state) => state.rows.length >= 3 && /^(Next after|Most likely)/.test(state.message), 'the prompt\'s next tags');
  assert.ok(inPrompt.rows.every((row) => /\d+\.\d%/.test(row)), JSON.stringify(inPrompt.rows));
  await workbench.openFile('README.md');
  const elsewhere = await view((state) => state.rows.length === 0, 'no tags for a file that is no prompt');
  assert.match(elsewhere.message, /Put the cursor in a prompt file/);
  await workbench.openFile('portrait.prompt');
  await view((state) => state.rows.length >= 3 && /^(Next after|Most likely)/.test(state.message), 'the prompt\'s tags again');
});

scenario('1h-extra-files-menu', async () => {
  // A file brought in by danbooruGpt.extraFiles (a caption file): the editor's context menu offers
  // Sample Tags and Tag Counts there too, as in a prompt file; a file the features skip does not.
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const before = readFileSync(settingsFile, 'utf8');
  mkdirSync(path.join(workspace, 'captions'), { recursive: true });
  writeFileSync(path.join(workspace, 'captions', 'a.caption'), '1girl, solo, long hair\n');
  writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(before), 'danbooruGpt.extraFiles': ['**/*.caption'] }, null, 2) + '\n');
  try {
    await workbench.openFile('captions/a.caption');
    const deadline = Date.now() + 30_000;
    let entries = await workbench.editorContextMenuEntries();
    while (!entries.includes('Sample Tags')) {
      assert.ok(Date.now() < deadline, `the caption file's menu: ${JSON.stringify(entries)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      entries = await workbench.editorContextMenuEntries();
    }
    assert.ok(entries.includes('Tag Counts'), JSON.stringify(entries));
    await workbench.openFile('README.md');
    const other = await workbench.editorContextMenuEntries();
    assert.ok(!other.includes('Sample Tags') && !other.includes('Tag Counts'), JSON.stringify(other));
  } finally {
    writeFileSync(settingsFile, before);
  }
});

scenario('2-ranking-depends-on-prompt', async () => {
  const prefix = 'y';
  // first tags of real posts: 4157663 (two men) and 543006 (two women)
  await typeOnNewLine('ranking.prompt', `2boys, male_focus, multiple_boys, ${prefix}`);
  const male = await workbench.waitForSuggestions((r) => realTagRows(r, prefix));
  await workbench.screenshot('2-ranking-male');
  await workbench.press('Escape');
  await workbench.press('End');
  await workbench.press('Enter');
  await workbench.type(`2girls, multiple_girls, ${prefix}`);
  const female = await workbench.waitForSuggestions((r) => realTagRows(r, prefix));
  const maleOrder = male.map(rowTag);
  const femaleOrder = female.map(rowTag);
  console.log(`  after 2boys, male_focus, multiple_boys: ${maleOrder.slice(0, 5).join(', ')}`);
  console.log(`  after 2girls, multiple_girls:           ${femaleOrder.slice(0, 5).join(', ')}`);
  assert.notEqual(maleOrder[0], femaleOrder[0], 'the first suggestion for the same prefix should depend on the prompt');
});

scenario('3-sample-tags', async () => {
  await workbench.openFile('sample.prompt');
  const before = await workbench.editorLines();
  const promptLine = before.findIndex((l) => l.startsWith('2girls'));
  assert.ok(promptLine >= 0, 'sample.prompt has its prompt line');
  const promptTags = tagsOf(before[promptLine]!);

  const openSamples = async (line: number): Promise<string> => {
    await workbench.goTo(line + 1);
    await workbench.runCommand('Danbooru GPT: Sample Tags');
    // the picker of samples, or the error the command shows instead (no model: nothing to sample)
    const picker = workbench.page.locator('.quick-input-widget .monaco-list-row', { hasText: / tags$/ }).first();
    const failure = workbench.page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'Sample Tags' }).first();
    await Promise.race([picker.waitFor({ timeout: 90_000 }), failure.waitFor({ timeout: 90_000 })]);
    if (await failure.isVisible()) assert.fail(`Sample Tags showed an error: ${await failure.textContent()}`);
    return workbench.quickPickTitle();
  };
  const pickSamples = async (): Promise<string[]> => {
    const title = await openSamples(promptLine);
    assert.match(title, new RegExp(`continuing ${promptTags.length} tags \\(`), `the samples continue the prompt, all of it read by the model: "${title}"`);
    assert.match(title, new RegExp(`seed ${SAMPLE_SEED}\\b`), `the picker names the configured seed: "${title}"`);
    return (await workbench.quickPickItems()).map((item) => item.label);
  };
  const first = await pickSamples();
  assert.ok(first.length >= 2, `several candidates offered: ${JSON.stringify(first)}`);
  for (const sample of first) {
    for (const tag of tagsOf(sample)) {
      assert.ok(isRealTag(tag), `sampled tag "${tag}" is a real tag`);
      assert.ok(!promptTags.includes(tag), `sampled tag "${tag}" repeats the prompt`);
    }
  }
  await workbench.screenshot('3-sample-tags-picker');
  await workbench.press('Enter');
  const after = await workbench.editorLinesWhen((l) => l[promptLine] !== before[promptLine]);
  const line = after[promptLine]!;
  assert.ok(line.startsWith(before[promptLine]!.trimEnd()), `the prompt is continued, not replaced: "${line}"`);
  assert.deepEqual(tagsOf(line), [...promptTags, ...tagsOf(first[0]!)], 'the picked sample is appended to the prompt');
  assert.equal(after.length, before.length, 'no line was added');

  // the same seed and prompt give the same samples
  await workbench.press('Control+z');
  const undone = await workbench.editorLinesWhen((l) => l[promptLine] === before[promptLine]);
  assert.equal(undone[promptLine], before[promptLine]);
  const second = await pickSamples();
  assert.deepEqual(second, first);
  // Sample Again (the picker's button): a new seed, new samples, in the same picker.
  await workbench.page.locator('.quick-input-widget .quick-input-titlebar .codicon-refresh').click();
  const deadline = Date.now() + 60_000;
  let title = await workbench.quickPickTitle();
  while (title.includes(`seed ${SAMPLE_SEED})`) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    title = await workbench.quickPickTitle();
  }
  assert.doesNotMatch(title, new RegExp(`seed ${SAMPLE_SEED}\\)`), `a new seed: "${title}"`);
  assert.match(title, /continuing \d+ tags \(seed \d+\)/);
  assert.notDeepEqual((await workbench.quickPickItems()).map((item) => item.label), first, 'other samples');
  await workbench.screenshot('3-sample-tags-again');
  await workbench.press('Escape');

  // A prompt with tags the model cannot read: the picker says which, so that samples ignoring them are explained.
  const unseenTitle = await openSamples(before.findIndex((l) => l.startsWith('1girl')));
  assert.match(unseenTitle, /continuing 2 tags, 2 not read by the model: 1girl, hatsune_miku \(seed/, unseenTitle);
  await workbench.screenshot('3-sample-tags-unseen');
  await workbench.press('Escape');
});

scenario('4-diagnostics-and-quick-fix', async () => {
  await workbench.openFile('checks.prompt');
  const lineIndex = (await workbench.editorLines()).findIndex((l) => l.startsWith('2girls'));
  const waitForProblems = async (count: number): Promise<string[]> => {
    let problems: string[] = [];
    for (let i = 0; i < 60; i++) {
      problems = (await workbench.problemsByFile()).get('checks.prompt') ?? [];
      if (problems.length === count) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    return problems;
  };
  let problems = await waitForProblems(2);
  assert.equal(problems.length, 2, `two problems in checks.prompt: ${JSON.stringify(problems)}`);
  assert.ok(problems.some((p) => /lnog_hair/.test(p) && /unknown/i.test(p)), `the misspelt tag is reported: ${JSON.stringify(problems)}`);
  assert.ok(problems.some((p) => /blush/.test(p) && /duplicate/i.test(p)), `the repeated tag is reported: ${JSON.stringify(problems)}`);
  await workbench.screenshot('4-problems');

  // the quick fix on the second "blush"
  const line = (await workbench.editorLines())[lineIndex]!;
  await workbench.goTo(lineIndex + 1, line.lastIndexOf('blush') + 2);
  await workbench.press('Control+.');
  const fix = workbench.page.locator('.action-widget .monaco-list-row', { hasText: 'Remove duplicate' }).first();
  await fix.waitFor({ timeout: 20_000 });
  await workbench.screenshot('4-quick-fix-menu');
  // pick it with the keyboard (the menu's pointer guard swallows synthetic clicks)
  for (let i = 0; i < 10 && !((await fix.getAttribute('class')) ?? '').includes('focused'); i++) await workbench.press('ArrowDown');
  await workbench.press('Enter');
  const expectedFix = '2girls, blonde_hair, blush, lnog_hair, multiple_girls, ribbon';
  const fixed = (await workbench.editorLinesWhen((l) => l[lineIndex] === expectedFix))[lineIndex];
  assert.equal(fixed, expectedFix);
  problems = await waitForProblems(1);
  assert.equal(problems.length, 1, `only the unknown tag is left: ${JSON.stringify(problems)}`);
  assert.match(problems[0]!, /lnog_hair/);
});

/** The dataset lines the converter must write for the bad-lines fixture (the seed's format). */
function expectedDatasetLines(goodLines: string[]): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const json of goodLines) {
    const post = JSON.parse(json) as { id: string | number; tags?: { name: string; category: string | number }[]; tag_string_general?: string };
    const id = String(Number(post.id));
    if (seen.has(id)) continue;
    seen.add(id);
    const tags = post.tags
      ? post.tags.filter((t) => String(t.category) === '0').map((t) => t.name)
      : (post.tag_string_general ?? '').split(' ').filter(Boolean);
    if (tags.length > 0) lines.push(tags.join(','));
  }
  return lines;
}

scenario('4b-faces-are-not-brackets', async () => {
  await workbench.openFile('faces.prompt');
  const lines = await workbench.editorLinesWhen((l) => l.some((line) => line.includes(';)')));
  assert.ok(lines.some((line) => line.includes('>_<')), `faces.prompt is shown: ${JSON.stringify(lines)}`);
  // A stray `)` the colouring must flag: once it is flagged, the colouring has run over the faces too,
  // and over a weighted one typed before it.
  await workbench.newLineAtEnd();
  await workbench.type('(>_<:1.2), smile )');
  const deadline = Date.now() + 15_000;
  let flagged = await workbench.unexpectedClosingBrackets();
  while (flagged.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    flagged = await workbench.unexpectedClosingBrackets();
  }
  assert.deepEqual(flagged, [')'], 'only the stray bracket is flagged, no bracket of a face (>_<, ;), (>_<:1.2))');
  await workbench.press('Escape');
  // A face's bracket typed is not closed (`>:(` became `>:()`, an unknown tag); emphasis's still is.
  await workbench.newLineAtEnd();
  await workbench.type('smile, >:(');
  await workbench.press('Escape');
  await workbench.type(', (blush');
  await workbench.press('Escape');
  const typed = await workbench.editorLinesWhen((l) => l.some((line) => line.startsWith('smile, >:(')));
  assert.equal(typed.find((line) => line.startsWith('smile, >:(')), 'smile, >:(, (blush)');
});

scenario('4c-tag-categories-coloured', async () => {
  // Semantic tokens: the artist, copyright and meta tags get colours of their own once the language
  // server has answered; a general tag keeps the grammar's.
  await typeOnNewLine('faces.prompt', 'wlop, vocaloid, highres, smile');
  const deadline = Date.now() + 20_000;
  let colours = await workbench.textColours(['wlop', 'vocaloid', 'highres', 'smile']);
  const distinct = (): boolean => Object.keys(colours).length === 4 && new Set(Object.values(colours)).size === 4;
  while (!distinct() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    colours = await workbench.textColours(['wlop', 'vocaloid', 'highres', 'smile']);
  }
  await workbench.screenshot('4c-tag-categories');
  assert.ok(distinct(), `four tags of four categories in four colours: ${JSON.stringify(colours)}`);
  await workbench.press('Escape');
});

scenario('4d-format-document', async () => {
  // Format Document, from the palette (Format Selection and editor.formatOnSave use the same
  // provider): a prompt pasted untidy gets one `, ` between tags, no empty tag, no space inside
  // brackets or before its weight; the file's tidy lines (real posts) stay as they are.
  await workbench.openFile('faces.prompt');
  const before = await workbench.editorLinesWhen((l) => l.some((line) => line.includes(';)')));
  const posts = before.filter((line) => line.startsWith('2girls'));
  assert.equal(posts.length, 2, `faces.prompt is shown: ${JSON.stringify(before)}`);
  await workbench.newLineAtEnd();
  await workbench.insertText('2girls,>_< ,  chibi,,( closed eyes : 1.2 ) ,relay  baton');
  await lastLineBecomes('2girls,>_< ,  chibi,,( closed eyes : 1.2 ) ,relay  baton');
  await workbench.runCommand('Format Document');
  await lastLineBecomes('2girls, >_<, chibi, (closed eyes:1.2), relay baton');
  const after = await workbench.editorLines();
  for (const post of posts) assert.ok(after.includes(post), `a tidy line stays: ${post}`);
});

scenario('4e-rename-tag', async () => {
  // Rename (F2) on a tag: each place the file writes it, as `simple background` or as
  // `simple_background` (in the real post's line and in a weight), gets the new name in its own style.
  await workbench.openFile('portrait.prompt');
  const post = (await workbench.editorLinesWhen((l) => l.some((line) => line.includes('simple_background')))).find((line) => line.startsWith('1girl, breasts'));
  assert.ok(post && post.includes(', simple_background, '), `portrait.prompt is shown: ${post}`);
  const renamedPost = post.replace(', simple_background, ', ', plain_background, ');
  await workbench.newLineAtEnd();
  await workbench.insertText('simple background, (simple_background:1.1)');
  await workbench.press('Escape');
  await workbench.press('Home');
  await workbench.renameAtCursor('plain background');
  await lastLineBecomes('plain background, (plain_background:1.1)');
  const lines = await workbench.editorLines();
  assert.ok(lines.includes(renamedPost), `the post's line renamed too: ${JSON.stringify(lines)}`);
});

scenario('4f-fix-all', async () => {
  // VS Code's Fix All (palette; editor.codeActionsOnSave runs the same): every alias and duplicate of
  // the file fixed at once, an unknown tag left for the user.
  await workbench.openFile('checks.prompt');
  await workbench.newLineAtEnd();
  await workbench.insertText('smiling, smile, blush, Blush, twintail, lnog_hair');
  await workbench.press('Escape');
  await workbench.runCommand('Fix All');
  await lastLineBecomes('smile, blush, twintails, lnog_hair');
});

scenario('4g-tag-counts', async () => {
  // Tag Counts on a dataset of 30 real posts: the tag most of them hold first, with its number of
  // prompts and share; picking it peeks at its places. Expected from the file itself (split at commas,
  // aliases read as their tags), not from what the page shows.
  const lines = readFileSync(path.join(workspace, 'posts.tags'), 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const prompts = new Map<string, number>();
  for (const line of lines) {
    for (const tag of new Set(line.split(',').map((t) => dictionary.resolve(t)?.tag.name ?? t))) prompts.set(tag, (prompts.get(tag) ?? 0) + 1);
  }
  const [top, count] = [...prompts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
  await workbench.openFile('posts.tags');
  await workbench.runCommand('Tag Counts');
  const rows = await workbench.waitForQuickPickRow(`${count} prompts`);
  assert.match(await workbench.quickPickTitle(), new RegExp(`Tag Counts — [\\d,]+ tags in ${lines.length} prompts`));
  // (A row's text runs its label, description and detail together.)
  assert.ok(rows[0]!.startsWith(`${top}${count} prompts · ${Math.round((100 * count) / lines.length)}%`), `the first row: ${rows[0]}`);
  await workbench.press('Enter');
  await workbench.waitForPeekView();
  await workbench.press('Escape');
});

scenario('4h-add-tag-to-every-prompt', async () => {
  // A LoRA's trigger word put first in every post of the dataset, as a person does it: the command,
  // the tag typed, "First" picked. The file's `,` separator is kept; the comment line is left.
  const lines = readFileSync(path.join(workspace, 'posts.tags'), 'utf8').split('\n').filter((line) => line !== '');
  await workbench.openFile('posts.tags');
  await workbench.runCommand('Add Tag to Every Prompt');
  await workbench.answerInputBox('mychar');
  await workbench.pickQuickPickRow('First');
  // From the top of the file, whatever an earlier scenario scrolled to.
  await workbench.press('Control+Home');
  const shown = (await workbench.editorLinesWhen((l) => l.filter((line) => line.startsWith('mychar,')).length >= 10)).filter((line) => line !== '');
  // The lines the editor shows (those that fit): the file's, each post with the trigger word first.
  assert.ok(shown.length >= 10, JSON.stringify(shown));
  assert.deepEqual(shown, lines.slice(0, shown.length).map((line) => (line.startsWith('#') ? line : `mychar,${line}`)));
  // The file as it is on disk again, for the scenarios after this one.
  await workbench.runCommand('File: Revert File');
});

scenario('4i-remove-typed-tag', async () => {
  // Remove Tag from Every Prompt takes a typed tag too (its list holds Tag Counts' most frequent tags):
  // an alias typed, `brunette`, which matches no row, takes its tag brown_hair out of every post.
  const lines = readFileSync(path.join(workspace, 'posts.tags'), 'utf8').split('\n').filter((line) => line !== '');
  const expected = lines.map((line) => (line.startsWith('#') ? line : line.split(',').filter((tag) => tag !== 'brown_hair').join(',')));
  assert.notDeepEqual(expected, lines, 'the dataset holds brown_hair (else this proves nothing)');
  await workbench.openFile('posts.tags');
  await workbench.runCommand('File: Revert File');
  await workbench.runCommand('Remove Tag from Every Prompt');
  // The list is there (its first row: the most frequent tag), then the alias typed over it.
  await workbench.waitForQuickPickRow('simple_background');
  await workbench.type('brunette');
  await workbench.press('Enter');
  await workbench.waitForNotification(/Removed "brown_hair" \(brunette\) from 6 prompts\./);
  await workbench.press('Control+Home');
  const shown = (await workbench.editorLinesWhen((l) => l.length >= 10 && !l.some((line) => line.split(',').includes('brown_hair')))).filter((line) => line !== '');
  assert.ok(shown.length >= 10, JSON.stringify(shown));
  assert.deepEqual(shown, expected.slice(0, shown.length));
  await workbench.runCommand('File: Revert File');
  // A word that rows only hold (`hair`: long_hair, hair_ornament…) is what Enter takes, not the first
  // such row (it took long_hair out of every post); no post holds it.
  await workbench.runCommand('Remove Tag from Every Prompt');
  await workbench.waitForQuickPickRow('simple_background');
  await workbench.type('hair');
  // (The typed item first and highlighted, as a person sees it before pressing Enter.)
  await workbench.page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: 'as typed' }).first().waitFor({ timeout: 15_000 });
  await workbench.press('Enter');
  await workbench.waitForNotification(/no prompt to change/);
  await workbench.press('Control+Home');
  const kept = (await workbench.editorLinesWhen((l) => l.length >= 10)).filter((line) => line !== '');
  assert.deepEqual(kept, lines.slice(0, kept.length));
});

scenario('5-convert-from-explorer', async () => {
  const output = path.join(workspace, BAD_LINES_FILE.replace(/\.jsonl$/, '.tags.txt'));
  await workbench.press('Escape');
  // The entry is on a dump's files (a .json shard by its name or folder), not on every .json of a
  // workspace (settings, a ComfyUI workflow). Generated for the menu only, never converted.
  const shard = path.join(workspace, 'metadata', 'posts000000000000.json');
  copyFileSync(path.join(workspace, 'metadata', 'gwern-metadata-263162.jsonl'), shard);
  // (Named to sort near the top, where the explorer's list has it on screen.)
  writeFileSync(path.join(workspace, 'comfyui-workflow.json'), '{"note": "generated for the explorer menu test"}\n');
  const convertEntry = 'Convert Metadata to Tag Dataset';
  for (const [file, shown] of [['metadata', true], ['comfyui-workflow.json', false], ['.vscode/settings.json', false], ['metadata/posts000000000000.json', true]] as const) {
    const entries = await workbench.explorerContextMenuEntries(file);
    assert.equal(entries.includes(convertEntry), shown, `${file}: ${JSON.stringify(entries)}`);
  }
  rmSync(shard);
  rmSync(path.join(workspace, 'comfyui-workflow.json'));
  await workbench.explorerContextMenu(BAD_LINES_FILE, convertEntry);
  // the save dialog proposes NAME.tags.txt beside the input: accept it
  const input = workbench.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  let proposed = '';
  for (let i = 0; i < 40 && !proposed.endsWith('.tags.txt'); i++) {
    await new Promise((r) => setTimeout(r, 250));
    proposed = await input.inputValue();
  }
  assert.equal(proposed, output, 'the save dialog proposes NAME.tags.txt beside the input');
  await workbench.screenshot('5-convert-save-dialog');
  await workbench.press('Enter');
  const expected = expectedDatasetLines(fixture.goodLines);
  const summary = await workbench.waitForNotification(/Converted \d+ posts/, 90_000);
  assert.match(summary, new RegExp(`Converted ${expected.length} posts to posts-with-bad-lines\\.tags\\.txt`), summary);
  assert.match(summary, /\b2 bad lines\b/, `the summary reports the two bad lines: "${summary}"`);
  await workbench.screenshot('5-convert-summary');
  assert.ok(existsSync(output), `${output} was written`);
  const written = readFileSync(output, 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(written, expected);
  // the gwern line gives the seed's documented output
  assert.ok(written.includes('1boy,1girl,bangs,blunt_bangs,brown_hair,flute,hair_bun,hime_cut,instrument,japanese_clothes,long_hair,mask,ribbon,yellow_eyes'));
  await workbench.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'posts-with-bad-lines.tags.txt' }).first().waitFor({ timeout: 15_000 });
  // "Open Output" opens the dataset
  await workbench.page.locator('.notification-list-item', { hasText: 'Converted' }).locator('.monaco-button', { hasText: 'Open Output' }).first().click();
  await workbench.page.locator('.tabs-container .tab.active', { hasText: 'posts-with-bad-lines.tags.txt' }).waitFor({ timeout: 15_000 });
  const shown = await workbench.editorLines();
  assert.equal(shown[0], expected[0]);
});

scenario('5e-convert-cancelled', async () => {
  // GENERATED for this test (the file says so in its name): the real fixture's first posts repeated
  // into ~6 GB of JSON lines, gzipped as 96 identical members of 64 MB (~6 MB on disk), so that the
  // conversion runs long enough to be cancelled from its notification.
  const input = path.join(workspace, 'metadata', 'generated-for-cancel.jsonl.gz');
  const real = readFileSync(path.join(workspace, 'metadata', 'api-posts-2021.jsonl'), 'utf8').split('\n').filter(Boolean);
  let unit = '';
  for (const line of real) if (unit.length + line.length < 30_000) unit += `${line}\n`;
  const member = gzipSync(Buffer.from(unit.repeat(Math.ceil((64 << 20) / unit.length))), { level: 9 });
  writeFileSync(input, Buffer.concat(Array.from({ length: 96 }, () => member)));
  // An older dataset where the save dialog proposes to write: it must come out as it was.
  const output = path.join(workspace, 'metadata', 'generated-for-cancel.tags.txt');
  writeFileSync(output, 'older,dataset\n');
  // Every name in the folder before, hidden ones too (the converter's temporary files start with a dot).
  const namesBefore = readdirSync(path.join(workspace, 'metadata')).sort();
  try {
    await workbench.press('Escape');
    await workbench.explorerContextMenu('metadata/generated-for-cancel.jsonl.gz', 'Convert Metadata to Tag Dataset');
    const dialog = workbench.page.locator('.quick-input-widget input');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    for (let i = 0; i < 40 && !(await dialog.inputValue()).endsWith('.tags.txt'); i++) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await dialog.inputValue(), output);
    await workbench.press('Enter');
    // The save dialog asks before writing over a file: yes (the conversion, not the dialog, must keep it).
    await workbench.page.locator('.quick-input-widget', { hasText: 'already exists' }).waitFor({ timeout: 10_000 });
    await workbench.press('Enter');
    const progress = workbench.page.locator('.notifications-toasts .notification-list-item', { hasText: 'Converting Danbooru metadata' }).first();
    await progress.waitFor({ timeout: 30_000 });
    await workbench.screenshot('5e-convert-progress');
    await progress.hover();
    await progress.locator('.monaco-button', { hasText: /^Cancel$/ }).first().click();
    const cancelled = await workbench.waitForNotification(/Conversion cancelled; nothing was written/, 30_000);
    assert.match(cancelled, /Conversion cancelled; nothing was written\./);
    assert.equal(readFileSync(output, 'utf8'), 'older,dataset\n', 'the older dataset is left as it was');
    assert.ok(!existsSync(`${output}.counts.csv`), 'no tag-count table');
    assert.deepEqual(readdirSync(path.join(workspace, 'metadata')).sort(), namesBefore, 'no temporary file left beside the output');
  } finally {
    rmSync(input, { force: true });
    rmSync(output, { force: true });
  }
});

/** A model folder whose files exist but are not a model: the config is real JSON, the weights are not ONNX. */
function brokenModelFolder(): string {
  const broken = path.join(runDir, 'broken-model');
  if (existsSync(broken)) return broken;
  mkdirSync(path.join(broken, 'onnx'), { recursive: true });
  const shippedConfig = path.join(repoRoot, 'models', 'default', 'config.json');
  const tinyConfig = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny-tag', 'config.json');
  copyFileSync(existsSync(shippedConfig) ? shippedConfig : tinyConfig, path.join(broken, 'config.json'));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    const source = [path.join(repoRoot, 'models', 'default', file), path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny-tag', file)].find(existsSync);
    if (source) copyFileSync(source, path.join(broken, file));
  }
  writeFileSync(path.join(broken, 'onnx', 'model.onnx'), 'this file is not an ONNX model\n');
  return broken;
}

scenario('6-broken-model-folder', async () => {
  const broken = brokenModelFolder();

  // A second workspace whose settings point at it, in its own window (its own extension host).
  const brokenWorkspace = path.join(runDir, 'workspace-broken-model');
  createWorkspace(brokenWorkspace, { 'danbooruGpt.modelFolder': broken });
  await workbench.close();
  workbench = await Workbench.open(browser, server.folderUrl(brokenWorkspace), shotsDir);
  await workbench.openFile('portrait.prompt');
  const status = await workbench.waitForStatusBarItem(/Danbooru GPT: error/, 90_000);
  assert.match(status.text, /error/);
  await workbench.page.locator('.statusbar-item', { hasText: 'Danbooru GPT: error' }).first().hover();
  const tooltip = workbench.page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'model.onnx' }).first();
  await tooltip.waitFor({ timeout: 10_000 });
  await workbench.screenshot('6-broken-model-status');
  await workbench.press('Escape');

  await workbench.runCommand('Danbooru GPT: Open Log');
  const log = await workbench.outputChannelText('Danbooru GPT');
  assert.match(log, /model\.onnx/, 'the log names the bad file');
  assert.ok(log.includes(broken), 'the log names the model folder');

  // dictionary-only completion still works
  await typeOnNewLine('portrait.prompt', '2girls, lo');
  const rows = await workbench.waitForSuggestions((r) => realTagRows(r, 'lo'));
  assert.ok(rows.length >= 3);
});

scenario('7-untrusted-workspace-ignores-its-model-folder', async (t) => {
  // The same broken model folder as scenario 6, set by the workspace; but this code-server has workspace
  // trust on, so the folder opens in Restricted Mode. danbooruGpt.modelFolder is a restricted setting:
  // the workspace's value is ignored and the shipped model loads (scenario 6 shows the value is used
  // when trust is off).
  if (process.env.E2E_MODEL_FOLDER) return t.skip('E2E_MODEL_FOLDER is set: the scenario needs the shipped model as the fallback');
  const broken = brokenModelFolder();
  const untrustedWorkspace = path.join(runDir, 'workspace-untrusted');
  // A wildcard folder outside the workspace, named by the workspace: its files are not listed either.
  const outside = path.join(runDir, 'outside-wildcards');
  mkdirSync(outside, { recursive: true });
  writeFileSync(path.join(outside, 'outside_secret.txt'), 'not for this workspace\n');
  createWorkspace(untrustedWorkspace, { 'danbooruGpt.modelFolder': broken, 'danbooruGpt.wildcardFolders': [outside] });
  // A user setting's relative path names a file of whatever workspace is open: of this one, not loaded.
  writeFileSync(path.join(untrustedWorkspace, 'my-tags.csv'), 'long_hair,0,4350743,\n');
  const trustServer = await startCodeServer({
    stateDir: path.join(runDir, 'state-trust'),
    workspace: untrustedWorkspace,
    vsixFiles: [vsix!],
    workspaceTrust: true,
    userSettings: { 'danbooruGpt.dictionaryFile': 'my-tags.csv' },
    log: (line) => console.log(`  ${line}`),
  });
  try {
    await workbench.close();
    workbench = await Workbench.open(browser, trustServer.url, shotsDir);
    await workbench.page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });
    await workbench.openFile('portrait.prompt');
    const status = await workbench.waitForStatusBarItem(/Danbooru GPT: (default|error)/, 90_000);
    assert.match(status.text, /Danbooru GPT: default/, 'the shipped model is loaded, not the workspace\'s broken folder');
    await workbench.runCommand('Danbooru GPT: Open Log');
    const log = await workbench.outputChannelText('Danbooru GPT');
    assert.ok(!log.includes(broken), 'the workspace\'s model folder is never tried');
    // (The panel's text wraps long lines.)
    const unwrapped = log.replace(/\n/g, '');
    assert.match(unwrapped, /danbooruGpt\.dictionaryFile is the relative path "my-tags\.csv", a file of this untrusted workspace: not loaded/);
    assert.ok(!unwrapped.includes('dictionary tags from'), 'the shipped dictionary is used');
    // The status between the server's start and the first prompt's model load: running, not loading.
    const running = unwrapped.indexOf('The language server is running; the tag model loads with the first prompt opened.');
    assert.ok(running > 0 && running < unwrapped.indexOf('Loading the tag model'), 'the running status comes before the load');
    await typeOnNewLine('portrait.prompt', '2girls, lo');
    const rows = await workbench.waitForSuggestions((r) => realTagRows(r, 'lo'));
    assert.ok(rows.length >= 3, 'more than the one tag of my-tags.csv');
    await workbench.press('Escape');
    await typeOnNewLine('portrait.prompt', '__');
    const wildcards = await workbench.suggestionsOpenedByTyping();
    assert.deepEqual(wildcards.map((r) => r.label), ['__hair_color__', '__outfits/school__'], 'the workspace\'s own wildcards folder (the default), not the folder its settings name');
    await workbench.screenshot('7-untrusted-workspace-ignores-its-model-folder');
  } finally {
    await trustServer.stop();
  }
});
