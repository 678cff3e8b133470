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
// `[a|b]` none; at the top a bracket that fits no rule is read as characters, and so is what it
// holds, but a `|` is never a character: one no rule takes fails the whole parse. Pure functions.

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
}

// A backslash ending the part escapes nothing: no rule takes it.
const TRAILING_BACKSLASH = /(?<!\\)(?:\\\\)*\\$/;
const NUMBER_AFTER_COLON = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function bracketsOf(text: string): Bracket {
  const top: Bracket = { kind: '(', open: -1, closed: true, end: text.length, colons: 0, pipes: 0, strays: 0, endsInNumber: false, lastColon: -1, children: [] };
  const stack: Bracket[] = [top];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const current = stack[stack.length - 1]!;
    if (c === '\\') {
      i++;
    } else if (c === '(' || c === '[') {
      const bracket: Bracket = { kind: c, open: i, closed: false, end: text.length, colons: 0, pipes: 0, strays: 0, endsInNumber: false, lastColon: -1, children: [] };
      current.children.push(bracket);
      stack.push(bracket);
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
  return top;
}

/** Whether the grammar can read a bracket as emphasis, prompt editing or alternation (and all it holds). */
function isSyntax(bracket: Bracket): boolean {
  if (!bracket.closed || bracket.strays > 0) return false;
  const { colons, pipes } = bracket;
  const fits = bracket.kind === '('
    ? pipes === 0 && colons <= 1
    : (pipes > 0 && colons === 0) || (pipes === 0 && (colons === 0 || ((colons === 1 || colons === 2) && bracket.endsInNumber)));
  // A child that is not syntax (its `lastColon` after a child does not matter: `[a:(b):1]` is `b` then `:1`).
  return fits && bracket.children.every(isSyntax);
}

/** At the top, a bracket that is no rule's is read as characters, with what it holds; a `|` in it fails the parse. */
function readsAtTop(bracket: Bracket): boolean {
  return isSyntax(bracket) || (bracket.pipes === 0 && bracket.children.every(readsAtTop));
}

/**
 * Whether a1111's grammar parses one AND part (LoRAs and Dynamic Prompts' syntax already taken out,
 * as a1111 and the extension take them out before it). Where it does not, a1111 reads every [a|b]
 * and [from:to:when] of the part as text. (Which brackets a parse that succeeds reads as text is
 * left to lark's choice among its readings, not modelled here.)
 */
export function parsesAsA1111(part: string): boolean {
  const top = bracketsOf(part);
  return !TRAILING_BACKSLASH.test(part) && top.pipes === 0 && top.children.every(readsAtTop);
}

/**
 * The columns of a part's prompt editing brackets (`[from:to:when]`, `[to:when]`) that the grammar
 * cannot read as prompt editing (a colon too many, or one in a `( )` they hold: `[cat:(:d:1.2):5]`),
 * so that a1111 reads them as text where the part parses. (Which of the others a parse reads as
 * text is lark's choice among its readings: mostly none, not modelled.)
 */
export function editingReadAsText(part: string): number[] {
  const found: number[] = [];
  const visit = (bracket: Bracket): void => {
    if (bracket.kind === '[' && bracket.closed && bracket.endsInNumber && bracket.pipes === 0 && !isSyntax(bracket)) found.push(bracket.open);
    bracket.children.forEach(visit);
  };
  bracketsOf(part).children.forEach(visit);
  return found;
}

/**
 * The part's outermost brackets, where each starts and ends: a1111's grammar reads each apart from
 * the others (the text between them is read as characters whatever it holds, but for a `|`), so
 * whether the part parses is whether each of them does (parsesAsA1111 of its text) and it has no
 * `|` outside them.
 */
export function outermostBrackets(part: string): { start: number; end: number }[] {
  return bracketsOf(part).children.map((bracket) => ({ start: bracket.open, end: bracket.end }));
}

/** Whether the part holds a `|` outside its brackets, or ends in a backslash: no escape makes it parse. */
export function failsOutsideBrackets(part: string): boolean {
  return TRAILING_BACKSLASH.test(part) || bracketsOf(part).pipes > 0;
}
