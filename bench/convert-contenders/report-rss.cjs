// Preloaded into a benchmark contender (node --require): writes the process's peak RSS (KiB, worker
// threads included) to $BENCH_RSS_FILE when it exits.
'use strict';
const fs = require('node:fs');

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) fs.writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
