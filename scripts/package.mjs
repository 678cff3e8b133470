// `npm run package`: one .vsix per platform with `vsce package --target`, each carrying only its own
// onnxruntime-node binaries.
//
// The bundles in dist/ leave a few packages external (native code, ESM-only libraries). This script
// finds them from the bundles' own require()/import() calls, ships those packages and their
// dependencies, and from onnxruntime-node ships only bin/napi-v*/<os>/<arch> of the target.
// Everything else comes from .vscodeignore's allowlist plus the files package.json contributes.
//
// usage: node scripts/package.mjs [--target linux-x64 ...] [--out-dir vsix] [--no-build] [--budget TARGET=MB ...] [--baseline]
//   --baseline also packages one universal .vsix (every platform's binaries, what a plain
//   `vsce package` of the same files gives) and prints each target's size as a ratio of it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** vsce target → the process.platform / process.arch pair that onnxruntime-node lays its binaries out by. */
const TARGETS = {
  'linux-x64': { os: 'linux', cpu: 'x64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
};

/**
 * Native files a platform folder holds twice or that the CPU runtime never loads.
 * darwin: libonnxruntime.1.30.0.dylib is a byte-identical copy of libonnxruntime.1.dylib, which is the
 * name the binding links (@rpath/libonnxruntime.1.dylib) and the library's own install name.
 */
const DROPPED_NATIVE_FILES = [/^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/];

function parseArgs(argv) {
  const options = { targets: [], outDir: path.join(root, 'vsix'), build: true, budgets: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    if (arg === '--target') options.targets.push(value());
    else if (arg === '--out-dir') options.outDir = path.resolve(value());
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--baseline') options.baseline = true;
    else if (arg === '--budget') {
      const [target, mb] = value().split('=');
      if (!(target in TARGETS) || !(Number(mb) > 0)) usage(`--budget wants TARGET=MB, e.g. linux-x64=40`);
      options.budgets.set(target, Number(mb));
    }
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (options.targets.length === 0) options.targets = Object.keys(TARGETS);
  for (const target of options.targets) {
    if (!(target in TARGETS)) usage(`unknown target ${target}; known: ${Object.keys(TARGETS).join(', ')}`);
  }
  return options;
}

function usage(problem) {
  const text = 'usage: node scripts/package.mjs [--target T ...] [--out-dir DIR] [--no-build] [--budget T=MB ...] [--baseline]\n' +
    `targets: ${Object.keys(TARGETS).join(', ')} (default: all)\n`;
  if (problem) {
    process.stderr.write(`package: ${problem}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const toPosix = (p) => p.split(path.sep).join('/');

/** Bare package names that the bundles load at run time (external to esbuild). */
export function runtimeExternals(distDir) {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const names = new Set();
  for (const file of readdirSync(distDir)) {
    if (!file.endsWith('.js')) continue;
    const code = readFileSync(path.join(distDir, file), 'utf8');
    for (const match of code.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
      const specifier = match[1];
      if (builtins.has(specifier) || builtins.has(specifier.split('/')[0]) || specifier === 'vscode') continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return [...names].sort();
}

/** Node's lookup: node_modules/<name> beside `fromDir`, then in each parent up to the root. */
function resolvePackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return undefined;
  }
}

function matchesPlatform(list, value) {
  if (!Array.isArray(list) || list.length === 0) return true;
  const denied = list.filter((x) => x.startsWith('!')).map((x) => x.slice(1));
  const allowed = list.filter((x) => !x.startsWith('!'));
  return !denied.includes(value) && (allowed.length === 0 || allowed.includes(value));
}

/**
 * A package's dependencies that its run-time code loads. For a package with an install script
 * (onnxruntime-node: adm-zip and global-agent serve only script/install.js), dependencies that no
 * module outside its script folders requires are left out; other packages keep all of theirs.
 */
function runtimeDependencies(dir, manifest) {
  const dependencies = Object.keys(manifest.dependencies ?? {});
  const scripts = manifest.scripts ?? {};
  if (!scripts.install && !scripts.postinstall && !scripts.preinstall) return dependencies;
  const referenced = new Set();
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'script', 'scripts', 'test', 'bin'].includes(entry.name)) walk(full);
      } else if (/\.(c|m)?js$/.test(entry.name)) {
        const code = readFileSync(full, 'utf8');
        for (const dep of dependencies) {
          const name = dep.replace(/[.*+?^$()|[\]\\/{}]/g, '\\$&');
          if (new RegExp(`(require\\(|import\\(|from )\\s*["']${name}(/[^"']*)?["']`).test(code)) referenced.add(dep);
        }
      }
    }
  };
  walk(dir);
  return dependencies.filter((dep) => referenced.has(dep));
}

/** The external packages and everything they depend on, as directories relative to the root. */
function dependencyClosure(names, platform) {
  const dirs = new Map();
  const missing = [];
  const visit = (name, fromDir, optional) => {
    const dir = resolvePackageDir(name, fromDir);
    if (!dir) {
      if (!optional) missing.push(name);
      return;
    }
    const rel = toPosix(path.relative(root, dir));
    if (dirs.has(rel)) return;
    const manifest = readJson(path.join(dir, 'package.json'));
    // Platform-specific packages (e.g. prebuilt binaries) only go into their own platform's .vsix.
    if (!platform.universal && (!matchesPlatform(manifest.os, platform.os) || !matchesPlatform(manifest.cpu, platform.cpu))) return;
    dirs.set(rel, manifest);
    for (const dep of runtimeDependencies(dir, manifest)) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of names) visit(name, root, false);
  if (missing.length > 0) {
    throw new Error(`runtime packages not installed: ${missing.join(', ')} (run npm ci first)`);
  }
  return dirs;
}

/**
 * .vscodeignore negations that ship `packageDir` except the native binaries of other platforms:
 * vsce keeps a file when any `!pattern` matches it, so a package with native binaries is listed
 * entry by entry, descending only into the folders that hold other platforms' files.
 */
function shipPatterns(packageDir, platform, report) {
  const abs = path.join(root, packageDir);
  const nativeRoot = readdirSync(abs).includes('bin') && readdirSync(path.join(abs, 'bin')).some((d) => /^napi-v\d+$/.test(d));
  // Only what Node loads, and the licences: no TypeScript sources, declarations or source maps.
  const loaded = (dir) => [`!${dir}/**/*.{js,cjs,mjs,json,node,wasm}`, `!${dir}/**/{LICENSE,LICENCE,NOTICE,ThirdPartyNotices}*`];
  if (!nativeRoot) return loaded(packageDir);
  if (platform.universal) return [...loaded(packageDir), `!${packageDir}/bin/**`];
  // script/ holds the npm install step (it downloads binaries; its own dependencies are not shipped).
  const patterns = readdirSync(abs).filter((entry) => entry !== 'bin' && entry !== 'script').flatMap((entry) => {
    const isDir = statSync(path.join(abs, entry)).isDirectory();
    return isDir ? loaded(`${packageDir}/${entry}`) : [`!${packageDir}/${entry}`];
  });
  for (const napi of readdirSync(path.join(abs, 'bin'))) {
    const platformDir = path.join(abs, 'bin', napi, platform.os, platform.cpu);
    if (!existsSync(platformDir)) {
      report.missingNative.push(`${packageDir}/bin/${napi}/${platform.os}/${platform.cpu}`);
      continue;
    }
    for (const file of readdirSync(platformDir)) {
      if (DROPPED_NATIVE_FILES.some((re) => re.test(file))) continue;
      patterns.push(`!${packageDir}/bin/${napi}/${platform.os}/${platform.cpu}/${file}`);
    }
  }
  return patterns;
}

/** The license file of a package folder (LICENSE, LICENCE, License.txt, LICENSE.md …), or undefined. */
function licenseText(dir) {
  const file = readdirSync(dir).find((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f));
  if (file) return readFileSync(path.join(dir, file), 'utf8').trim();
  const name = readJson(path.join(dir, 'package.json')).name;
  return KNOWN_LICENSE_TEXTS[name];
}

/** The MIT License with a copyright line. */
const mit = (copyright) => `MIT License

${copyright}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

const ONNXRUNTIME_NOTE = `The native libraries (libonnxruntime, onnxruntime.dll) include third-party components listed in
onnxruntime's ThirdPartyNotices.txt (https://github.com/microsoft/onnxruntime/blob/main/ThirdPartyNotices.txt).
On win32-x64, DirectML.dll, dxcompiler.dll and dxil.dll ship as they come in this npm package, under
Microsoft's own terms for those redistributables.`;

/**
 * License texts of packages that publish none in their npm tarball (onnxruntime's packages say MIT in
 * package.json only); the text is that of the project's repository.
 */
const KNOWN_LICENSE_TEXTS = {
  'onnxruntime-common': mit('Copyright (c) Microsoft Corporation'),
  'onnxruntime-node': `${mit('Copyright (c) Microsoft Corporation')}\n\n${ONNXRUNTIME_NOTE}`,
};

/**
 * dist/third-party-licenses.txt: every package bundled into dist/ (read from the bundles' source
 * maps) or shipped beside them, with its version, license and the license's full text.
 */
export function writeThirdPartyLicenses(distDir, runtimeDirs) {
  const dirs = new Set(runtimeDirs.map((d) => path.join(root, d)));
  for (const file of readdirSync(distDir).filter((f) => f.endsWith('.js.map'))) {
    const map = readJson(path.join(distDir, file));
    for (const source of map.sources ?? []) {
      const abs = path.resolve(distDir, source);
      const match = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)/.exec(abs);
      if (match && existsSync(path.join(match[1], 'package.json'))) dirs.add(match[1]);
    }
  }
  const entries = [...dirs].map((dir) => ({ dir, manifest: readJson(path.join(dir, 'package.json')) }))
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  const unlicensed = entries.filter(({ dir }) => licenseText(dir) === undefined).map(({ manifest }) => manifest.name);
  // Shipping code without its license text is not allowed by most licenses: stop, name the package.
  if (unlicensed.length > 0) throw new Error(`no license text for ${unlicensed.join(', ')}: add it to KNOWN_LICENSE_TEXTS in scripts/package.mjs`);
  const sections = entries.map(({ dir, manifest }) => {
    const text = licenseText(dir);
    return `${'='.repeat(78)}\n${manifest.name} ${manifest.version} (${manifest.license ?? 'unknown license'})\n${'='.repeat(78)}\n\n${text}\n`;
  });
  const header = 'Third-party software in this extension: the packages bundled into dist/*.js and the run-time\n' +
    'packages shipped in node_modules/. Generated by scripts/package.mjs from each package\'s own files.\n\n';
  writeFileSync(path.join(distDir, 'third-party-licenses.txt'), header + sections.join('\n'));
  return entries.map(({ manifest }) => `${manifest.name}@${manifest.version}`);
}

/** Files that package.json's contributes (and icon) point at: they must ship. */
function contributedFiles(manifest) {
  const files = new Set();
  if (manifest.icon) files.add(manifest.icon);
  const contributes = manifest.contributes ?? {};
  for (const grammar of contributes.grammars ?? []) if (grammar.path) files.add(grammar.path);
  for (const language of contributes.languages ?? []) {
    if (language.configuration) files.add(language.configuration);
    for (const icon of [language.icon?.light, language.icon?.dark]) if (icon) files.add(icon);
  }
  for (const snippet of contributes.snippets ?? []) if (snippet.path) files.add(snippet.path);
  for (const container of Object.values(contributes.viewsContainers ?? {}).flat()) {
    if (typeof container.icon === 'string' && !container.icon.startsWith('$(')) files.add(container.icon);
  }
  return [...files].map((f) => toPosix(path.normalize(f)));
}

/**
 * Files the README links to by a relative path: the README is the extension's page in the editor,
 * so they ship with it (vsce does not rewrite the links: there is no repository to point them at).
 */
export function readmeLinkedFiles(readme) {
  const files = new Set();
  // Inline links and images: [text](target) or [text](<target> "title").
  for (const [, angled, plain] of readme.matchAll(/\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)/g)) {
    const target = angled ?? plain;
    if (/^[a-z][a-z0-9+.-]*:|^#/i.test(target)) continue;
    const file = target.replace(/#.*$/, '');
    let decoded = file;
    try {
      decoded = decodeURI(file);
    } catch {
      // a stray "%": the path as written
    }
    files.add(toPosix(path.normalize(decoded)));
  }
  return [...files];
}

/** Entry names and uncompressed sizes from a zip's central directory (a .vsix is a zip). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: corrupt central directory`);
    const size = buf.readUInt32LE(offset + 24);
    const nameLength = buf.readUInt16LE(offset + 28);
    const extraLength = buf.readUInt16LE(offset + 30);
    const commentLength = buf.readUInt16LE(offset + 32);
    entries.push({ name: buf.toString('utf8', offset + 46, offset + 46 + nameLength), size });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Checks a built .vsix: what must be in it is, and no other platform's binaries are. */
function verifyVsix(file, target, mustShip) {
  const entries = zipEntries(file);
  const names = new Set(entries.map((e) => e.name));
  const problems = [];
  for (const required of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/client.js', 'extension/dist/server.js', 'extension/dist/convert-worker.js', 'extension/dist/terminateProcess.sh', ...mustShip.map((f) => `extension/${f}`)]) {
    if (!names.has(required)) problems.push(`missing ${required}`);
  }
  const { os, cpu } = TARGETS[target] ?? {};
  for (const name of os === undefined ? [] : names) {
    const native = name.match(/\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//);
    if (native && (native[1] !== os || native[2] !== cpu)) problems.push(`carries another platform's binary: ${name}`);
  }
  // Install-time scripts need packages that are not shipped; nothing at run time loads them.
  for (const name of names) if (/\/node_modules\/onnxruntime-node\/script\//.test(name)) problems.push(`carries an install script: ${name}`);
  // The command line is run from a checkout or npm; the extension never loads it.
  if (names.has('extension/dist/cli.js')) problems.push('carries the command line (dist/cli.js), which the extension does not use');
  if (problems.length > 0) throw new Error(`${path.basename(file)}:\n  ${problems.join('\n  ')}`);
  return entries;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.build) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  const manifest = readJson(path.join(root, 'package.json'));
  const externals = runtimeExternals(path.join(root, 'dist'));
  const baseIgnore = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  const mustShip = [...new Set([...contributedFiles(manifest), 'dist/third-party-licenses.txt', ...readmeLinkedFiles(readFileSync(path.join(root, 'README.md'), 'utf8'))])];
  const bundled = writeThirdPartyLicenses(path.join(root, 'dist'), [...dependencyClosure(externals, TARGETS['linux-x64']).keys()]);
  console.log(`third-party licenses: ${bundled.join(', ')}`);
  for (const file of mustShip) {
    if (!existsSync(path.join(root, file))) throw new Error(`${file} is needed in the package but does not exist`);
  }
  const vsce = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
  mkdirSync(options.outDir, { recursive: true });
  const scratch = mkdtempSync(path.join(tmpdir(), 'danbooru-gpt-package-'));
  const results = [];
  try {
    for (const target of [...options.targets, ...(options.baseline ? ['universal'] : [])]) {
      const platform = target === 'universal' ? { universal: true } : TARGETS[target];
      const report = { missingNative: [] };
      const closure = dependencyClosure(externals, platform);
      const ignoreFile = path.join(scratch, `${target}.vscodeignore`);
      writeFileSync(ignoreFile, [
        baseIgnore.trimEnd(),
        `# generated by scripts/package.mjs for ${target}: runtime packages ${externals.join(', ') || '(none)'}`,
        ...mustShip.map((f) => `!${f}`),
        ...[...closure.keys()].flatMap((dir) => shipPatterns(dir, platform, report)),
        '',
      ].join('\n'));
      const outFile = path.join(options.outDir, `${manifest.name}-${target}-${manifest.version}.vsix`);
      const partial = `${outFile}.partial.vsix`;
      const started = performance.now();
      execFileSync(vsce, [
        'package', ...(platform.universal ? [] : ['--target', target]), '--ignoreFile', ignoreFile, '--out', partial,
        // No repository yet: README images stay relative (they resolve inside the installed extension).
        '--allow-missing-repository', '--no-rewrite-relative-links',
      ], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      const entries = verifyVsix(partial, target, mustShip);
      renameSync(partial, outFile);
      const bytes = statSync(outFile).size;
      results.push({
        target,
        file: toPosix(path.relative(root, outFile)),
        bytes,
        files: entries.length,
        unpackedBytes: entries.reduce((sum, e) => sum + e.size, 0),
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
        runtimePackages: [...closure.keys()].map((d) => d.replace(/^node_modules\//, '')),
        missingNative: report.missingNative,
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const mb = (n) => (n / 1024 / 1024).toFixed(1);
  console.log(`\n${'target'.padEnd(14)}${'vsix MiB'.padStart(9)}${'unpacked MiB'.padStart(14)}${'files'.padStart(7)}  file`);
  const universal = results.find((r) => r.target === 'universal');
  for (const r of results) {
    const ratio = universal ? `  ×${(r.bytes / universal.bytes).toFixed(2)} of universal` : '';
    console.log(`${r.target.padEnd(14)}${mb(r.bytes).padStart(9)}${mb(r.unpackedBytes).padStart(14)}${String(r.files).padStart(7)}  ${r.file}${ratio}`);
  }
  for (const r of results.filter((x) => x.missingNative.length > 0)) {
    console.log(`warning: ${r.target}: no native binaries for this platform in ${r.missingNative.join(', ')}; ` +
      'that package runs dictionary-only (the model cannot load)');
  }
  writeFileSync(path.join(options.outDir, 'sizes.json'), JSON.stringify(results, null, 2) + '\n');
  const over = results.filter((r) => options.budgets.has(r.target) && r.bytes > options.budgets.get(r.target) * 1024 * 1024);
  if (over.length > 0) {
    console.error(`package: over budget: ${over.map((r) => `${r.target} ${mb(r.bytes)} MiB > ${options.budgets.get(r.target)} MiB`).join(', ')}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (err) {
    console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
