// `danbooru-gpt` command line: dispatches to one module per subcommand.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './args';

const usage = `usage: danbooru-gpt <command> [options]

commands:
  convert INPUT... -o OUT   Danbooru metadata (JSONL or JSON arrays, .gz) -> tag dataset
  complete                  JSON lines on stdin -> completions
  sample                    sample tag lists from the model
  info                      describe the model

--version prints the version; each command's --help its options.
`;

/** The package's version, from the package.json beside dist/ (the repository's or the installed extension's). */
function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Longest command line (bytes) for the commands that load the model: onnxruntime-node 1.30 reads the
 * process's command line when it starts and crashes (a segmentation fault, nothing printed) on one
 * over ~29 KB, measured here with `sample --prompt`.
 */
const MAX_MODEL_COMMAND_LINE_BYTES = 24 * 1024;

function commandLineBytes(): number {
  try {
    return fs.readFileSync('/proc/self/cmdline').length;
  } catch {
    return process.argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'sample' || command === 'complete' || command === 'info') {
    const bytes = commandLineBytes();
    if (bytes > MAX_MODEL_COMMAND_LINE_BYTES) {
      throw new UsageError(`the command line is ${(bytes / 1024).toFixed(1)} KB, over the ${MAX_MODEL_COMMAND_LINE_BYTES >> 10} KB onnxruntime-node 1.30 can start with: put a long prompt in a file (--prompt-file FILE)`);
    }
  }
  switch (command) {
    case 'convert': return (await import('./convert')).runConvert(argv.slice(1));
    case 'complete': return (await import('./complete')).runComplete(argv.slice(1));
    case 'sample': return (await import('./sample')).runSample(argv.slice(1));
    case 'info': return (await import('./info')).runInfo(argv.slice(1));
    case '--version':
    case '-v':
      process.stdout.write(`danbooru-gpt ${version()}\n`);
      return 0;
    case '--help':
    case '-h':
      process.stdout.write(usage); // as each command's --help: asked for, so on stdout
      return 0;
    default:
      process.stderr.write(usage);
      return command === undefined ? 0 : 2;
  }
}

// A reader that stops early (`| head`) closes the pipe: nothing more can be delivered, which is not a
// failure. Any other write error (a full disk) is one line, not an unhandled 'error' event's trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`danbooru-gpt: cannot write the output: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? 0 : 1);
});

// Messages that cannot be written (their reader went away: `2>&1 | head -1`, EPIPE; a closed
// terminal, EIO) must not fail a run whose output is fine, and there is nowhere left to report it.
process.stderr.on('error', () => undefined);

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof UsageError) {
      process.stderr.write(`danbooru-gpt ${argv[0]}: ${message}\n(see: danbooru-gpt ${argv[0]} --help)\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`danbooru-gpt: ${message}\n`);
    process.exitCode = 1;
  },
);
