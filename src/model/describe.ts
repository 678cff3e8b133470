// Words for what the dictionary and the model know about a tag, shared by the CLI, the language
// server and the extension, so that each says it the same way.
import type { TagDictionary } from './types';

const CATEGORY_NAMES: Readonly<Record<number, string>> = { 0: 'general', 1: 'artist', 3: 'copyright', 4: 'character', 5: 'meta' };

/** `4` -> "character"; a number the dictionary does not define -> "category 7". */
export function categoryName(category: number): string {
  return CATEGORY_NAMES[category] ?? `category ${category}`;
}

/** The category names in number order, for messages: `general, artist, copyright, character, meta`. */
export const CATEGORY_LIST = Object.values(CATEGORY_NAMES).join(', ');

/** "character" or 4 -> 4; anything else ("charater", 2, "4") -> undefined. */
export function categoryId(nameOrNumber: unknown): number | undefined {
  if (typeof nameOrNumber === 'number') return Object.hasOwn(CATEGORY_NAMES, nameOrNumber) ? nameOrNumber : undefined;
  for (const [id, name] of Object.entries(CATEGORY_NAMES)) if (name === nameOrNumber) return Number(id);
  return undefined;
}

/**
 * Why the model cannot read a tag that `TagEngine.unseenTags` returned: most often a character or
 * artist tag, which a model trained on general tags never saw.
 */
export function unseenReason(dictionary: TagDictionary, tag: string): string {
  const resolved = dictionary.resolve(tag);
  if (!resolved) return 'not in the tag dictionary';
  const category = resolved.tag.category;
  return category === 0 ? "not in the model's vocabulary" : `${categoryName(category)} tag, not in the model's vocabulary`;
}

/** `hatsune_miku (character tag, not in the model's vocabulary), foo (not in the tag dictionary)`. */
export function describeUnseen(dictionary: TagDictionary, tags: string[]): string {
  return tags.map((tag) => `${tag} (${unseenReason(dictionary, tag)})`).join(', ');
}
