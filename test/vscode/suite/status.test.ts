// The log and the status menu: a settings warning is logged once while its value stays wrong; a
// restart the user asked for logs no error; the menu's placeholder is short (the long message is an
// item's detail). (Toasts and the QuickPick are not readable through the API.)
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { statusSummary } from '../../../src/extension/commands';
import { parseClientLine } from '../../../src/extension/logChannel';
import { extensionLogText, openPrompt, sleep, waitFor } from './helper';

const logLines = (): string[] => extensionLogText().split('\n');

suite('log and status', () => {
  test('7. an out-of-range setting is warned about once, not again when another setting changes', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    const warning = /\[warning\] The setting danbooruGpt\.completion\.count is 2\.5, but must be an integer/;
    await openPrompt('portrait.prompt');
    try {
      await settings.update('completion.count', 2.5, vscode.ConfigurationTarget.Workspace);
      await waitFor('the warning in the log', () => (logLines().some((line) => warning.test(line)) ? true : undefined), 60_000);
      await settings.update('sample.temperature', 0.9, vscode.ConfigurationTarget.Workspace);
      await settings.update('diagnostics.delay', 200, vscode.ConfigurationTarget.Workspace);
      // The server re-reads the settings of every open prompt after each change (diagnostics run again).
      await sleep(3000);
      assert.equal(logLines().filter((line) => warning.test(line)).length, 1, logLines().filter((line) => /completion\.count/.test(line)).join('\n'));
    } finally {
      for (const key of ['completion.count', 'sample.temperature', 'diagnostics.delay']) await settings.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('7b. the client\'s own settings of a wrong type are named once in the log, the default used ("false" turned inline suggestions on)', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    await openPrompt('portrait.prompt');
    const warned = (pattern: RegExp) => waitFor(`a warning matching ${pattern}`, () => (logLines().some((line) => pattern.test(line)) ? true : undefined), 30_000);
    try {
      await settings.update('inlineSuggestions.enabled', 'false', vscode.ConfigurationTarget.Workspace);
      await warned(/\[warning\] The setting danbooruGpt\.inlineSuggestions\.enabled is "false", but must be true or false; using false\./);
      await settings.update('extraLanguages', 42, vscode.ConfigurationTarget.Workspace);
      await warned(/\[warning\] The setting danbooruGpt\.extraLanguages is 42, but must be a list of strings; using none\./);
      await settings.update('sample.temperature', 0.9, vscode.ConfigurationTarget.Workspace);
      await sleep(2000);
      assert.equal(logLines().filter((line) => /inlineSuggestions\.enabled is "false"/.test(line)).length, 1, 'once');
    } finally {
      for (const key of ['inlineSuggestions.enabled', 'extraLanguages', 'sample.temperature']) await settings.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('8. Restart Language Server logs no error; the client\'s messages are logged at their level', async () => {
    await openPrompt('portrait.prompt');
    const loaded = () => logLines().filter((line) => /\] Model .* loaded in /.test(line)).length;
    await waitFor('the model loaded', () => (loaded() > 0 ? true : undefined), 90_000);
    const before = loaded();
    const from = logLines().length;
    await vscode.commands.executeCommand('danbooruGpt.restartServer');
    await waitFor('the model loaded again', () => (loaded() > before ? true : undefined), 90_000);
    await sleep(1000);
    const since = logLines().slice(from - 1).join('\n');
    assert.match(since, /Restarting the language server/);
    assert.doesNotMatch(since, /\[error\]/, since);
    // The client's own `[Error - time]` prefix means a line was logged at the wrong level.
    assert.doesNotMatch(extensionLogText(), /\[(Error|Warn|Info) +- /);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('8b. a change of the files the features apply to (extraFiles) restarts the client with no error (the stopping one was sent the change)', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    await openPrompt('portrait.prompt');
    const loaded = () => logLines().filter((line) => /\] Model .* loaded in /.test(line)).length;
    await waitFor('the model loaded', () => (loaded() > 0 ? true : undefined), 90_000);
    const before = loaded();
    const from = logLines().length;
    try {
      await settings.update('extraFiles', ['**/captions/*.txt'], vscode.ConfigurationTarget.Workspace);
      await waitFor('the model loaded again', () => (loaded() > before ? true : undefined), 90_000);
      await sleep(1000);
      const since = logLines().slice(from - 1).join('\n');
      assert.match(since, /The files the features apply to changed: restarting the language client/);
      assert.doesNotMatch(since, /\[error\]/, since);
    } finally {
      await settings.update('extraFiles', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('8c. Restart Language Server while Sample Tags samples: the sampling stops with a line in the log, no error', async () => {
    const settings = vscode.workspace.getConfiguration('danbooruGpt');
    const editor = await openPrompt('sample.prompt');
    const loaded = () => logLines().filter((line) => /\] Model .* loaded in /.test(line)).length;
    await waitFor('the model loaded', () => (loaded() > 0 ? true : undefined), 90_000);
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(end, end);
    const from = logLines().length;
    try {
      // 50 samples of 200 tags: seconds of sampling, the restart comes in the middle of it.
      for (const [key, value] of [['sample.maxTags', 200], ['sample.minTags', 200], ['sample.count', 50]] as const) await settings.update(key, value, vscode.ConfigurationTarget.Workspace);
      await sleep(1000);
      let done = false;
      const sampling = Promise.resolve(vscode.commands.executeCommand('danbooruGpt.sampleTags')).finally(() => (done = true));
      await sleep(800);
      assert.equal(done, false, 'still sampling when the restart is asked for (else this proves nothing)');
      await vscode.commands.executeCommand('danbooruGpt.restartServer');
      await Promise.race([sampling, sleep(20_000)]);
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await sampling;
      const since = logLines().slice(from - 1).join('\n');
      assert.match(since, /Sample Tags stopped: the language server restarted\./);
      assert.doesNotMatch(since, /\[error\]/, since);
    } finally {
      for (const key of ['sample.count', 'sample.minTags', 'sample.maxTags']) await settings.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  test('9. client lines: the level from the prefix, a clean exit is not an error', () => {
    assert.deepEqual(parseClientLine('[Error - 10:41:02 AM] The model in /m could not be loaded'), { level: 'error', message: 'The model in /m could not be loaded' });
    assert.deepEqual(parseClientLine('[Info  - 10:41:02] Loading'), { level: 'info', message: 'Loading' });
    assert.deepEqual(parseClientLine('[Error - 10:41:02] Server process exited with code 0.'), { level: 'info', message: 'Server process exited with code 0.' });
    assert.equal(parseClientLine('[Error - 10:41:02] Server process exited with code 1.').level, 'error');
    assert.deepEqual(parseClientLine('    at stack frame', 'error'), { level: 'error', message: '    at stack frame' });
    // Trace lines come only when danbooruGpt.trace.server asks: shown at the log's default level.
    assert.deepEqual(parseClientLine("[Trace - 10:41:02 AM] Sending request 'textDocument/completion - (5)'."), { level: 'info', message: "Sending request 'textDocument/completion - (5)'." });
    assert.equal(parseClientLine('true', 'info').message, '', "the client's boolean data after a crash message is no line");
  });

  test('10. the status menu placeholder is short; the long message goes to an item', () => {
    const long = `Model default loaded in 850 ms (140,782 dictionary tags) from /home/someone/${'very-long-folder/'.repeat(8)}models/default.`;
    const ok = statusSummary({ health: 'ok', loading: false, model: 'default', message: long });
    assert.equal(ok.placeholder, 'Danbooru GPT: model default · ready');
    const warning = statusSummary({ health: 'warning', loading: false, model: 'default', message: long });
    assert.match(warning.label, /^\$\(warning\) /);
    // The server stopped for good: said so, not "no model" (the model was fine).
    assert.equal(statusSummary({ health: 'error', loading: false, stopped: true, message: 'The language server stopped.' }).label, '$(error) Error: language server stopped');
    const error = statusSummary({ health: 'error', loading: false, message: 'The model in /x could not be loaded' });
    assert.match(error.placeholder, /no model · error/);
    // Running with no prompt seen yet: ready, no model loaded, and none missing.
    const running = statusSummary({ health: 'ok', loading: false, message: 'The language server is running; the tag model loads with the first prompt opened.' });
    assert.equal(running.label, '$(check) Running');
    assert.doesNotMatch(running.placeholder, /no model/);
    for (const summary of [ok, warning, error, running]) assert.ok(summary.placeholder.length < 70 && !summary.placeholder.includes('/'), summary.placeholder);
  });
});
