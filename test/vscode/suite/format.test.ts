// Format Document through VS Code's own formatting command: the server's provider reaches the editor
// (as Format Selection and editor.formatOnSave do).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { appendLine, openPrompt, waitFor } from './helper';

suite('format', () => {
  test('4c. Format Document tidies an untidy prompt and leaves the tidy lines (real posts) as they are', async () => {
    const editor = await openPrompt('faces.prompt');
    // Its lines before, less the empty last one the new line goes into.
    const before = editor.document.getText().replace(/\n+$/, '').split('\n');
    await appendLine(editor, '2girls,>_< ,  chibi,,( closed eyes : 1.2 ) ,relay  baton');
    // The first request may come before the language client has registered the provider.
    const edits = await waitFor('formatting edits', async () => {
      const found = await vscode.commands.executeCommand<vscode.TextEdit[] | undefined>('vscode.executeFormatDocumentProvider', editor.document.uri, { tabSize: 2, insertSpaces: true });
      return found && found.length > 0 ? found : undefined;
    });
    const edit = new vscode.WorkspaceEdit();
    edit.set(editor.document.uri, edits);
    assert.ok(await vscode.workspace.applyEdit(edit));
    const after = editor.document.getText().split('\n');
    assert.equal(after[after.length - 1], '2girls, >_<, chibi, (closed eyes:1.2), relay baton');
    assert.deepEqual(after.slice(0, before.length), before, 'the tidy lines are unchanged');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
