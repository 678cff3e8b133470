// Words of most prompts that are no Danbooru tags: the default of danbooruGpt.diagnostics.knownTags,
// and what the CLI's notes leave out (a note on them would come with nearly every prompt).
import { normalizeTag } from './parser';

/**
 * Quality and aesthetic tags that anime image models were trained with (NovelAI, Animagine, and the
 * many models that copied them), and Animagine XL 3.1's rating and year tags (its release notes: `safe`,
 * `sensitive`, `nsfw`, `explicit`; `newest` 2021–2024 … `oldest` 2005–2010): in most prompts, and not
 * Danbooru tags, so not in the dictionary.
 */
export const DEFAULT_KNOWN_TAGS = [
  'masterpiece', 'best quality', 'amazing quality', 'great quality', 'high quality', 'good quality', 'normal quality',
  'medium quality', 'low quality', 'bad quality', 'worst quality', 'very aesthetic', 'aesthetic', 'displeasing', 'very displeasing',
  'safe', 'sensitive', 'nsfw', 'explicit', 'newest', 'recent', 'mid', 'early', 'oldest',
];

/**
 * The known-tags setting (the default list, for the CLI) as a set of normalized names, so that any
 * spelling matches; made once per list (settings objects are made again only when they change).
 */
const knownTagSets = new WeakMap<readonly string[], Set<string>>();
export function knownTagSet(knownTags: readonly string[] = DEFAULT_KNOWN_TAGS): Set<string> {
  let set = knownTagSets.get(knownTags);
  if (!set) knownTagSets.set(knownTags, (set = new Set(knownTags.filter((tag) => typeof tag === 'string').map(normalizeTag).filter(Boolean))));
  return set;
}
