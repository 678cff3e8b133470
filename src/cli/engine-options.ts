// The flags every model command shares (--model, --threads, --dictionary) and loading the engine from them.
import { loadEngine, type TagEngine } from '../model/index';
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
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, got "${text}"`);
  return threads;
}

export function loadEngineFromFlags(values: EngineFlagValues): Promise<TagEngine> {
  return loadEngine({
    modelDir: values.model,
    dictionaryPath: values.dictionary,
    threads: parseThreads(values.threads),
  });
}
