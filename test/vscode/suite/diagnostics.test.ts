// Scenario 4: an unknown and a duplicate tag give two diagnostics; the quick fix removes the duplicate.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { openPrompt, waitFor } from './helper';

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
});
