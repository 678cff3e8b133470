// `npm run test:e2e`: the real-editor tests. Installs code-server + playwright-core on first use,
// builds and packages the extension for this platform, then runs the scenarios (scenarios.test.ts)
// with node's test runner against code-server in Chromium.
//
// usage: npm run test:e2e [-- --grep PATTERN]   (PATTERN selects scenarios by name)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureEditorInstalled, findChromium } from './lib/install';
import { cacheDir, e2eDir, repoRoot, resultsDir } from './lib/paths';

const started = Date.now();
const timings: Record<string, number> = {};
const log = (line: string) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

function phase<T>(name: string, run: () => T): T {
  const t = Date.now();
  const result = run();
  timings[name] = Number(((Date.now() - t) / 1000).toFixed(1));
  log(`${name}: ${timings[name]} s`);
  return result;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

function hostTarget(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  return `${process.platform}-${arch}`;
}

function main(): number {
  const grepIndex = process.argv.indexOf('--grep');
  const grep = grepIndex >= 0 ? process.argv[grepIndex + 1] : undefined;
  const chromium = findChromium();
  phase('install', () => ensureEditorInstalled(log));
  phase('typecheck', () => run(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', path.join(e2eDir, 'tsconfig.json'), '--noEmit']));
  const vsixDir = path.join(cacheDir, 'vsix');
  rmSync(vsixDir, { recursive: true, force: true });
  phase('build', () => run('npm', ['run', 'build', '--silent']));
  phase('package', () => run(process.execPath, ['scripts/package.mjs', '--no-build', '--target', hostTarget(), '--out-dir', vsixDir]));
  const vsix = path.join(vsixDir, `danbooru-gpt-${hostTarget()}-${(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version}.vsix`);
  if (!existsSync(vsix)) throw new Error(`packaging did not produce ${vsix}`);
  mkdirSync(resultsDir, { recursive: true });
  const testArgs = ['--import', 'tsx', '--test', '--test-force-exit', '--test-reporter=spec', '--test-concurrency=1'];
  if (grep) testArgs.push('--test-name-pattern', grep);
  testArgs.push(path.join(e2eDir, 'scenarios.test.ts'));
  let status = 0;
  phase('scenarios', () => {
    const result = spawnSync(process.execPath, testArgs, {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, E2E_VSIX: vsix, CHROMIUM: chromium },
    });
    status = result.status ?? 1;
  });
  timings.total = Number(((Date.now() - started) / 1000).toFixed(1));
  writeFileSync(path.join(resultsDir, 'e2e-timings.json'), JSON.stringify(timings, null, 2) + '\n');
  log(`total ${timings.total} s (${Object.entries(timings).map(([k, v]) => `${k} ${v}s`).join(', ')}); screenshots in ${path.relative(process.cwd(), resultsDir)}/`);
  return status;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`e2e: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
