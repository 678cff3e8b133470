// A server that crashes again and again: the client library restarts it (the status says so, no
// error), then gives up; from then on cursor moves (the Related Tags view) and opened prompts do not
// start it again, only Restart does. The server is the extension host's child (`dist/server.js`),
// killed with SIGKILL as a crash would end it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as vscode from 'vscode';
import { extensionLogText, openPrompt, sleep, waitFor } from './helper';

const logLines = (): string[] => extensionLogText().split('\n');

/** The language servers this extension host runs now. */
function serverPids(): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return table.split('\n').flatMap((row) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(row);
    return match && Number(match[2]) === process.pid && /dist[\\/]server\.js/.test(match[3]!) ? [Number(match[1])] : [];
  });
}

suite('a crashing server', () => {
  test('11. restarted by the client library (no error), then given up on: cursor moves and opened prompts do not start it, Restart does', async () => {
    const editor = await openPrompt('portrait.prompt');
    await vscode.commands.executeCommand('danbooruGpt.relatedTags.focus');
    const from = logLines().length;
    const since = (): string[] => logLines().slice(from);
    let killed = 0;
    // The library restarts a crashed server four times in three minutes; the fifth crash stops it.
    for (; killed < 5; killed++) {
      const [pid] = await waitFor('a running server', () => (serverPids().length > 0 ? serverPids() : undefined), 60_000);
      // Let it start serving (the view asks it for related tags) before it crashes.
      await sleep(1500);
      process.kill(pid!, 'SIGKILL');
      await waitFor('the server gone', () => (serverPids().includes(pid!) ? undefined : true), 10_000);
    }
    await waitFor('the client to give up', () => (since().some((line) => /\[error\] The language server stopped\. Use/.test(line)) ? true : undefined), 30_000);
    const restarting = since().filter((line) => /The language server stopped unexpectedly: restarting it/.test(line)).length;
    assert.equal(restarting, 4, since().join('\n'));
    assert.equal(since().filter((line) => /\[error\] The language server stopped\. Use/.test(line)).length, 1, 'an error only once it is given up on');

    // Cursor moves with the Related Tags view open, another prompt opened: no server.
    for (let i = 0; i < 4; i++) {
      const end = editor.document.lineAt(i % editor.document.lineCount).range.end;
      editor.selection = new vscode.Selection(end, end);
      await sleep(700);
    }
    await openPrompt('faces.prompt');
    await sleep(3000);
    assert.deepEqual(serverPids(), [], since().filter((line) => /Starting the language server/.test(line)).join('\n'));

    const restartedFrom = logLines().length;
    await vscode.commands.executeCommand('danbooruGpt.restartServer');
    await waitFor('a server again', () => (serverPids().length === 1 ? true : undefined), 60_000);
    await waitFor('the model loaded again', () => (logLines().slice(restartedFrom).some((line) => /\] Model .* loaded in /.test(line)) ? true : undefined), 90_000);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
