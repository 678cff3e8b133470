// Command-line parsing shared by the model commands (complete, sample, info): usage errors are their
// own type so the dispatcher exits 2 with a pointer to --help, as `convert` does.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: exit 2, not 1 (which means the model, the input or the output failed). */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `parseArgs` that also takes `--temperature -1` (it would call the value ambiguous and ask for
 * `--temperature=-1`): a string option followed by a negative number gets that number.
 */
export function parseCommandArgs<T extends Options>(args: string[], options: T, allowPositionals = false): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean }>> {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : undefined;
    if (name && options[name]?.type === 'string' && /^-\.?\d/.test(args[i + 1] ?? '')) {
      joined.push(`${args[i]}=${args[i + 1]}`);
      i++;
    } else joined.push(args[i]);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

/** A number flag's value, or undefined when the flag is absent. */
export function parseNumberFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${text}"`);
  return value;
}
