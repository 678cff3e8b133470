// Network syntax in a prompt (a1111's): `<lora:name:0.8>` (and `<lyco:`, read as a LoRA),
// `<hypernet:name:1>`, `embedding:name`. What a token names and the name being typed at a cursor; the
// language server finds the files, the CLI only needs to know the cursor is in one.

import type { ParsedPrompt } from './parser';

export type NetworkKind = 'lora' | 'embedding' | 'hypernet';

/** The file a network token names: `<lora:add_detail:0.8>` (or `<lyco:`) a LoRA, `<hypernet:x:1>` a hypernetwork, `embedding:x.pt` an embedding. */
export interface NamedNetwork {
  kind: NetworkKind;
  /**
   * The name as it is looked up. In `<lora:…>` and `<hypernet:…>` as written, spaces and an
   * extension included: a1111 splits the text at `:` and looks the first part up in a dictionary of
   * file names without their extension, case and all (`<lora: x.safetensors :1>` finds nothing). For
   * ComfyUI's `embedding:x.pt` without its extension (ComfyUI tries them).
   */
  name: string;
  /** The span of the name in the token's text. */
  start: number;
  end: number;
  /**
   * `<LORA:`, `<Lyco:`: the keyword written in another case, its span; a1111's extra networks are
   * registered in lower case, and it skips one it does not know ("Skipping unknown extra network").
   */
  keywordInOtherCase?: { start: number; end: number };
}

/** The LoRA, hypernetwork or embedding a network token names; undefined for another network. */
export function networkOfToken(text: string): NamedNetwork | undefined {
  const bracketed = /^<(lora|lyco|hypernet):([^<>:]+)/i.exec(text);
  if (bracketed) {
    const [whole, keyword, written] = bracketed as unknown as [string, string, string];
    const start = whole.length - written.length;
    const network: NamedNetwork = { kind: kindOf(keyword), name: written, start, end: start + written.length };
    if (keyword !== keyword.toLowerCase()) network.keywordInOtherCase = { start: 1, end: 1 + keyword.length };
    return network;
  }
  const embedding = /^embedding:([^\s:]+)/i.exec(text);
  if (!embedding) return undefined;
  const written = embedding[1]!;
  const start = embedding[0].length - written.length;
  return { kind: 'embedding', name: written.replace(/\.(?:safetensors|pt|ckpt|bin)$/i, ''), start, end: start + written.length };
}

/** `lora`/`lyco` (LyCORIS, read by a1111 as a LoRA) → lora, `hypernet` → hypernet, none (`embedding:`) → embedding. */
function kindOf(bracket: string | undefined): NetworkKind {
  if (bracket === undefined) return 'embedding';
  return bracket.toLowerCase() === 'hypernet' ? 'hypernet' : 'lora';
}

/** The name being typed in `<lora:na|` or `embedding:na|`: its kind and span (to the end of the name). */
export interface NetworkNameAt {
  kind: NetworkKind;
  start: number;
  end: number;
  typed: string;
}

// `<lyco:` is LyCORIS's, read by a1111 as a LoRA; a name in `<…>` ends at `:` (its weight) or `>`,
// and one being typed at a comma: `<lora:add_detail, smi` is a tag typed after a LoRA not closed yet.
const BRACKETED_NAME_BEFORE = /<(lora|lyco|hypernet):([^<>:,]*)$/i;
const EMBEDDING_NAME_BEFORE = /(?:^|[\s,([{|])embedding:([^\s,()[\]{}|:<>]*)$/i;

/** The network name being typed at `character`; with the line `parsed`, none in a comment (where `<lora:` is text). */
export function networkNameAt(line: string, character: number, parsed?: ParsedPrompt): NetworkNameAt | undefined {
  if (parsed?.tokens.some((t) => t.kind === 'comment' && t.start < character)) return undefined;
  const before = line.slice(0, character);
  const bracketed = BRACKETED_NAME_BEFORE.exec(before);
  const embedding = bracketed ? null : EMBEDDING_NAME_BEFORE.exec(before);
  const typed = bracketed?.[2] ?? embedding?.[1];
  if (typed === undefined) return undefined;
  const stop = bracketed ? /[<>:,]/ : /[\s,()[\]{}|:<>]/;
  let end = character;
  while (end < line.length && !stop.test(line[end]!)) end++;
  // Where no `:` or `>` closes the name: a name begun (`<lora:add_|detail`) goes on to the end of its
  // word; none begun (`<lora:|smile, blue eyes`), the text after is a tag, which a name picked must not replace.
  if (bracketed && line[end] !== ':' && line[end] !== '>') {
    end = character;
    if (typed.trim() !== '') while (end < line.length && !/[\s,<>:]/.test(line[end]!)) end++;
  }
  return { kind: kindOf(bracketed?.[1]), start: character - typed.length, end, typed };
}

/** The extra-network keywords a1111 reads in `<…:name:weight>` (`lyco` is LyCORIS's, read as a LoRA). */
export const NETWORK_KEYWORDS = ['lora', 'lyco', 'hypernet'] as const;

/**
 * A word begun with `<` at `character` (`<lo|`, or tagcomplete's shorthand `<l:add|`): on its way to
 * a network, `<lora:name:1>`, not to a tag. `keywords`: those its letters start (none for `<3`, `<o`);
 * `name`: what was typed after its colon, if one was; `start`/`end`: the span an item replaces (the
 * keyword's letters and colon, and a name begun after one).
 */
export interface NetworkKeywordAt {
  keywords: (typeof NETWORK_KEYWORDS)[number][];
  name: string;
  start: number;
  end: number;
}

// (After a LoRA written with no space too, `<lora:a:1><lo`; not after any `>`: `><` is a face.)
const KEYWORD_BEFORE = /(?:^|[\s,([{|]|(?<=<[A-Za-z][\w-]*:[^<>]*>))(<([^\s,<>:()[\]{}|]*)(?::([^<>:,]*))?)$/;

/** The `<` word being typed at `character`; none in a comment, or where the text is a network name already (`<lora:|`, networkNameAt). */
export function networkKeywordAt(line: string, character: number, parsed?: ParsedPrompt): NetworkKeywordAt | undefined {
  if (parsed?.tokens.some((t) => t.kind === 'comment' && t.start < character)) return undefined;
  if (networkNameAt(line, character, parsed)) return undefined;
  const match = KEYWORD_BEFORE.exec(line.slice(0, character));
  if (!match) return undefined;
  const [, written, letters, name] = match as unknown as [string, string, string, string | undefined];
  const typed = letters.toLowerCase();
  const keywords = NETWORK_KEYWORDS.filter((keyword) => keyword.startsWith(typed));
  let end = character;
  if (name === undefined) {
    // `<lo|ra`: the keyword's letters after the cursor, and its colon, are replaced too.
    while (end < line.length && !/[\s,<>:()[\]{}|]/.test(line[end]!)) end++;
    if (line[end] === ':') end++;
  } else {
    while (end < line.length && !/[\s,<>:]/.test(line[end]!)) end++;
  }
  return { keywords, name: name ?? '', start: character - written.length, end };
}
