// The real-editor scenarios: the packaged extension installed in code-server, driven in Chromium.
// Run through `npm run test:e2e` (which installs, builds and packages first and sets E2E_VSIX).
// Each scenario saves a screenshot under test-results/e2e/ whether it passes or fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startCodeServer, type CodeServer } from './lib/codeServer';
import { cacheDir, resultsDir } from './lib/paths';
import { Workbench } from './lib/workbench';
import { createWorkspace, type BadLinesFixture } from './lib/workspace';

const vsix = process.env.E2E_VSIX;
const shotsDir = path.join(resultsDir, 'e2e');
const runDir = path.join(cacheDir, 'run');
const workspace = path.join(runDir, 'workspace');

let server: CodeServer;
let browser: Browser;
let workbench: Workbench;
let fixture: BadLinesFixture;

before(async () => {
  if (!vsix) throw new Error('E2E_VSIX is not set: run the scenarios with `npm run test:e2e`');
  rmSync(runDir, { recursive: true, force: true });
  rmSync(shotsDir, { recursive: true, force: true });
  fixture = createWorkspace(workspace, {});
  server = await startCodeServer({
    stateDir: path.join(runDir, 'state'),
    workspace,
    vsixFiles: [vsix],
    log: (line) => console.log(`  ${line}`),
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  workbench = await Workbench.open(browser, server.url, shotsDir);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

/** A scenario: runs `body`, and screenshots the page as `name.png` (or `name-FAILED.png`). */
function scenario(name: string, body: () => Promise<void>): void {
  test(name, { timeout: 180_000 }, async () => {
    try {
      await body();
      await workbench.screenshot(name);
    } catch (err) {
      await workbench.screenshot(`${name}-FAILED`).catch(() => {});
      throw err;
    }
  });
}

scenario('00-installed', async () => {
  await workbench.openFile('portrait.prompt');
  await workbench.runCommand('Danbooru GPT: Convert Metadata');
  await workbench.page.keyboard.press('Escape');
  void fixture;
  assert.ok(true);
});
