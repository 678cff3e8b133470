// A naive stream-json pipeline: file -> stream-json's JSONL parser -> general tags -> output file.
// Usage: node stream-json.mjs OUT FILE...
import fs from 'node:fs';
import { once } from 'node:events';
import chain, { none } from 'stream-chain';
import { parser } from 'stream-json/jsonl/parser.js';

function generalTags(post) {
  if (Array.isArray(post.tags)) return post.tags.filter((tag) => String(tag.category) === '0').map((tag) => tag.name);
  return typeof post.tag_string_general === 'string' ? post.tag_string_general.split(' ').filter(Boolean) : [];
}

const [out, ...files] = process.argv.slice(2);
const output = fs.createWriteStream(out);
let written = 0;
for (const file of files) {
  const pipeline = chain([fs.createReadStream(file), parser(), ({ value }) => {
    const tags = generalTags(value);
    if (tags.length === 0) return none;
    written++;
    return `${tags.join(',')}\n`;
  }]);
  pipeline.pipe(output, { end: false });
  await once(pipeline, 'end');
}
output.end();
await once(output, 'finish');
process.stdout.write(`${written}\n`);
