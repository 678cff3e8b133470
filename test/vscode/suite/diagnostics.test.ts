// Scenario 4: an unknown and a duplicate tag give two diagnostics; the quick fix removes the duplicate.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { appendLine, openPrompt, waitFor } from './helper';

suite('diagnostics', () => {
  test('4. unknown + duplicate tag: two problems; "Remove duplicate" fixes one', async () => {
    const editor = await openPrompt('checks.prompt');
    const uri = editor.document.uri;
    const diagnostics = await waitFor('two diagnostics', () => {
      const found = vscode.languages.getDiagnostics(uri);
      return found.length === 2 ? found : undefined;
    });
    const unknown = diagnostics.find((d) => /lnog_hair/.test(d.message));
    const duplicate = diagnostics.find((d) => /duplicate/i.test(d.message) && /blush/.test(d.message));
    assert.ok(unknown && duplicate, JSON.stringify(diagnostics.map((d) => d.message)));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, duplicate.range);
    const remove = actions.find((a) => /Remove duplicate/.test(a.title));
    assert.ok(remove?.edit, `a "Remove duplicate" fix: ${JSON.stringify(actions.map((a) => a.title))}`);
    assert.ok(await vscode.workspace.applyEdit(remove.edit));
    assert.equal(editor.document.lineAt(duplicate.range.start.line).text, '2girls, blonde_hair, blush, lnog_hair, multiple_girls, ribbon');
    const left = await waitFor('one diagnostic left', () => {
      const found = vscode.languages.getDiagnostics(uri);
      return found.length === 1 ? found : undefined;
    });
    assert.match(left[0]!.message, /lnog_hair/);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('4i. a setting in a "[danbooru-prompt]" block of settings applies to prompt files: duplicateTags off there, the duplicate is not flagged', async () => {
    const editor = await openPrompt('checks.prompt');
    const uri = editor.document.uri;
    const count = (n: number) => () => (vscode.languages.getDiagnostics(uri).length === n ? true : undefined);
    await waitFor('the fixture diagnostics', count(2));
    const forPrompts = vscode.workspace.getConfiguration('danbooruGpt', { languageId: 'danbooru-prompt' });
    try {
      await forPrompts.update('diagnostics.duplicateTags', false, vscode.ConfigurationTarget.Workspace, true);
      await waitFor('the duplicate no longer flagged', count(1), 30_000);
      assert.match(vscode.languages.getDiagnostics(uri)[0]!.message, /lnog_hair/);
    } finally {
      await forPrompts.update('diagnostics.duplicateTags', undefined, vscode.ConfigurationTarget.Workspace, true);
    }
    await waitFor('flagged again once the block is gone', count(2), 30_000);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('4h. another version of a prompt (a diff\'s left side, git: or gitlens:) is not checked: its problems are not listed twice', async () => {
    const text = '2girls, blonde_hair, blush, lnog_hair, blush\n';
    const provider = vscode.workspace.registerTextDocumentContentProvider('gitlens', { provideTextDocumentContent: () => text });
    try {
      const other = await vscode.workspace.openTextDocument(vscode.Uri.parse('gitlens:/checks.prompt'));
      assert.equal(other.languageId, 'danbooru-prompt');
      await vscode.window.showTextDocument(other);
      // The same text as the user's own document is checked (two problems), meanwhile this one not.
      const own = await vscode.workspace.openTextDocument({ language: 'danbooru-prompt', content: text });
      await waitFor('the own document\'s problems', () => (vscode.languages.getDiagnostics(own.uri).length === 2 ? true : undefined));
      assert.deepEqual(vscode.languages.getDiagnostics(other.uri), []);
    } finally {
      provider.dispose();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  test('4b. quality tags are not unknown; "Add to known tags" writes the user setting (the workspace\'s, when it sets the list) and the warning goes', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    const editor = await openPrompt('checks.prompt');
    const uri = editor.document.uri;
    try {
      await waitFor('the fixture diagnostics', () => (vscode.languages.getDiagnostics(uri).length === 2 ? true : undefined));
      await appendLine(editor, 'masterpiece, best quality, 1girl, mytrigger word');
      const line = editor.document.lineCount - 1;
      const unknown = await waitFor('one unknown tag on the new line', () => {
        const onLine = vscode.languages.getDiagnostics(uri).filter((d) => d.range.start.line === line);
        return onLine.length === 1 ? onLine[0] : undefined;
      });
      assert.equal(editor.document.getText(unknown.range), 'mytrigger word');
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, unknown.range);
      const add = actions.find((a) => a.command?.command === 'danbooruGpt.addKnownTag');
      assert.ok(add?.command, `an "Add to known tags" action: ${JSON.stringify(actions.map((a) => a.title))}`);
      await vscode.commands.executeCommand(add.command.command, ...(add.command.arguments ?? []));
      const known = settings.inspect<string[]>('diagnostics.knownTags')?.globalValue ?? [];
      assert.ok(known.includes('mytrigger_word') && known.includes('masterpiece'), JSON.stringify(known));
      await waitFor('no diagnostic left on the new line', () =>
        vscode.languages.getDiagnostics(uri).some((d) => d.range.start.line === line) ? undefined : true);
      // A list in the workspace's settings hides the user's: the tag goes there, where it counts.
      await settings.update('diagnostics.knownTags', ['masterpiece', 'best quality'], vscode.ConfigurationTarget.Workspace);
      /** A new line whose last word is unknown once `what` holds: its "Add to known tags" fix run; the line's number. */
      const addKnownOnNewLine = async (text: string, what: string): Promise<number> => {
        await appendLine(editor, text);
        const added = editor.document.lineCount - 1;
        const unknownThere = await waitFor(what, () => vscode.languages.getDiagnostics(uri).find((d) => d.range.start.line === added));
        const fixes = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, unknownThere.range);
        const fix = fixes.find((a) => a.command?.command === 'danbooruGpt.addKnownTag')!;
        await vscode.commands.executeCommand(fix.command!.command, ...(fix.command!.arguments ?? []));
        return added;
      };
      const other = await addKnownOnNewLine('masterpiece, 1girl, otherword', 'the workspace list in effect: otherword unknown');
      assert.deepEqual(settings.inspect<string[]>('diagnostics.knownTags')?.workspaceValue, ['masterpiece', 'best quality', 'otherword']);
      assert.ok(!(settings.inspect<string[]>('diagnostics.knownTags')?.globalValue ?? []).includes('otherword'), 'not in the user settings, hidden there');
      await waitFor('no diagnostic left on that line', () => (vscode.languages.getDiagnostics(uri).some((d) => d.range.start.line === other) ? undefined : true));
      // A "[danbooru-prompt]" block's list hides both: the tag goes into the block.
      const forPrompts = vscode.workspace.getConfiguration('danbooruGpt', { languageId: 'danbooru-prompt' });
      await forPrompts.update('diagnostics.knownTags', ['masterpiece'], vscode.ConfigurationTarget.Workspace, true);
      const third = await addKnownOnNewLine('masterpiece, 1girl, thirdword', 'the block\'s list in effect: thirdword unknown');
      assert.deepEqual(vscode.workspace.getConfiguration('danbooruGpt', editor.document).inspect<string[]>('diagnostics.knownTags')?.workspaceLanguageValue, ['masterpiece', 'thirdword']);
      await waitFor('no diagnostic left on the third line', () => (vscode.languages.getDiagnostics(uri).some((d) => d.range.start.line === third) ? undefined : true));
    } finally {
      await vscode.workspace.getConfiguration('danbooruGpt', { languageId: 'danbooru-prompt' }).update('diagnostics.knownTags', undefined, vscode.ConfigurationTarget.Workspace, true);
      await settings.update('diagnostics.knownTags', undefined, vscode.ConfigurationTarget.Workspace);
      await settings.update('diagnostics.knownTags', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('4e. Fix All fixes every alias and duplicate of the file, and leaves an unknown tag', async () => {
    const editor = await openPrompt('checks.prompt');
    const end = await appendLine(editor, 'smiling, smile, blush, Blush, twintail, lnog_hair');
    const actions = await waitFor('the Fix All action', async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', editor.document.uri, new vscode.Range(end, end), vscode.CodeActionKind.SourceFixAll.value, 1);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(actions[0]!.title, 'Fix all alias, duplicate and unescaped tags in this file');
    assert.ok(actions[0]!.edit, 'resolved: the command asked for one item to resolve');
    assert.ok(await vscode.workspace.applyEdit(actions[0]!.edit));
    assert.equal(editor.document.lineAt(end.line).text, 'smile, blush, twintails, lnog_hair');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
