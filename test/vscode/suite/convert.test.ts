// Scenario 5: Convert Metadata on the explorer's .jsonl writes NAME.tags.txt beside it with the
// expected lines, and reports the bad lines in the log. (The summary notification itself is not
// readable through the API; the code-server e2e run checks it on screen.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { convertedMessage, nothingConvertedMessage } from '../../../src/extension/convert';
import type { ConvertSummary } from '../../../src/dataset/types';
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
    // The dataset it wrote is a file the features work on (Tag Counts, completion): its name makes it one.
    const dataset = await vscode.workspace.openTextDocument(vscode.Uri.file(output));
    assert.equal(dataset.languageId, 'danbooru-prompt', `${output} opens as a Danbooru prompt file`);
    const log = await waitFor('bad lines in the log', () => {
      const text = extensionLogText();
      return /bad lines: 2\b/.test(text) ? text : undefined;
    }, 30_000).catch(() => extensionLogText());
    {
      assert.match(log, /posts-with-bad-lines\.jsonl:11:/, 'the truncated line is logged with its number');
      assert.match(log, /posts-with-bad-lines\.jsonl:13:/, 'the line that is not JSON is logged with its number');
    }
  });

  test('5b. Convert Metadata on a prompt file: a warning that it holds no metadata, no empty dataset, older files untouched', async () => {
    const input = path.join(workspaceDir(), 'not-metadata.prompt');
    const output = `${input}.tags.txt`;
    const counts = `${output}.counts.csv`;
    writeFileSync(input, '1girl, solo, long hair\n');
    // An older dataset is there before the run and must come out as it was; no tag-count table is created.
    writeFileSync(output, 'older,dataset\n');
    rmSync(counts, { force: true });
    const uri = vscode.Uri.file(input);
    try {
      void vscode.commands.executeCommand('danbooruGpt.convertMetadata', uri, [uri]);
      const log = await waitFor('the nothing-converted warning in the log', async () => {
        await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        await sleep(250);
        const text = extensionLogText();
        return /\[warning\] Nothing was converted: not-metadata\.prompt holds no Danbooru metadata posts/.test(text) ? text : undefined;
      }, 90_000);
      assert.match(log, /not-metadata\.prompt holds no Danbooru metadata posts \(1 bad line\).*No dataset was written; not-metadata\.prompt\.tags\.txt was left as it was/);
      assert.equal(readFileSync(output, 'utf8'), 'older,dataset\n', `${output} (there before the run) is left as it was`);
      assert.ok(!existsSync(counts), `${counts} is not created`);
    } finally {
      for (const file of [input, output, counts]) rmSync(file, { force: true });
    }
  });

  test('5d. Convert Metadata on a file that is not on this machine\'s disk (a virtual workspace\'s) says so and asks nothing', async () => {
    const remote = vscode.Uri.parse('vscode-vfs://github/someone/dump/posts.jsonl');
    // (A save dialog would wait here: the command returns at once.)
    const returned = await Promise.race([
      Promise.resolve(vscode.commands.executeCommand('danbooruGpt.convertMetadata', remote, [remote])).then(() => true),
      sleep(5000).then(() => false),
    ]);
    if (!returned) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.ok(returned, 'the command waited on a dialog');
    const logged = await waitFor('the message in the log', () => extensionLogText().split('\n').find((line) => /\[error\] Convert Metadata reads and writes files on this machine's disk; vscode-vfs:\/\/github\/someone\/dump\/posts\.jsonl is not one \(vscode-vfs:\)/.test(line)), 10_000);
    assert.ok(logged);
  });

  test('5c. convert messages count in the singular and the plural', () => {
    const summary = (posts: number, bad: number, read = posts): ConvertSummary => ({
      output: '/w/posts.tags.txt', countsOutput: '/w/posts.tags.txt.counts.csv', outputsWritten: posts > 0, files: ['/w/posts.jsonl'], filesRead: 1, tagsWritten: 0, distinctTags: 0, seconds: 0,
      bytesRead: 0, bytesParsed: 0, postsRead: read, postsWritten: posts, badRecords: bad, stoppedAtLimit: false, problems: {},
      skipped: { 'no-kept-tags': read - posts, 'too-few-tags': 0, rating: 0, deleted: 0, score: 0, duplicate: 0 },
      firstProblems: bad > 0 ? [{ file: '/w/a.prompt', line: 1, unit: 'line', reason: 'invalid-json', detail: 'Unexpected token' }] : [],
    });
    assert.equal(convertedMessage(summary(1, 1)), 'Converted 1 post to posts.tags.txt (0 skipped, 1 bad line, tag counts in posts.tags.txt.counts.csv).');
    assert.equal(convertedMessage(summary(2048, 2)), 'Converted 2,048 posts to posts.tags.txt (0 skipped, 2 bad lines, tag counts in posts.tags.txt.counts.csv).');
    assert.equal(
      nothingConvertedMessage(summary(0, 1), ['/w/a.prompt']),
      'Nothing was converted: a.prompt holds no Danbooru metadata posts (1 bad line); expected a .jsonl, .json or .gz export of Danbooru posts. No dataset was written. First problem: a.prompt:1: invalid-json: Unexpected token',
    );
    assert.match(nothingConvertedMessage(summary(0, 0, 1), ['/w/posts.jsonl']), /the only post read from posts\.jsonl was skipped/);
    assert.match(nothingConvertedMessage(summary(0, 0, 1), ['/w/posts.jsonl'], ['/w/posts.tags.txt']), /No dataset was written; posts\.tags\.txt was left as it was\.$/);
    assert.match(nothingConvertedMessage(summary(0, 0, 3), ['/w/posts.jsonl', '/w/more.jsonl']), /all 3 posts read from the 2 inputs were skipped/);
  });
});
