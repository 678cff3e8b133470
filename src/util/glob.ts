// Globs matched in time linear in the text for each position of the pattern (no regex backtracking):
// a pattern such as `*?*?*?…Z`, written in a prompt or a setting, made a RegExp take minutes.

export interface GlobOptions {
  /** `?` stands for any one character (Dynamic Prompts, fnmatch); otherwise it is itself. */
  questionMark?: boolean;
  caseSensitive?: boolean;
}

/** A test of whole texts against a glob: `*` is any run of characters (none too), other characters themselves. */
export function globMatcher(pattern: string, options: GlobOptions = {}): (text: string) => boolean {
  const fold = (text: string): string => (options.caseSensitive ? text : text.toLowerCase());
  const glob = fold(pattern);
  const any = options.questionMark === true;
  return (input) => {
    const text = fold(input);
    let at = 0;
    let position = 0;
    // The last `*` seen and the text position it has been tried up to: a mismatch retries from one further.
    let star = -1;
    let starText = 0;
    while (position < text.length) {
      const expected = glob[at];
      if (expected === '*') {
        star = at++;
        starText = position;
      } else if (at < glob.length && (expected === text[position] || (any && expected === '?'))) {
        at++;
        position++;
      } else if (star >= 0) {
        at = star + 1;
        position = ++starText;
      } else {
        return false;
      }
    }
    while (glob[at] === '*') at++;
    return at === glob.length;
  };
}
