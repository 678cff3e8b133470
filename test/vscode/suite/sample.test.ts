// Scenario 3: "Danbooru GPT: Sample Tags" continues the prompt at the cursor; with a seed it is reproducible.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SampleTagsResult } from '../../../src/protocol';
import { SAMPLE_SEED, isRealTag, openPrompt, sleep, tagsOf } from './helper';

/** Runs the command and accepts the first candidate of its picker, as Enter would. */
async function sampleAndPickFirst(): Promise<SampleTagsResult> {
  let done = false;
  const pending = Promise.resolve(vscode.commands.executeCommand<SampleTagsResult>('danbooruGpt.sampleTags')).finally(() => (done = true));
  for (let i = 0; i < 360 && !done; i++) {
    await sleep(250);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  }
  const result = await pending;
  assert.ok(result, 'Sample Tags returned its samples');
  return result;
}

suite('sample tags', () => {
  test('3. Sample Tags continues the prompt; the configured seed reproduces it', async () => {
    const editor = await openPrompt('sample.prompt');
    const lineNumber = [...Array(editor.document.lineCount).keys()].find((i) => editor.document.lineAt(i).text.startsWith('2girls'))!;
    const before = editor.document.lineAt(lineNumber).text;
    const promptTags = tagsOf(before);
    const atEnd = () => {
      const end = editor.document.lineAt(lineNumber).range.end;
      editor.selection = new vscode.Selection(end, end);
    };
    atEnd();
    const first = await sampleAndPickFirst();
    assert.equal(first.seed, SAMPLE_SEED);
    assert.deepEqual(first.context, promptTags);
    assert.deepEqual(first.unseen, [], 'the model reads every tag of this real post');
    assert.ok(first.samples.length >= 2, 'several candidates');
    for (const sample of first.samples) {
      for (const tag of sample.tags) {
        assert.ok(isRealTag(tag), `sampled "${tag}" is a real tag`);
        assert.ok(!promptTags.includes(tag), `sampled "${tag}" repeats the prompt`);
      }
    }
    const after = editor.document.lineAt(lineNumber).text;
    assert.deepEqual(tagsOf(after), [...promptTags, ...first.samples[0]!.tags], 'the first candidate is appended');

    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.lineAt(lineNumber).text, before);
    atEnd();
    const second = await sampleAndPickFirst();
    assert.deepEqual(second.samples.map((s) => s.tags), first.samples.map((s) => s.tags));

    // A prompt of tags the model cannot read (1girl, which its posts never hold, and a character tag).
    const unseenLine = [...Array(editor.document.lineCount).keys()].find((i) => editor.document.lineAt(i).text.startsWith('1girl'))!;
    const unseenEnd = editor.document.lineAt(unseenLine).range.end;
    editor.selection = new vscode.Selection(unseenEnd, unseenEnd);
    const unseen = await sampleAndPickFirst();
    assert.deepEqual(unseen.unseen, ['1girl', 'hatsune_miku']);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
