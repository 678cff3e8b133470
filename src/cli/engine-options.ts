// The flags every model command shares (--model, --threads, --dictionary) and loading the engine from them.
import { loadEngine, type TagEngine } from '../model/index';
import { MAX_THREADS } from '../model/session';
import { UsageError } from './args';

export const engineFlags = {
  model: { type: 'string' },
  threads: { type: 'string' },
  dictionary: { type: 'string' },
} as const;

export interface EngineFlagValues {
  model?: string;
  threads?: string;
  dictionary?: string;
}

export function parseThreads(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new UsageError(`--threads must be an integer in 1..${MAX_THREADS}, got "${text}"`);
  return threads;
}

export function loadEngineFromFlags(values: EngineFlagValues): Promise<TagEngine> {
  // (An empty path would be the current folder.)
  if (values.model === '') throw new UsageError('--model needs a model folder, got ""');
  if (values.dictionary === '') throw new UsageError('--dictionary needs a file, got ""');
  return loadEngine({
    modelDir: values.model,
    dictionaryPath: values.dictionary,
    threads: parseThreads(values.threads),
  });
}
