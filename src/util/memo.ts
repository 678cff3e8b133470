// A one-entry memo for functions of a prompt's tags, which completion calls again with the same tags
// at each keystroke.

/**
 * A function of a context's tags that keeps its last answer: completion asks again with the same
 * tags at each keystroke (only the prefix changes), and resolving every tag of a 20,000-tag line
 * again took ~40 ms a keystroke. The answer is shared: callers must not change it.
 */
export function lastContextMemo<T>(compute: (context: readonly string[]) => T): (context: readonly string[]) => T {
  let lastContext: readonly string[] | undefined;
  let lastAnswer: T;
  return (context) => {
    if (lastContext === undefined || !sameTags(lastContext, context)) {
      lastAnswer = compute(context);
      // A copy: the caller's array may change after the call.
      lastContext = [...context];
    }
    return lastAnswer;
  };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
