// Scenario 6: a broken model folder in settings: the log says why, completion still offers
// dictionary tags. (The status bar item is not readable through the API; the code-server e2e run
// checks it on screen.)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { appendLine, extensionDir, extensionLogText, openPrompt, sleep, waitFor, waitForTagCompletions } from './helper';

suite('broken model folder', () => {
  test('6. a model folder whose weights are not ONNX: the log names the file; completion stays', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'danbooru-gpt-broken-model-'));
    mkdirSync(path.join(broken, 'onnx'));
    // the real model's config and tokenizer (the configured one, else the shipped one, else the test fixture)
    const configured = vscode.workspace.getConfiguration('danbooruGpt').get<string>('modelFolder');
    const source = [configured, path.join(extensionDir(), 'models', 'default'), path.join(extensionDir(), 'test', 'fixtures', 'models', 'tiny-tag')]
      .find((dir) => dir && existsSync(path.join(dir, 'config.json')))!;
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      if (existsSync(path.join(source, file))) writeFileSync(path.join(broken, file), readFileSync(path.join(source, file)));
    }
    writeFileSync(path.join(broken, 'onnx', 'model.onnx'), 'this file is not an ONNX model\n');
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    await settings.update('modelFolder', broken, vscode.ConfigurationTarget.Workspace);
    try {
      const editor = await openPrompt('portrait.prompt');
      {
        const log = await waitFor('the load failure in the log', () => {
          const text = extensionLogText();
          return text.includes(broken) && /model\.onnx/.test(text) ? text : undefined;
        }, 90_000);
        assert.match(log, /error/i);
        await sleep(1000);
        // Once, at error level: not also as the client's `[Error - time]` line at info level.
        const failures = extensionLogText().split('\n').filter((line) => line.includes(broken) && /could not be loaded/.test(line));
        assert.equal(failures.length, 1, failures.join('\n'));
        assert.match(failures[0]!, /\[error\] The model in /);
      }
      const position = await appendLine(editor, '2girls, lo');
      const items = await waitForTagCompletions(editor.document, position, 'lo');
      assert.ok(items.length >= 3, 'dictionary completion still offered');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    } finally {
      await settings.update('modelFolder', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
