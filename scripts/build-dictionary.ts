// Converts the a1111-sd-webui-tagcomplete tag CSV (`name,category,post_count,"alias1,alias2"`, no header)
// into the compact binary dictionary the engine ships (models/dictionary/danbooru-tags.bin).
//   node --import tsx scripts/build-dictionary.ts [../shared/data/danbooru-tags.csv] [models/dictionary/danbooru-tags.bin]
import fs from 'node:fs';
import path from 'node:path';
import { buildDictionary, readRows } from '../src/model/dictionary-csv';

export { buildDictionary, parseCsvLine, readRows } from '../src/model/dictionary-csv';

function main(): void {
  const root = path.join(__dirname, '..');
  const input = process.argv[2] ?? path.join(root, '..', 'shared', 'data', 'danbooru-tags.csv');
  const output = process.argv[3] ?? path.join(root, 'models', 'dictionary', 'danbooru-tags.bin');
  const rows = readRows(input);
  const data = buildDictionary(rows);
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const temporary = `${output}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, data);
  fs.renameSync(temporary, output);
  process.stdout.write(`${output}: ${rows.length} tags, ${data.length} bytes\n`);
}

if (require.main === module) main();
