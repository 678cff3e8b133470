// Bundles the three entry points with esbuild. onnxruntime-node stays external: it loads a .node binary
// (npm run package ships it beside the bundles, with one platform's binaries).
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'info',
  external: ['vscode', 'onnxruntime-node'],
};
const entries = [
  { entryPoints: ['src/extension/main.ts'], outfile: 'dist/extension.js' },
  // The client runtime (language client library) loads after activation: a bundle of its own.
  { entryPoints: ['src/extension/client.ts'], outfile: 'dist/client.js' },
  { entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/dataset/worker.ts'], outfile: 'dist/convert-worker.js' },
];
if (watch) {
  for (const e of entries) (await esbuild.context({ ...common, ...e })).watch();
} else {
  await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
}

// The language client kills a server that outlives its stop (on Linux and macOS) with the script its
// library ships beside it, which the bundle looks for next to dist/client.js.
const terminateScript = path.join(path.dirname(createRequire(import.meta.url).resolve('vscode-languageclient/node')), 'lib', 'node', 'terminateProcess.sh');
mkdirSync('dist', { recursive: true });
copyFileSync(terminateScript, 'dist/terminateProcess.sh');
chmodSync('dist/terminateProcess.sh', 0o755);
