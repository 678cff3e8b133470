// `danbooru-gpt info`: what model a folder holds (vocabulary, size, layers, files) and the dictionary.
import { parseCommandArgs } from './args';
import { engineFlags, loadEngineFromFlags } from './engine-options';

export async function runInfo(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...engineFlags,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write('usage: danbooru-gpt info [--model DIR] [--dictionary FILE] [--threads N] [--json]\n');
    return 0;
  }
  const engine = await loadEngineFromFlags(values);
  try {
    const model = engine.model;
    if (!model) throw new Error('no model loaded');
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...model, dictionarySize: engine.dictionary.size })}\n`);
      return 0;
    }
    const vocabulary = model.kind === 'tag' ? 'one token per tag' : 'byte-level BPE (a tag spans several tokens)';
    const lines = [
      `model:       ${model.dir}`,
      `vocabulary:  ${model.vocabSize} tokens, ${vocabulary}`,
      `layers:      ${model.layers} (heads ${model.heads}, embedding ${model.embedding}, context ${model.contextLength})`,
    ];
    if (model.parameters !== undefined) lines.push(`parameters:  ${model.parameters.toLocaleString('en-US')}`);
    const total = model.files.reduce((sum, file) => sum + file.bytes, 0);
    lines.push(`size:        ${(total / 1e6).toFixed(2)} MB`);
    lines.push('files:');
    for (const file of model.files) lines.push(`  ${file.path.padEnd(24)} ${file.bytes.toLocaleString('en-US')} bytes`);
    lines.push(`dictionary:  ${engine.dictionary.size.toLocaleString('en-US')} tags`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await engine.dispose();
  }
  return 0;
}
