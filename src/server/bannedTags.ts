// danbooruGpt.bannedTags: tags never sampled, nor suggested (completion, inline suggestions, Related
// Tags), as a1111 tagcomplete's blacklist hides them; a banned tag typed in full is still offered, as
// the user writes it on purpose.
import type { TagEngine } from '../model/index';

const tests = new WeakMap<TagEngine, WeakMap<readonly string[], (tag: string) => boolean>>();
const NOTHING_BANNED = (): boolean => false;

/** Patterns named one by one when they match no tag; the rest counted. */
const UNMATCHED_BANS_NAMED = 5;

/**
 * The engine's test of the settings' banned tags, made once per engine and settings list (a keystroke
 * asks). When it is made, the patterns that match no tag (a typo bans nothing, silently) are warned about.
 */
export function bannedTagTest(engine: TagEngine, bannedTags: readonly string[], warnOnce: (message: string) => void): (tag: string) => boolean {
  if (bannedTags.length === 0) return NOTHING_BANNED;
  let byList = tests.get(engine);
  if (!byList) tests.set(engine, (byList = new WeakMap()));
  let test = byList.get(bannedTags);
  if (!test) {
    const patterns = usedPatterns(bannedTags);
    warnUnmatchedBans(engine, patterns, warnOnce);
    byList.set(bannedTags, (test = engine.bannedTest(patterns)));
  }
  return test;
}

/** The patterns of the setting that ban something if they match: strings, not blank. */
export function usedPatterns(bannedTags: readonly string[]): string[] {
  return bannedTags.filter((t) => typeof t === 'string' && t.trim() !== '');
}

/** One warning a pattern that matches no tag in the dictionary, the first few; a list of thousands would be thousands of notifications. */
export function warnUnmatchedBans(engine: TagEngine, patterns: readonly string[], warnOnce: (message: string) => void): void {
  const unmatched = engine.unmatchedBans(patterns);
  for (const pattern of unmatched.slice(0, UNMATCHED_BANS_NAMED)) {
    warnOnce(`The setting danbooruGpt.bannedTags has "${pattern}", which matches no tag in the dictionary: it bans nothing.`);
  }
  if (unmatched.length > UNMATCHED_BANS_NAMED) {
    warnOnce(`The setting danbooruGpt.bannedTags has ${(unmatched.length - UNMATCHED_BANS_NAMED).toLocaleString('en-US')} more patterns that match no tag in the dictionary.`);
  }
}
