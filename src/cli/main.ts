// `danbooru-gpt` command line: dispatches to one module per subcommand.
import { UsageError } from './args';

const usage = `usage: danbooru-gpt <command> [options]

commands:
  convert INPUT... -o OUT   Danbooru metadata (JSONL or JSON arrays, .gz) -> tag dataset
  complete                  JSON lines on stdin -> completions
  sample                    sample tag lists from the model
  info                      describe the model
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'convert': return (await import('./convert')).runConvert(argv.slice(1));
    case 'complete': return (await import('./complete')).runComplete(argv.slice(1));
    case 'sample': return (await import('./sample')).runSample(argv.slice(1));
    case 'info': return (await import('./info')).runInfo(argv.slice(1));
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
