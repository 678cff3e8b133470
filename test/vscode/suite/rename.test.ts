// Rename and Document Highlights through VS Code's own commands: the server's providers reach the
// editor.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { appendLine, openPrompt, waitFor } from './helper';

suite('rename', () => {
  test('4d. Rename a tag: every spelling in the file, each in its own style; highlights mark them', async () => {
    const editor = await openPrompt('portrait.prompt');
    const post = editor.document.lineAt(1).text;
    assert.ok(post.includes(', simple_background, '), post);
    const end = await appendLine(editor, 'simple background, (simple_background:1.1)');
    const start = new vscode.Position(end.line, 0);
    const highlights = await waitFor('highlights', async () => {
      const found = await vscode.commands.executeCommand<vscode.DocumentHighlight[] | undefined>('vscode.executeDocumentHighlights', editor.document.uri, start);
      return found && found.length > 0 ? found : undefined;
    });
    assert.deepEqual(highlights.map((h) => editor.document.getText(h.range)), ['simple_background', 'simple background', 'simple_background']);
    const edit = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', editor.document.uri, start, 'plain background');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(editor.document.lineAt(1).text, post.replace(', simple_background, ', ', plain_background, '));
    assert.equal(editor.document.lineAt(end.line).text, 'plain background, (plain_background:1.1)');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

suite('every prompt', () => {
  test('4f. Add Tag to Every Prompt puts a trigger word first in each prompt; Remove Tag from Every Prompt takes it out again', async () => {
    const editor = await openPrompt('portrait.prompt');
    const before = editor.document.getText().split('\n');
    const post = before[1]!;
    const added = await vscode.commands.executeCommand<{ prompts: number; files: number } | undefined>('danbooruGpt.addTagToEveryPrompt', 'mychar', 'start');
    assert.deepEqual(added && [added.prompts, added.files], [1, 1]);
    assert.equal(editor.document.lineAt(0).text, before[0], 'the comment line is left');
    assert.equal(editor.document.lineAt(1).text, `mychar, ${post}`);
    const removed = await vscode.commands.executeCommand<{ prompts: number } | undefined>('danbooruGpt.removeTagFromEveryPrompt', 'mychar');
    assert.equal(removed?.prompts, 1);
    assert.equal(editor.document.getText(), before.join('\n'));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

suite('outline', () => {
  test('4g. the Outline of a prompt file: its comment line a section holding its prompt, named by its first tags', async () => {
    const editor = await openPrompt('portrait.prompt');
    const symbols = await waitFor('document symbols', async () => {
      const found = await vscode.commands.executeCommand<vscode.DocumentSymbol[] | undefined>('vscode.executeDocumentSymbolProvider', editor.document.uri);
      return found && found.length > 0 ? found : undefined;
    });
    assert.equal(symbols.length, 1);
    assert.match(symbols[0]!.name, /^A portrait prompt: the general tags of Danbooru post 4099990/);
    assert.deepEqual(symbols[0]!.children.map((child) => child.name), ['1girl, breasts, closed_mouth, gloves, …']);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
