// Public entry of the engine: the tag dictionary, the dictionary-only engine and the model engine.
// Used by the CLI, the language server and the tests; imports nothing from VS Code or LSP.
import { loadDictionary, type CompactTagDictionary } from './dictionary';
import { DictionaryOnlyEngine } from './dictionary-engine';
import { loadModelEngine } from './model-engine';
import type { TagDictionary, TagEngine } from './types';

export * from './types';
export { categoryName, describeUnseen, unseenReason } from './describe';
export { boundedEditDistance, loadDictionary, defaultDictionaryPath, packageRoot, normalizeTag, CompactTagDictionary } from './dictionary';
export { defaultModelDir, MAX_SEED } from './model-engine';

export interface LoadEngineOptions {
  /** Hugging Face model folder; default: the shipped models/default. */
  modelDir?: string;
  /** Compact dictionary file; default: the shipped models/dictionary/danbooru-tags.bin. */
  dictionaryPath?: string;
  /** Intra-op threads for onnxruntime; default: onnxruntime's choice. */
  threads?: number;
  /** An already loaded dictionary to share (the dictionaryPath option is then ignored). */
  dictionary?: TagDictionary;
}

/** Completion and next tags from the dictionary alone (post-count order); sample() rejects. */
export function createDictionaryOnlyEngine(dictionary: TagDictionary): TagEngine {
  return new DictionaryOnlyEngine(asCompact(dictionary));
}

/** Loads the dictionary and the model; throws an Error naming the file when the model folder is bad. */
export async function loadEngine(options: LoadEngineOptions = {}): Promise<TagEngine> {
  const dictionary = options.dictionary ? asCompact(options.dictionary) : loadDictionary(options.dictionaryPath);
  return loadModelEngine(dictionary, options);
}

function asCompact(dictionary: TagDictionary): CompactTagDictionary {
  if (!('searchIds' in dictionary)) throw new Error('the engine needs a dictionary made by loadDictionary()');
  return dictionary as CompactTagDictionary;
}
