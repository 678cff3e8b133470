// Installs the real-editor test packages (code-server, playwright-core) into test/e2e/node_modules on
// first use, without downloading anything outside the npm registry (see ../README.md for why each
// environment variable is needed).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, codeServerBin, e2eDir } from './paths';

const APT_HINT =
  'apt-get install -y chromium build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep';

/** The @vscode/ripgrep release that code-server 4.100.3's VS Code pins, and the asset it would download. */
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_RELEASE = 'v13.0.0-10';

function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The Chromium that playwright-core drives (no browser download): $CHROMIUM, else the first on PATH. */
export function findChromium(): string {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    const found = candidate.includes('/') ? (existsSync(candidate) ? candidate : undefined) : which(candidate);
    if (found) return found;
  }
  throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install it: ${APT_HINT}`);
}

const installStamp = path.join(e2eDir, 'node_modules', '.danbooru-gpt-e2e-installed');

function lockHash(): string {
  return createHash('sha256')
    .update(readFileSync(path.join(e2eDir, 'package-lock.json')))
    .update(process.version)
    .digest('hex');
}

export function isInstalled(): boolean {
  return existsSync(codeServerBin) && existsSync(installStamp) && readFileSync(installStamp, 'utf8') === lockHash();
}

/**
 * @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache (in the temp dir) already
 * holds the release asset: put the system's rg there under the asset's name.
 */
function seedRipgrepCache(tmp: string): void {
  const rg = which('rg');
  if (!rg) throw new Error(`ripgrep (rg) is needed to install code-server here; install it: ${APT_HINT}`);
  const triple = process.arch === 'arm64' ? 'aarch64-unknown-linux-musl' : 'x86_64-unknown-linux-musl';
  const cache = path.join(tmp, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const staging = path.join(tmp, 'rg-staging');
  mkdirSync(cache, { recursive: true });
  mkdirSync(staging, { recursive: true });
  copyFileSync(rg, path.join(staging, 'rg'));
  execFileSync('tar', ['czf', path.join(cache, `ripgrep-${RIPGREP_RELEASE}-${triple}.tar.gz`), '-C', staging, 'rg']);
}

function checkBuildTools(): void {
  const missing = ['cc', 'c++', 'make', 'python3', 'pkg-config', 'krb5-config'].filter((tool) => !which(tool));
  for (const lib of ['libsecret-1', 'x11', 'xkbfile']) {
    if (which('pkg-config') && spawnSync('pkg-config', ['--exists', lib]).status !== 0) missing.push(`${lib} (headers)`);
  }
  if (missing.length > 0) {
    throw new Error(`building code-server's native modules needs: ${missing.join(', ')}; install them: ${APT_HINT}`);
  }
}

/** Installs code-server and playwright-core from test/e2e/package-lock.json unless already there. */
export function ensureEditorInstalled(log: (line: string) => void): void {
  if (process.platform !== 'linux') throw new Error('the real-editor tests run on Linux (code-server + Chromium)');
  if (isInstalled()) return;
  checkBuildTools();
  const tmp = path.join(cacheDir, 'install-tmp');
  mkdirSync(tmp, { recursive: true });
  seedRipgrepCache(tmp);
  const logFile = path.join(cacheDir, 'install.log');
  log(`installing code-server and playwright-core into test/e2e/node_modules (log: ${path.relative(process.cwd(), logFile)})`);
  const started = Date.now();
  const result = spawnSync('npm', ['ci', '--foreground-scripts', '--no-audit', '--no-fund'], {
    cwd: e2eDir,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: {
      ...process.env,
      // where @vscode/ripgrep looks for its (seeded) download cache
      TMPDIR: tmp,
      // code-server's postinstall refuses to run as root without it
      npm_config_unsafe_perm: 'true',
      // node-pty's install runs `npx node-gyp`, which must not stop to ask
      npm_config_yes: 'true',
      // argon2 and kerberos would download prebuilt binaries from GitHub; compile them instead
      npm_config_build_from_source: 'true',
    },
  });
  writeFileSync(logFile, `${result.stdout ?? ''}\n${result.stderr ?? ''}`);
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').slice(-30).join('\n');
    throw new Error(`npm ci in test/e2e failed (exit ${result.status}); last lines:\n${tail}`);
  }
  writeFileSync(installStamp, lockHash());
  log(`installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
