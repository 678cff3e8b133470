// Preloaded into a benchmark contender (node --require): writes the process's peak RSS (KiB) and CPU
// time (user + system, microseconds), worker threads included, to $BENCH_RSS_FILE when it exits.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script, run as it is */
const fs = require('node:fs');

process.on('exit', () => {
  const usage = process.resourceUsage();
  const report = { maxRssKib: usage.maxRSS, cpuMicroseconds: usage.userCPUTime + usage.systemCPUTime };
  if (process.env.BENCH_RSS_FILE) fs.writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify(report));
});
