// Starts code-server (the real VS Code workbench and extension host) on 127.0.0.1 with throwaway
// user-data and extensions folders, and stops it again by its process group.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { codeServerBin } from './paths';

export interface CodeServerOptions {
  /** Folder for this server's state (user data, extensions, logs); created, and expected to be fresh. */
  stateDir: string;
  /** Workspace folder the first window opens. */
  workspace: string;
  /** .vsix files to install before the server starts. */
  vsixFiles?: string[];
  /** Unpacked extension folders to link into the extensions folder before the first start. */
  extensionFolders?: string[];
  /** User settings (settings.json in the user-data folder). */
  userSettings?: Record<string, unknown>;
  /**
   * Workspace trust on, and no prompt: folders open untrusted (Restricted Mode) until trusted by hand.
   * Off by default, as in the recipe, so that the other scenarios need no trust dialog.
   */
  workspaceTrust?: boolean;
  port?: number;
  log?: (line: string) => void;
}

export interface CodeServer {
  url: string;
  /** URL of a window on another folder (each window gets its own extension host). */
  folderUrl(folder: string): string;
  pid: number;
  logFile: string;
  /** Folder of VS Code's own logs (extension host, output channels). */
  logsDir: string;
  stop(): Promise<void>;
}

/** Settings that keep a test window quiet and deterministic. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'files.autoSave': 'off',
  'git.enabled': false,
  'chat.disableAIFeatures': true,
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function serverEnv(stateDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: path.join(stateDir, 'xdg'),
    XDG_DATA_HOME: path.join(stateDir, 'xdg'),
    // an empty gallery: no marketplace look-ups (there is no network to reach one anyway)
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
  };
}

function commonArgs(stateDir: string): string[] {
  return [
    '--config', path.join(stateDir, 'config.yaml'),
    '--user-data-dir', path.join(stateDir, 'data'),
    '--extensions-dir', path.join(stateDir, 'extensions'),
  ];
}

/** Installs a .vsix the way a user would (`code-server --install-extension`). */
export function installVsix(stateDir: string, vsix: string): void {
  const result = spawnSync(codeServerBin, [...commonArgs(stateDir), '--install-extension', vsix], {
    env: serverEnv(stateDir),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 || !/was successfully installed/.test(output)) {
    throw new Error(`installing ${vsix} failed (exit ${result.status}):\n${output}`);
  }
}

function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const running = new Set<number>();
// A test runner that dies must not leave a server behind (it would serve the next run an old build).
process.once('exit', () => {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const log = options.log ?? (() => {});
  const { stateDir } = options;
  mkdirSync(path.join(stateDir, 'data', 'User'), { recursive: true });
  mkdirSync(path.join(stateDir, 'extensions'), { recursive: true });
  mkdirSync(path.join(stateDir, 'xdg'), { recursive: true });
  // Written once: a state folder that is kept (npm start) keeps the user's own changes.
  const settingsFile = path.join(stateDir, 'data', 'User', 'settings.json');
  const trustSettings = options.workspaceTrust
    ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false }
    : {};
  if (!existsSync(settingsFile)) writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...trustSettings, ...options.userSettings }, null, 2));
  for (const vsix of options.vsixFiles ?? []) {
    const started = Date.now();
    installVsix(stateDir, vsix);
    log(`installed ${path.basename(vsix)} (${Date.now() - started} ms)`);
  }
  for (const folder of options.extensionFolders ?? []) {
    // Read before the first start: an extension folder added later is not picked up.
    const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    symlinkSync(folder, path.join(stateDir, 'extensions', `${manifest.publisher}.${manifest.name}-${manifest.version}`), 'dir');
  }

  const port = options.port ?? (await freePort());
  const logFile = path.join(stateDir, 'code-server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(codeServerBin, [
    ...commonArgs(stateDir),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override', '--disable-proxy',
    options.workspace,
  ], {
    env: serverEnv(stateDir),
    // its own process group (setsid), so that stop() ends the server and every child it started
    detached: true,
    stdio: ['ignore', out, out],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${codeServerBin}`);
  running.add(pid);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));

  const stop = async (): Promise<void> => {
    if (!running.has(pid)) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 40 && processGroupAlive(pid); i++) await new Promise((r) => setTimeout(r, 125));
    if (processGroupAlive(pid)) process.kill(-pid, 'SIGKILL');
    running.delete(pid);
    log(`stopped code-server (process group ${pid})`);
  };

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      running.delete(pid);
      throw new Error(`code-server exited (code ${exited}) before it was ready:\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${base} within 60 s:\n${readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const folderUrl = (folder: string): string => `${base}/?folder=${encodeURIComponent(folder)}`;
  return {
    url: folderUrl(options.workspace),
    folderUrl,
    pid,
    logFile,
    logsDir: path.join(stateDir, 'data', 'logs'),
    stop,
  };
}
