// Whether a1111's prompt-editing grammar (modules/prompt_parser.py, a lark Earley grammar) can read a
// prompt. a1111 parses each AND part with it to find alternation and prompt editing; where the parse
// fails it takes the part as written: every [a|b] and [a:b:n] in it is lost. The grammar:
//
//   start: (prompt | /[][():]/+)*           brackets and colons that fit no rule, at the top only
//   prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
//   emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
//   scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
//   alternate: "[" prompt ("|" [prompt])+ "]"
//   plain: /([^\\\[\]():|]|\\.)+/
//
// So inside a bracket that is read as syntax every bracket must be too, a `(` holds one `:` at most,
// `[a|b]` none; at the top a bracket that fits no rule is read as characters (what it holds is still
// parsed: `[a:b:c [x|y]]` keeps its alternation), but a `|` is never a character: one no rule takes
// fails the whole parse. Pure functions.

/** A bracket as the grammar sees it, with what it holds at its own level (not inside its brackets). */
interface Bracket {
  kind: '(' | '[';
  open: number;
  closed: boolean;
  /** The column after its closing bracket (after the text, not closed). */
  end: number;
  colons: number;
  pipes: number;
  /** Closing brackets with no opener of their kind at this level (`[a)|b]`): no rule takes them. */
  strays: number;
  /** `[…:number]`: what follows its last own `:` is a number. */
  endsInNumber: boolean;
  lastColon: number;
  children: Bracket[];
  /** Read as emphasis, prompt editing or alternation, with all it holds. */
  syntax: boolean;
  /** Where it is outermost: read as syntax, or as characters round what it holds, which read so too. */
  readsAtTop: boolean;
}

// A backslash ending the part escapes nothing: no rule takes it.
const TRAILING_BACKSLASH = /(?<!\\)(?:\\\\)*\\$/;
const NUMBER_AFTER_COLON = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The text's brackets, the top (the text itself) first, each before those it holds. */
function bracketsOf(text: string): Bracket[] {
  const top: Bracket = { kind: '(', open: -1, closed: true, end: text.length, colons: 0, pipes: 0, strays: 0, endsInNumber: false, lastColon: -1, children: [], syntax: false, readsAtTop: false };
  const all: Bracket[] = [top];
  const stack: Bracket[] = [top];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const current = stack[stack.length - 1]!;
    if (c === '\\') {
      i++;
    } else if (c === '(' || c === '[') {
      const bracket: Bracket = { kind: c, open: i, closed: false, end: text.length, colons: 0, pipes: 0, strays: 0, endsInNumber: false, lastColon: -1, children: [], syntax: false, readsAtTop: false };
      current.children.push(bracket);
      stack.push(bracket);
      all.push(bracket);
    } else if (c === ')' || c === ']') {
      // A closer of the other kind is no rule's: the bracket it is in cannot be syntax (`[a)|b]`).
      if (stack.length > 1 && current.kind === (c === ')' ? '(' : '[')) {
        current.closed = true;
        current.end = i + 1;
        if (current.kind === '[' && current.lastColon >= 0) current.endsInNumber = NUMBER_AFTER_COLON.test(text.slice(current.lastColon + 1, i));
        stack.pop();
      } else {
        current.strays++;
      }
    } else if (c === ':') {
      current.colons++;
      current.lastColon = i;
    } else if (c === '|') {
      current.pipes++;
    }
  }
  // Those it holds first (a loop, not a call a level: 10,000 nested brackets are a prompt one can paste).
  for (let index = all.length - 1; index > 0; index--) {
    const bracket = all[index]!;
    const { colons, pipes } = bracket;
    // Whether the grammar can read it as emphasis, prompt editing or alternation, and all it holds.
    const fits = bracket.closed && bracket.strays === 0 && (bracket.kind === '('
      ? pipes === 0 && colons <= 1
      : (pipes > 0 && colons === 0) || (pipes === 0 && (colons === 0 || ((colons === 1 || colons === 2) && bracket.endsInNumber))));
    bracket.syntax = fits && bracket.children.every((child) => child.syntax);
    // At the top, a bracket no rule takes is read as characters; what it holds is still parsed, and a `|` in it fails the parse.
    bracket.readsAtTop = bracket.syntax || (pipes === 0 && bracket.children.every((child) => child.readsAtTop));
  }
  return all;
}

/**
 * Whether a1111's grammar parses one AND part (LoRAs and Dynamic Prompts' syntax already taken out,
 * as a1111 and the extension take them out before it). Where it does not, a1111 reads every [a|b]
 * and [from:to:when] of the part as text. (Which brackets a parse that succeeds reads as text is
 * left to lark's choice among its readings, not modelled here.)
 */
export function parsesAsA1111(part: string): boolean {
  const [top] = bracketsOf(part);
  return !TRAILING_BACKSLASH.test(part) && top!.pipes === 0 && top!.children.every((child) => child.readsAtTop);
}

/**
 * The columns of a part's prompt editing brackets (`[from:to:when]`, `[to:when]`) that the grammar
 * cannot read as prompt editing (a colon too many, or one in a `( )` they hold: `[cat:(:d:1.2):5]`),
 * so that a1111 reads them as text where the part parses. (Which of the others a parse reads as
 * text is lark's choice among its readings: mostly none, not modelled.)
 */
export function editingReadAsText(part: string): number[] {
  return bracketsOf(part).slice(1).filter((b) => b.kind === '[' && b.closed && b.endsInNumber && b.pipes === 0 && !b.syntax).map((b) => b.open);
}

/**
 * The part's outermost brackets, where each starts and ends: a1111's grammar reads each apart from
 * the others (the text between them is read as characters whatever it holds, but for a `|`), so
 * whether the part parses is whether each of them does (parsesAsA1111 of its text) and it has no
 * `|` outside them.
 */
export function outermostBrackets(part: string): { start: number; end: number }[] {
  return bracketsOf(part)[0]!.children.map((bracket) => ({ start: bracket.open, end: bracket.end }));
}

/** Whether the part holds a `|` outside its brackets, or ends in a backslash: no escape makes it parse. */
export function failsOutsideBrackets(part: string): boolean {
  return TRAILING_BACKSLASH.test(part) || bracketsOf(part)[0]!.pipes > 0;
}
