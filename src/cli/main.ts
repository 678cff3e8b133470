// `danbooru-gpt` command line: dispatches to one module per subcommand.
const usage = `usage: danbooru-gpt <command> [options]

commands:
  convert INPUT... -o OUT   Danbooru metadata JSONL -> tag dataset
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
    default:
      process.stderr.write(usage);
      return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`danbooru-gpt: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
