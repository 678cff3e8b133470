// danbooruGpt.bannedTags: tags never sampled, nor suggested (completion, inline suggestions, Related
// Tags), as a1111 tagcomplete's blacklist hides them; a banned tag typed in full is still offered, as
// the user writes it on purpose.
import type { TagEngine } from '../model/index';

const tests = new WeakMap<TagEngine, WeakMap<readonly string[], (tag: string) => boolean>>();
const NOTHING_BANNED = (): boolean => false;

/** The engine's test of the settings' banned tags, made once per engine and settings list (a keystroke asks). */
export function bannedTagTest(engine: TagEngine, bannedTags: readonly string[]): (tag: string) => boolean {
  if (bannedTags.length === 0) return NOTHING_BANNED;
  let byList = tests.get(engine);
  if (!byList) tests.set(engine, (byList = new WeakMap()));
  let test = byList.get(bannedTags);
  if (!test) byList.set(bannedTags, (test = engine.bannedTest(bannedTags.filter((t) => typeof t === 'string' && t.trim() !== ''))));
  return test;
}
