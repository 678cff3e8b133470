// Scenario 5: Convert Metadata on the explorer's .jsonl writes NAME.tags.txt beside it with the
// expected lines, and reports the bad lines in the log. (The summary notification itself is not
// readable through the API; the code-server e2e run checks it on screen.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { extensionLogText, sleep, waitFor, workspaceDir } from './helper';

const BAD_LINES_FILE = 'metadata/posts-with-bad-lines.jsonl';

/** The dataset the converter must write for the fixture, computed from its good lines. */
function expectedLines(input: string): string[] {
  const lines: string[] = [];
  for (const line of readFileSync(input, 'utf8').split('\n')) {
    let post: { tags?: { name: string; category: string | number }[]; tag_string_general?: string };
    try {
      post = JSON.parse(line) as typeof post;
    } catch {
      continue; // the two broken lines
    }
    const tags = post.tags ? post.tags.filter((t) => String(t.category) === '0').map((t) => t.name) : (post.tag_string_general ?? '').split(' ').filter(Boolean);
    if (tags.length > 0) lines.push(tags.join(','));
  }
  return lines;
}

suite('convert', () => {
  test('5. Convert Metadata from the explorer writes the tag dataset and logs the bad lines', async () => {
    const input = vscode.Uri.file(path.join(workspaceDir(), BAD_LINES_FILE));
    const output = input.fsPath.replace(/\.jsonl$/, '.tags.txt');
    // as the explorer calls it: the clicked file and the selection; the summary message is left open
    void vscode.commands.executeCommand('danbooruGpt.convertMetadata', input, [input]);
    // accept the save dialog's proposal (NAME.tags.txt beside the input; needs files.simpleDialog.enable)
    await waitFor('the tag dataset', async () => {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await sleep(250);
      return existsSync(output) ? true : undefined;
    }, 90_000);
    assert.deepEqual(readFileSync(output, 'utf8').split('\n').filter(Boolean), expectedLines(input.fsPath));
    const log = await waitFor('bad lines in the log', () => {
      const text = extensionLogText();
      return /bad lines: 2\b/.test(text) ? text : undefined;
    }, 30_000).catch(() => extensionLogText());
    {
      assert.match(log, /posts-with-bad-lines\.jsonl:11:/, 'the truncated line is logged with its number');
      assert.match(log, /posts-with-bad-lines\.jsonl:13:/, 'the line that is not JSON is logged with its number');
    }
  });
});
