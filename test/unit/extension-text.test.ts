// The words the extension shows, as plain functions (no VS Code needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relatedTagsMessage, tagCountDescription, tagCountDetail, unseenNote } from '../../src/extension/text';
import { counted } from '../../src/util/words';
import { times } from '../../src/util/words';

test('counted: singular for 1, plural otherwise, with thousands separators', () => {
  assert.equal(counted(1, 'tag'), '1 tag');
  assert.equal(counted(0, 'tag'), '0 tags');
  assert.equal(counted(1204, 'bad line'), '1,204 bad lines');
  assert.equal(counted(2, 'entry', 'entries'), '2 entries');
});

test('Related Tags line: the last three tags the model read, then the ones it cannot read', () => {
  assert.equal(relatedTagsMessage({ fromModel: false, context: ['smile'], unseen: [] }), 'No model loaded: most popular tags');
  assert.equal(relatedTagsMessage({ fromModel: true, context: [], unseen: [] }), 'Most likely first tags');
  assert.equal(relatedTagsMessage({ fromModel: true, context: ['2girls', 'smile', 'long_hair', 'yuri'], unseen: [] }), 'Next after: smile, long_hair, yuri');
  assert.equal(
    relatedTagsMessage({ fromModel: true, context: ['2girls', 'smile', 'hatsune_miku', '1girl'], unseen: ['hatsune_miku', '1girl'] }),
    'Next after: 2girls, smile · the model does not read hatsune_miku, 1girl',
  );
  assert.equal(relatedTagsMessage({ fromModel: true, context: ['1girl'], unseen: ['1girl'] }), 'Most likely first tags · the model does not read 1girl');
});

test("Sample Tags' title note: how many of the prompt's tags the model cannot read, and which", () => {
  assert.equal(unseenNote([]), '');
  assert.equal(unseenNote(['1girl', 'hatsune_miku']), ', 2 not read by the model: 1girl, hatsune_miku');
});

test('Tag Counts rows: prompts and their share, then category and Danbooru posts, or that the dictionary does not know the tag', () => {
  assert.equal(tagCountDescription({ prompts: 12 }, 30), '12 prompts · 40%');
  assert.equal(tagCountDescription({ prompts: 1 }, 400), '1 prompt · 0.3%');
  assert.equal(tagCountDescription({ prompts: 3 }, 0), '3 prompts · 300%');
  assert.equal(tagCountDetail({ category: 0, posts: 4350743 }), 'general · 4,350,743 posts on Danbooru');
  assert.equal(tagCountDetail({ category: 0, posts: 4350743, translation: '长发' }), '长发 · general · 4,350,743 posts on Danbooru');
  assert.equal(tagCountDetail({ category: 1, posts: 1 }), 'artist · 1 post on Danbooru');
  assert.equal(tagCountDetail({}), 'not in the tag dictionary');
});

test('times: once, twice, then a count', () => {
  assert.deepEqual([1, 2, 3, 1204].map(times), ['once', 'twice', '3 times', '1,204 times']);
});
