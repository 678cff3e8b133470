// Scenarios 1 and 2: tag completion with post counts and the configured insert style, and a ranking
// that depends on the tags already written; picked tags and a translation file.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { normalizeTag } from '../../../src/model/index';
import { appendLine, completions, extensionLogText, itemLabel, openPrompt, sleep, tagDictionary, waitFor, waitForTagCompletions } from './helper';

const tagOf = (item: vscode.CompletionItem) => normalizeTag(itemLabel(item).split(' → ').pop()!);

suite('completion', () => {
  test('1. "1girl, solo, lo" lists real lo… tags with post counts; the first inserts as "long hair, "', async () => {
    const editor = await openPrompt('portrait.prompt');
    const position = await appendLine(editor, '1girl, solo, lo');
    const items = await waitForTagCompletions(editor.document, position, 'lo');
    for (const item of items) {
      const info = tagDictionary().get(tagOf(item))!;
      assert.ok(info, `${itemLabel(item)} is a dictionary tag`);
      assert.ok(String(item.detail).includes(info.count.toLocaleString('en-US')), `${itemLabel(item)} shows its ${info.count} posts: ${item.detail}`);
    }
    const first = items[0]!;
    const edit = first.textEdit ?? (first.range && first.insertText ? new vscode.TextEdit(first.range as vscode.Range, String(first.insertText)) : undefined);
    assert.ok(edit instanceof vscode.TextEdit, 'the item replaces the tag being typed');
    assert.ok(await editor.edit((builder) => builder.replace(edit.range, edit.newText)));
    const line = editor.document.lineAt(position.line).text;
    assert.equal(line, `1girl, solo, ${tagOf(first).replace(/_/g, ' ')}, `);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('2. the same prefix ranks differently after a male-focused and a female-focused prompt', async () => {
    const editor = await openPrompt('ranking.prompt');
    // first tags of real posts: 4157663 (two men) and 543006 (two women)
    const male = await appendLine(editor, '2boys, male_focus, multiple_boys, y');
    const maleItems = await waitForTagCompletions(editor.document, male, 'y');
    const female = await appendLine(editor, '2girls, multiple_girls, y');
    const femaleItems = await waitForTagCompletions(editor.document, female, 'y');
    assert.notEqual(tagOf(maleItems[0]!), tagOf(femaleItems[0]!), `both start with ${tagOf(maleItems[0]!)}`);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('2b. an item\'s command counts its pick through the client (the row says so next time), as does a tag inserted from Related Tags; Forget Picked Tags clears them', async () => {
    const editor = await openPrompt('portrait.prompt');
    const position = await appendLine(editor, '1girl, solo, sh');
    const items = await waitForTagCompletions(editor.document, position, 'sh');
    const third = items[2]!;
    assert.equal(third.command?.command, 'danbooruGpt.tagPicked');
    assert.doesNotMatch(String(third.detail), /picked/);
    // What the editor runs after inserting the item (its arguments say not to reopen the list here).
    await vscode.commands.executeCommand(third.command!.command, tagOf(third), false);
    await vscode.commands.executeCommand(third.command!.command, tagOf(third), false);
    const again = await waitForTagCompletions(editor.document, position, 'sh');
    const picked = again.find((item) => tagOf(item) === tagOf(third));
    assert.match(String(picked?.detail), /· picked twice$/);
    assert.ok(again.indexOf(picked!) <= 2, `${tagOf(third)}, picked twice, ranks no lower than before`);
    assert.ok(Number(await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', 'all')) >= 1);
    const forgotten = await waitForTagCompletions(editor.document, position, 'sh');
    assert.doesNotMatch(String(forgotten.find((item) => tagOf(item) === tagOf(third))?.detail), /picked/);
    // A tag inserted from the Related Tags view counts as picked too.
    await appendLine(editor, '1girl, ');
    await vscode.commands.executeCommand('danbooruGpt.insertTag', tagOf(third));
    assert.match(editor.document.lineAt(editor.document.lineCount - 1).text, new RegExp(`^1girl, ${tagOf(third).replace(/_/g, ' ')}`));
    const next = await appendLine(editor, '1girl, solo, sh');
    const viaView = await waitForTagCompletions(editor.document, next, 'sh');
    assert.match(String(viaView.find((item) => tagOf(item) === tagOf(third))?.detail), /· picked once$/);
    await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', 'all');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('2e. Insert Tag writes nothing where it cannot: in a read-only editor (the pick not counted, the cursor left), on a comment line (not before the comment)', async () => {
    const editor = await openPrompt('portrait.prompt');
    await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', 'all');
    const before = editor.document.getText();
    const comment = editor.document.lineAt(0).range.end;
    assert.match(editor.document.lineAt(0).text, /^# /);
    editor.selection = new vscode.Selection(comment, comment);
    await vscode.commands.executeCommand('danbooruGpt.insertTag', 'smile');
    assert.equal(editor.document.getText(), before, 'a comment line is left as it is');
    const prompt = editor.document.lineAt(1).range.end;
    editor.selection = new vscode.Selection(prompt, prompt);
    await vscode.commands.executeCommand('workbench.action.files.setActiveEditorReadonlyInSession');
    try {
      await vscode.commands.executeCommand('danbooruGpt.insertTag', 'blush');
      assert.equal(editor.document.getText(), before, 'nothing written in a read-only editor');
      assert.deepEqual([editor.selection.active.line, editor.selection.active.character], [prompt.line, prompt.character], 'the cursor stays');
      assert.equal(Number(await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', ['blush'])), 0, 'not counted as picked');
    } finally {
      await vscode.commands.executeCommand('workbench.action.files.resetActiveEditorReadonlyInSession');
    }
    await vscode.commands.executeCommand('danbooruGpt.insertTag', 'blush');
    assert.match(editor.document.lineAt(1).text, /, blush(, )?$/, 'written once the editor takes edits');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('2f. Add Tag to Every Prompt with no prompt in front says so before asking for the tag', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const asked = await Promise.race([
      Promise.resolve(vscode.commands.executeCommand('danbooruGpt.addTagToEveryPrompt')).then(() => false),
      sleep(3000).then(() => true),
    ]);
    if (asked) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(asked, false, 'the command waited on a question');
    await waitFor('the message in the log', () => extensionLogText().split('\n').find((line) => /\[info\] No prompt file in front: open a prompt file first\./.test(line)), 10_000);
  });

  test('2d. a tag inserted from Related Tags is escaped where parentheses are emphasis (.prompt), written as is in a dataset (.tags)', async () => {
    for (const [file, written] of [['portrait.prompt', 'hu tao \\(genshin impact\\)'], ['posts.tags', 'hu tao (genshin impact)']] as const) {
      const editor = await openPrompt(file);
      await appendLine(editor, file.endsWith('.tags') ? '1girl,' : '1girl, ');
      await vscode.commands.executeCommand('danbooruGpt.insertTag', 'hu_tao_(genshin_impact)');
      const line = editor.document.lineAt(editor.document.lineCount - 1).text;
      assert.ok(line.includes(written) && (file.endsWith('.prompt') || !line.includes('\\')), `${file}: ${line}`);
      await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', 'all');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('2g. a tag inserted from Related Tags is written as the line writes its tags and the file separates them (a dataset\'s `,`)', async () => {
    for (const [file, line, written] of [['portrait.prompt', 'long_hair, smile, ', 'long_hair, smile, blue_eyes, '], ['posts.tags', 'long_hair,smile,', 'long_hair,smile,blue_eyes,']] as const) {
      const editor = await openPrompt(file);
      await appendLine(editor, line);
      await vscode.commands.executeCommand('danbooruGpt.insertTag', 'blue_eyes');
      assert.equal(editor.document.lineAt(editor.document.lineCount - 1).text, written, file);
      await vscode.commands.executeCommand('danbooruGpt.forgetPickedTags', 'all');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('2c. a translation file (the tests\' own): typing Chinese proposes the tags, and each tag of the prompt shows its translation after it', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    const file = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'translations', 'zh-cn.csv');
    assert.ok(existsSync(file), file);
    await settings.update('translationFile', file, vscode.ConfigurationTarget.Workspace);
    try {
      const editor = await openPrompt('portrait.prompt');
      const position = await appendLine(editor, '1girl, smile, 长');
      const items = await waitFor('tags by translation', async () => {
        const found = await completions(editor.document, position);
        return found.some((item) => itemLabel(item) === '长发 → long_hair') ? found : undefined;
      }, 30_000);
      assert.ok(items.some((item) => itemLabel(item) === '超长发 → very_long_hair'));
      const line = new vscode.Range(position.line, 0, position.line, position.character);
      const hints = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', editor.document.uri, line);
      assert.deepEqual(hints.map((hint) => [hint.position.character, hint.label]), [[12, '微笑']]);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    } finally {
      await settings.update('translationFile', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
