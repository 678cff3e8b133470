// `npm run test:vscode`: the real-editor scenarios as a mocha suite inside VS Code's extension host,
// with @vscode/test-electron. VS Code comes from VSCODE_EXECUTABLE, or test-electron downloads it.
// Where neither is possible (no VS Code, no route to its download server) the run says so and
// exits 0: the same scenarios run in code-server through `npm run test:e2e`.
//
// `npm run test:vscode -- --code-server` runs this same suite inside code-server's extension host
// (a window opened with extensionDevelopmentPath/extensionTestsPath), which works here.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';

const vscodeTestsDir = __dirname;
const repoRoot = path.resolve(vscodeTestsDir, '..', '..');
const buildDir = path.join(vscodeTestsDir, '.build');
const VSCODE_VERSION = '1.100.3';
const DOWNLOAD_PROBE = 'https://update.code.visualstudio.com/api/releases/stable';
const log = (line: string) => console.log(`[test:vscode] ${line}`);

/** Settings of the suite's workspace: the sampling seed, and VS Code's own save dialog (no native one). */
const WORKSPACE_SETTINGS = { 'danbooruGpt.sample.seed': 20211, 'files.simpleDialog.enable': true };

async function canDownloadVSCode(): Promise<string | undefined> {
  try {
    const response = await fetch(DOWNLOAD_PROBE, { signal: AbortSignal.timeout(8_000) });
    return response.ok ? undefined : `${DOWNLOAD_PROBE} answered ${response.status}`;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${DOWNLOAD_PROBE} is unreachable (${err instanceof Error ? err.message : String(err)}${cause})`;
  }
}

function run(command: string, args: string[], cwd = repoRoot): void {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/** The suite's own packages (mocha, @vscode/test-electron), installed on first use. */
function ensureSuitePackages(): void {
  const stamp = path.join(vscodeTestsDir, 'node_modules', '.danbooru-gpt-installed');
  const lockHash = createHash('sha256').update(readFileSync(path.join(vscodeTestsDir, 'package-lock.json'))).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lockHash) return;
  log('installing mocha and @vscode/test-electron into test/vscode/node_modules');
  run('npm', ['ci', '--no-audit', '--no-fund'], vscodeTestsDir);
  writeFileSync(stamp, lockHash);
}

/** Type-checks the suite, builds the extension and bundles the suite (mocha and vscode stay external). */
async function buildSuite(): Promise<string> {
  run(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', path.join(vscodeTestsDir, 'tsconfig.json'), '--noEmit']);
  run('npm', ['run', 'build', '--silent']);
  rmSync(buildDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [path.join(vscodeTestsDir, 'suite', 'index.ts')],
    outfile: path.join(buildDir, 'suite', 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['vscode', 'mocha', 'onnxruntime-node', '@huggingface/transformers', 'sharp'],
    logLevel: 'warning',
  });
  return path.join(buildDir, 'suite', 'index.js');
}

/** The sample workspace, and suite-config.json beside the bundle: where the logs are, where results go. */
async function prepareWorkspace(logsDir: string): Promise<string> {
  const workspace = path.join(buildDir, 'workspace');
  const { createWorkspace } = (await import('../e2e/lib/workspace')) as typeof import('../e2e/lib/workspace');
  // E2E_MODEL_FOLDER: run against another model folder than the shipped one
  const model = process.env.E2E_MODEL_FOLDER ? { 'danbooruGpt.modelFolder': path.resolve(process.env.E2E_MODEL_FOLDER) } : {};
  createWorkspace(workspace, { ...WORKSPACE_SETTINGS, ...model });
  writeFileSync(path.join(buildDir, 'suite-config.json'), JSON.stringify({ logsDir, resultsFile: path.join(buildDir, 'results.json') }));
  return workspace;
}

async function runInElectron(executable: string | undefined): Promise<number> {
  ensureSuitePackages();
  const suite = await buildSuite();
  const userData = path.join(buildDir, 'user-data');
  const workspace = await prepareWorkspace(path.join(userData, 'logs'));
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'files.simpleDialog.enable': true, 'workbench.startupEditor': 'none' }));
  const { runTests } = await import('@vscode/test-electron');
  try {
    await runTests({
      ...(executable ? { vscodeExecutablePath: executable } : { version: VSCODE_VERSION }),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: suite,
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userData],
    });
    return 0;
  } catch (err) {
    console.error(`[test:vscode] ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** The little of playwright-core used here (its types live with the e2e packages, which the Electron run does not need). */
interface PlaywrightSubset {
  chromium: {
    launch(options: { executablePath: string; args: string[] }): Promise<{
      newPage(): Promise<{ on(event: 'console', listener: (message: { text(): string }) => void): void; goto(url: string): Promise<unknown> }>;
      close(): Promise<void>;
    }>;
  };
}

/** The same suite in code-server's extension host: a window opened with the extension-test payload. */
async function runInCodeServer(): Promise<number> {
  ensureSuitePackages();
  const { ensureEditorInstalled, findChromium } = await import('../e2e/lib/install');
  const { startCodeServer } = await import('../e2e/lib/codeServer');
  ensureEditorInstalled(log);
  const suite = await buildSuite();
  const stateDir = path.join(buildDir, 'code-server');
  const workspace = await prepareWorkspace(path.join(stateDir, 'data', 'logs'));
  const resultsFile = path.join(buildDir, 'results.json');
  const server = await startCodeServer({ stateDir, workspace, userSettings: { 'files.simpleDialog.enable': true }, log });
  // playwright-core lives with the e2e tests' packages
  const { chromium } = createRequire(path.join(repoRoot, 'test', 'e2e', 'package.json'))('playwright-core') as PlaywrightSubset;
  const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const authority = new URL(server.url).host;
    const remote = (p: string) => `vscode-remote://${authority}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(repoRoot)],
      ['extensionTestsPath', remote(suite)],
    ];
    const page = await browser.newPage();
    page.on('console', (message) => {
      const text = message.text();
      if (/^\[Extension Host\]/.test(text) || /passing|failing|✔|✓|\d+\)/.test(text)) console.log(text.replace(/%c/g, ''));
    });
    await page.goto(`${server.url}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    const deadline = Date.now() + 6 * 60_000;
    while (!existsSync(resultsFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    if (!existsSync(resultsFile)) throw new Error('the suite did not report within 6 minutes');
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as { failures: number; results: { title: string; state: string; error?: string; ms?: number }[] };
    for (const r of results.results) {
      console.log(`${r.state === 'passed' ? '✔' : '✖'} ${r.title}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}`);
      if (r.error) console.log(r.error.split('\n').slice(0, 8).map((l) => `    ${l}`).join('\n'));
    }
    log(`${results.results.length - results.failures} passed, ${results.failures} failed (in code-server's extension host)`);
    return results.failures === 0 && results.results.length > 0 ? 0 : 1;
  } finally {
    await browser.close();
    await server.stop();
  }
}

async function main(): Promise<number> {
  if (process.argv.includes('--code-server')) return runInCodeServer();
  const executable = process.env.VSCODE_EXECUTABLE;
  if (executable) {
    if (!existsSync(executable)) throw new Error(`VSCODE_EXECUTABLE=${executable} does not exist`);
    return runInElectron(executable);
  }
  const unreachable = await canDownloadVSCode();
  if (unreachable) {
    log(`skipped: no VS Code here. VSCODE_EXECUTABLE is not set and @vscode/test-electron cannot download VS Code ${VSCODE_VERSION}: ${unreachable}.`);
    log('The same scenarios run in a real editor with `npm run test:e2e` (code-server + Chromium), and this suite runs inside code-server\'s extension host with `npm run test:vscode -- --code-server`.');
    return 0;
  }
  return runInElectron(undefined);
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`[test:vscode] ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
