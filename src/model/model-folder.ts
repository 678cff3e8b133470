// Reads and validates a Hugging Face GPT-2 model folder (config.json, tokenizer.json, onnx/model.onnx or
// model.onnx) before anything runs: every failure names the file and says what is wrong with it.
import fs from 'node:fs';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { packageRoot } from './dictionary';
import { MAX_BYTES, readBoundedFileSync, unreadableReason } from '../util/files';

export function defaultModelDir(): string {
  return path.join(packageRoot(), 'models', 'default');
}

/** The GPT-2 fields of config.json the runtime uses. */
export interface ModelConfig {
  modelType: string;
  vocabSize: number;
  layers: number;
  heads: number;
  embedding: number;
  contextLength: number;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
  parameters?: number;
  /** Extra metadata written by our training/export scripts (`tag_model` in config.json). */
  tagModel: Record<string, unknown>;
  raw: Record<string, unknown>;
}

export interface TokenizerFile {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
  /** WordLevel = one token per tag; BPE = sub-word text model. */
  modelType: string;
  /** Token string -> id, over the model vocabulary and the added tokens. */
  vocab: Map<string, number>;
  size: number;
}

export interface ModelFiles {
  dir: string;
  configPath: string;
  tokenizerPath: string;
  tokenizerConfigPath?: string;
  onnxPath: string;
  /** The graph's weights kept outside it (onnxDataPaths), which onnxruntime reads from beside it. */
  onnxDataPaths: string[];
  rankingPath?: string;
  relatedPath?: string;
  /** The tokenizer's vocabularySha256 (related.ts), once the engine loader has computed it for its checks. */
  vocabularySha256?: string;
  config: ModelConfig;
  tokenizer: TokenizerFile;
}

export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file}: ${why}`);
    this.name = 'ModelLoadError';
  }
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readBoundedFileSync(file, MAX_BYTES.modelJson, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelLoadError(file, code === 'ENOENT' ? 'file not found' : code === 'EUNREADABLE' ? (err as Error).message : `cannot read (${code ?? String(err)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelLoadError(file, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function positiveInteger(raw: Record<string, unknown>, file: string, ...keys: string[]): number {
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ModelLoadError(file, `"${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }
  throw new ModelLoadError(file, `missing "${keys[0]}"`);
}

function optionalId(raw: Record<string, unknown>, key: string): number | undefined {
  const value = raw[key];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

export function readConfig(file: string): ModelConfig {
  const raw = readJson(file);
  const modelType = typeof raw.model_type === 'string' ? raw.model_type : '';
  if (modelType !== 'gpt2') {
    throw new ModelLoadError(file, `"model_type" is ${JSON.stringify(raw.model_type)}; only "gpt2" models are supported`);
  }
  const tagModel = typeof raw.tag_model === 'object' && raw.tag_model !== null ? raw.tag_model : {};
  const config: ModelConfig = {
    modelType,
    vocabSize: positiveInteger(raw, file, 'vocab_size'),
    layers: positiveInteger(raw, file, 'n_layer', 'num_hidden_layers'),
    heads: positiveInteger(raw, file, 'n_head', 'num_attention_heads'),
    embedding: positiveInteger(raw, file, 'n_embd', 'hidden_size'),
    contextLength: positiveInteger(raw, file, 'n_positions', 'n_ctx', 'max_position_embeddings'),
    bosTokenId: optionalId(raw, 'bos_token_id'),
    eosTokenId: optionalId(raw, 'eos_token_id'),
    padTokenId: optionalId(raw, 'pad_token_id'),
    tagModel: tagModel as Record<string, unknown>,
    raw,
  };
  const parameters = (tagModel as Record<string, unknown>).parameters;
  if (typeof parameters === 'number') config.parameters = parameters;
  // Fed to the graph as they are: past the embedding table, every request failed in onnxruntime's Gather.
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    const id = optionalId(raw, key);
    if (id !== undefined && id >= config.vocabSize) throw new ModelLoadError(file, `"${key}" ${id} is not a token id (vocab_size ${config.vocabSize})`);
  }
  if (config.embedding % config.heads !== 0) {
    throw new ModelLoadError(file, `n_embd ${config.embedding} is not a multiple of n_head ${config.heads}`);
  }
  return config;
}

export function readTokenizer(file: string, configFile: string | undefined): TokenizerFile {
  const json = readJson(file);
  const model = json.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object' || typeof model.vocab !== 'object' || model.vocab === null) {
    throw new ModelLoadError(file, 'no "model.vocab": not a Hugging Face tokenizer.json');
  }
  const modelType = typeof model.type === 'string' ? model.type : Array.isArray(model.merges) ? 'BPE' : 'WordLevel';
  if (modelType !== 'WordLevel' && modelType !== 'BPE') {
    throw new ModelLoadError(file, `tokenizer model "${modelType}" is not supported (WordLevel or BPE)`);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelLoadError(file, `token ${JSON.stringify(token)} has a bad id ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  if (Array.isArray(json.added_tokens)) {
    for (const added of json.added_tokens as { id?: unknown; content?: unknown }[]) {
      if (typeof added.content !== 'string' || typeof added.id !== 'number') continue;
      // The same text at another id (an added "smile") took the tag's token away from the model, unsaid.
      const inVocab = vocab.get(added.content);
      if (inVocab !== undefined && inVocab !== added.id) {
        throw new ModelLoadError(file, `added token ${JSON.stringify(added.content)} has id ${added.id}, but the vocabulary gives it id ${inVocab}`);
      }
      vocab.set(added.content, added.id);
    }
  }
  // Two texts for one id: decoding reads one of them, encoding both (the model never learnt both).
  const tokenOfId = new Map<number, string>();
  let size = 0;
  for (const [token, id] of vocab) {
    const other = tokenOfId.get(id);
    if (other !== undefined) throw new ModelLoadError(file, `tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} have the same id ${id}`);
    tokenOfId.set(id, token);
    size = Math.max(size, id + 1);
  }
  // Ids far past the tokens there are (a broken or hostile file): the tables made by id would take GBs.
  if (size > vocab.size + MAX_ID_GAP) {
    throw new ModelLoadError(file, `token ids go up to ${size - 1} but it holds ${vocab.size} tokens: not a tokenizer of consecutive ids`);
  }
  const config = configFile && fs.existsSync(configFile) ? readJson(configFile) : {};
  return { json, config, modelType, vocab, size };
}

/** How far ids may run past the number of tokens (unused ids a tokenizer keeps): far more than any has. */
const MAX_ID_GAP = 65_536;

/**
 * Where a folder's ONNX graph may be, in order: optimum's and transformers.js's current layout, the
 * folder itself, then older exports' merged decoder (one graph with a `use_cache_branch` input).
 */
export const ONNX_FILES = ['onnx/model.onnx', 'model.onnx', 'onnx/decoder_model_merged.onnx', 'decoder_model_merged.onnx'];

/** Weights a Hugging Face folder holds before any ONNX export. */
const UNEXPORTED_WEIGHTS = ['model.safetensors', 'pytorch_model.bin', 'model.safetensors.index.json', 'pytorch_model.bin.index.json', 'tf_model.h5', 'flax_model.msgpack'];

/** Whether a path names anything, a broken link too (ENOTDIR: `onnx` is a file). */
function isPresent(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** A broken or looping link, a FIFO or a folder as the graph: onnxruntime would say "file not found" or never return. */
function checkOnnxFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let target: string;
    try {
      target = fs.readlinkSync(file);
    } catch {
      throw new ModelLoadError(file, `cannot read (${code ?? String(err)})`);
    }
    throw new ModelLoadError(file, `a link that leads ${code === 'ELOOP' ? 'round in a loop' : 'nowhere'} (${target})`);
  }
  const reason = unreadableReason(stat, Infinity);
  if (reason !== undefined) throw new ModelLoadError(file, reason);
}

/**
 * The graph's external-data files: the names optimum and onnx.save (`model.onnx_data`) and torch's
 * exporter (`model.onnx.data`) write beside a graph whose weights pass 2 GB (gpt2-large, gpt2-xl).
 * By name, not by the graph's external_data locations: reading those would take a protobuf parser.
 */
function onnxDataPaths(onnxPath: string): string[] {
  return [`${onnxPath}_data`, `${onnxPath}.data`].filter((file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true);
}

/** What the folder holds instead of a graph the engine reads: PyTorch weights, other .onnx files. */
function missingOnnxHint(folder: string): string {
  const hints: string[] = [];
  const weights = UNEXPORTED_WEIGHTS.find((name) => fs.existsSync(path.join(folder, name)));
  if (weights) {
    hints.push(`the folder holds ${weights}, weights not yet exported to ONNX: export them with a KV cache, e.g. \`optimum-cli export onnx --task text-generation-with-past --model "${folder}" "${path.join(folder, 'onnx')}"\``);
  }
  const others = ['', 'onnx'].flatMap((sub) => onnxFilesIn(folder, sub)).slice(0, 5);
  if (others.length > 0) hints.push(`the folder holds ${others.join(', ')}, none of the names read`);
  return hints.map((hint) => `; ${hint}`).join('');
}

/** The .onnx files directly in folder/sub (none when it is not a readable folder). */
function onnxFilesIn(folder: string, sub: string): string[] {
  try {
    return fs.readdirSync(path.join(folder, sub)).filter((name) => name.endsWith('.onnx')).map((name) => path.posix.join(sub, name));
  } catch {
    return [];
  }
}

/** Finds and reads the folder's files; throws ModelLoadError naming the first bad one. */
export function readModelFolder(dir: string): ModelFiles {
  const folder = path.resolve(dir);
  if (!fs.existsSync(folder)) throw new ModelLoadError(folder, 'model folder not found');
  if (!fs.statSync(folder).isDirectory()) throw new ModelLoadError(folder, 'not a folder');
  const configPath = path.join(folder, 'config.json');
  const tokenizerPath = path.join(folder, 'tokenizer.json');
  // The first name present, a broken link included (reported as one, not as a file missing).
  const onnxPath = ONNX_FILES.map((file) => path.join(folder, file)).find(isPresent);
  // A training run's folder (training/train.py --out) is what a newcomer points at first: say what to do.
  if (!fs.existsSync(configPath) && ['run.json', 'best.pt', 'last.pt'].some((name) => fs.existsSync(path.join(folder, name)))) {
    throw new ModelLoadError(configPath, `file not found: ${folder} is a training run (best.pt, run.json), not a model folder; export it into one, \`python3 training/export.py --run "${folder}" --out MODEL_DIR\`, and use MODEL_DIR`);
  }
  const config = readConfig(configPath);
  if (!fs.existsSync(tokenizerPath)) throw new ModelLoadError(tokenizerPath, 'file not found');
  if (!onnxPath) throw new ModelLoadError(path.join(folder, ONNX_FILES[0]), `file not found (nor ${ONNX_FILES.slice(1).join(', ')})${missingOnnxHint(folder)}`);
  checkOnnxFile(onnxPath);
  const tokenizerConfigPath = path.join(folder, 'tokenizer_config.json');
  const tokenizer = readTokenizer(tokenizerPath, tokenizerConfigPath);
  if (tokenizer.size !== config.vocabSize) {
    throw new ModelLoadError(
      tokenizerPath,
      `the tokenizer has ${tokenizer.size} tokens but ${configPath} says vocab_size ${config.vocabSize}`,
    );
  }
  const rankingPath = path.join(folder, 'ranking.json');
  const files: ModelFiles = { dir: folder, configPath, tokenizerPath, onnxPath, onnxDataPaths: onnxDataPaths(onnxPath), config, tokenizer };
  if (fs.existsSync(tokenizerConfigPath)) files.tokenizerConfigPath = tokenizerConfigPath;
  if (fs.existsSync(rankingPath)) files.rankingPath = rankingPath;

  return files;
}

/** How the ONNX graph feeds its past: names of the inputs/outputs per layer. */
export interface GraphSignature {
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  /** Transformers.js "merged" decoders take a boolean saying whether the past is used. */
  hasUseCacheBranch: boolean;
  /** [key, value] input names per layer; empty when the graph has no KV cache. */
  pastInputs: [string, string][];
  /** [key, value] output names per layer, same length as pastInputs. */
  presentOutputs: [string, string][];
  /** Name of the first past input's element type, e.g. float32 or float16. */
  pastType: string;
}

/** Checks the session's inputs and outputs against the GPT-2 optimum naming; throws naming the file. */
export function checkGraph(session: InferenceSession, config: ModelConfig, onnxPath: string): GraphSignature {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const fail = (why: string): never => {
    throw new ModelLoadError(onnxPath, why);
  };
  if (!inputs.has('input_ids')) fail(`no "input_ids" input (inputs: ${session.inputNames.join(', ')})`);
  if (!outputs.has('logits')) fail(`no "logits" output (outputs: ${session.outputNames.join(', ')})`);
  const pastInputs: [string, string][] = [];
  const presentOutputs: [string, string][] = [];
  const hasPast = session.inputNames.some((name) => name.startsWith('past_key_values.'));
  if (hasPast) {
    for (let layer = 0; layer < config.layers; layer++) {
      const past: [string, string] = [`past_key_values.${layer}.key`, `past_key_values.${layer}.value`];
      const present: [string, string] = [`present.${layer}.key`, `present.${layer}.value`];
      for (const name of past) if (!inputs.has(name)) fail(`missing input "${name}" (config.json says ${config.layers} layers)`);
      for (const name of present) if (!outputs.has(name)) fail(`missing output "${name}"`);
      pastInputs.push(past);
      presentOutputs.push(present);
    }
  }
  const known = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch', ...pastInputs.flat()]);
  for (const name of session.inputNames) if (!known.has(name)) fail(`unexpected input "${name}"`);
  const knownOutputs = new Set(['logits', ...presentOutputs.flat()]);
  for (const name of session.outputNames) if (!knownOutputs.has(name)) fail(`unexpected output "${name}"`);

  let pastType = 'float32';
  const metadata = (session as { inputMetadata?: readonly InferenceSession.ValueMetadata[] }).inputMetadata;
  if (metadata) {
    for (const entry of metadata) {
      if (!entry.isTensor) continue;
      if (entry.name === 'input_ids' && entry.type !== 'int64') fail(`"input_ids" is ${entry.type}, expected int64`);
      if (pastInputs.length && entry.name === pastInputs[0][0]) pastType = entry.type;
      if (pastInputs.length && entry.name === pastInputs[0][0]) {
        const heads = entry.shape[1];
        const headSize = entry.shape[3];
        if (typeof heads === 'number' && heads !== config.heads) {
          fail(`past has ${heads} heads but config.json says n_head ${config.heads}`);
        }
        if (typeof headSize === 'number' && headSize !== config.embedding / config.heads) {
          fail(`past head size ${headSize} does not match n_embd / n_head = ${config.embedding / config.heads}`);
        }
      }
    }
  }
  const logitsMeta = (session as { outputMetadata?: readonly InferenceSession.ValueMetadata[] }).outputMetadata?.find(
    (entry) => entry.name === 'logits',
  );
  if (logitsMeta?.isTensor) {
    const vocab = logitsMeta.shape[2];
    if (typeof vocab === 'number' && vocab !== config.vocabSize) {
      fail(`logits have ${vocab} entries but config.json says vocab_size ${config.vocabSize}`);
    }
  }
  if (pastType !== 'float32') fail(`past tensors are ${pastType}; only float32 models are supported`);
  return {
    hasAttentionMask: inputs.has('attention_mask'),
    hasPositionIds: inputs.has('position_ids'),
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    pastInputs,
    presentOutputs,
    pastType,
  };
}
