// `npm start`: builds the extension, then opens it in a real VS Code (code-server, in the browser)
// on a free 127.0.0.1 port with a sample workspace of prompts, and prints the URL. No VS Code needed.
//
// The repository itself is linked into a fresh extensions folder as an unpacked extension, so
// `npm run build` (or `npm run watch`) + "Developer: Reload Window" picks up changes. Editor state
// and the sample workspace live in test/e2e/.cache/start/ and survive restarts (--fresh resets them).
//
// usage: npm start [-- --port N] [--fresh] [--no-build] [--workspace DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const tsx = createRequire(import.meta.url)('tsx/cjs/api');

const root = path.resolve(import.meta.dirname, '..');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const say = (line) => console.log(`[start ${elapsed()}] ${line}`);

function parseArgs(argv) {
  const options = { port: process.env.PORT ? Number(process.env.PORT) : undefined, fresh: false, build: true, workspace: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--port') options.port = Number(argv[++i]);
    else if (arg === '--fresh') options.fresh = true;
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--workspace') {
      const folder = argv[++i];
      if (folder === undefined || !existsSync(folder) || !statSync(folder).isDirectory()) {
        console.error(`start: --workspace needs a folder${folder === undefined ? '' : `; ${folder} is none`}`);
        process.exit(2);
      }
      options.workspace = path.resolve(folder);
    }
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm start [-- --port N] [--fresh] [--no-build] [--workspace DIR]');
      process.exit(0);
    } else {
      console.error(`start: unknown argument ${arg}`);
      process.exit(2);
    }
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    console.error('start: --port needs a port number');
    process.exit(2);
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // The real-editor harness is TypeScript (CommonJS) shared with the e2e tests: load it through tsx.
  const load = (file) => tsx.require(path.join(root, 'test', 'e2e', 'lib', file), import.meta.url);
  const { ensureEditorInstalled } = load('install.ts');
  const { startCodeServer } = load('codeServer.ts');
  const { cacheDir } = load('paths.ts');
  const { createWorkspace } = load('workspace.ts');

  ensureEditorInstalled(say);
  if (options.build) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) throw new Error('npm run build failed');
    say('built dist/');
  }

  const stateDir = path.join(cacheDir, 'start');
  if (options.fresh) rmSync(stateDir, { recursive: true, force: true });
  // The extension is this repository, linked in fresh each time (an extensions folder is read once, at start).
  rmSync(path.join(stateDir, 'extensions'), { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const workspace = options.workspace ?? path.join(stateDir, 'workspace');
  if (!options.workspace && !existsSync(workspace)) createWorkspace(workspace, {});

  const server = await startCodeServer({
    stateDir,
    workspace,
    extensionFolders: [root],
    port: options.port,
    userSettings: { 'workbench.startupEditor': 'none' },
    log: say,
  });
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  say('ready');
  console.log(`\n  Danbooru GPT in VS Code (code-server): ${server.url}\n\n  Open a .prompt file and type; Ctrl+C here stops the editor.\n  server log: ${path.relative(process.cwd(), server.logFile)}\n`);
}

main().catch((err) => {
  console.error(`start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
