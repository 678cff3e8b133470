// The floor: Node readline + JSON.parse of every line, no output. Usage: node floor.cjs FILE...
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script, run as it is */
const fs = require('node:fs');
const readline = require('node:readline');

async function main() {
  let records = 0;
  for (const file of process.argv.slice(2)) {
    const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === '') continue;
      JSON.parse(line);
      records++;
    }
  }
  process.stdout.write(`${records}\n`);
}

main();
