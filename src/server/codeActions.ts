// Quick fixes for our diagnostics: for an unknown tag, its tag when it is a translation (the
// translation file's), "did you mean …" (nearest real tags) or "add to known tags" (a command the
// client runs: settings are the client's to write); "did you mean …" for a LoRA or a wildcard that
// names no file (the nearest names of its folders); remove a
// duplicate tag with its separator, replace an alias with its canonical tag (or remove the alias when
// that tag is already in the prompt), replace a translation written in place of its tag (the translation
// file's). Nothing is removed from alternation or prompt editing (`[a|b]`,
// `[a:b:0.5]`), where that would change the prompt's meaning. Replacements keep the way the user
// wrote the tag (spaces or underscores, escaped parentheses). "Fix all" (a quick fix beside them, VS
// Code's Fix All command, `editor.codeActionsOnSave` with `source.fixAll`) fixes every alias,
// duplicate, unescaped tag and translation of the file together, as those fixes would one after another.
import path from 'node:path';
import { CodeActionKind, type CancellationToken, type CodeAction, type CodeActionParams, type Diagnostic, type Range, type TextEdit } from 'vscode-languageserver/node';
import { applyLineEdits, escapeParentheses, formatTag, hasUnescapedParentheses, styleOf, type InsertStyle, type LineEdit } from '../prompt/insertStyle';
import { isInAlternation, normalizeTag, promptSegmentsOf, removalRange, type ParsedPrompt } from '../prompt/parser';
import { ReadDocuments, Turns } from './cancellation';
import type { TagTranslations } from '../model/translations';
import { DIAGNOSTIC_SOURCE, DiagnosticCode, escapeColons, escapePipes, pipeEscaped, problemsOfLine, type EscapeData, type AliasData, type LineProblem, type CheckSettings, type UnknownFileData, type UnknownTagData, type PromptWeightData } from './diagnostics';
import { ADD_KNOWN_TAG_COMMAND } from '../protocol';
import type { TagDictionary } from '../model/index';
import { parseLine, resolveCached, wholeLineEdit, type ServerContext } from './serverContext';
import { checksParentheses, insertStyleOf } from './settings';

/** How many "did you mean" suggestions an unknown tag gets. */
const SUGGESTIONS = 3;

export async function provideCodeActions(ctx: ServerContext, params: CodeActionParams): Promise<CodeAction[]> {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return [];
  const only = params.context.only;
  // VS Code's "Fix All" and `editor.codeActionsOnSave` ask for source.fixAll: the edit comes on resolve.
  if (only && !only.includes(CodeActionKind.QuickFix)) {
    return only.some((kind) => FIX_ALL_KIND.startsWith(kind)) ? [fixAllAction(document.uri, FIX_ALL_KIND)] : [];
  }
  const ours = params.context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
  if (ours.length === 0) return [];
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const translations = ctx.translations.get(settings.translationFile);
  const actions = quickFixes(document.uri, (line) => document.line(line), engine.dictionary, insertStyleOf(settings, document.uri), checksParentheses(settings.diagnostics, document.uri), ours, translations);
  // As ESLint offers "Fix all auto-fixable problems" beside a fix: every alias, duplicate and translation of the file.
  const fixedByFixAll = (d: Diagnostic): boolean => FIXED_BY_FIX_ALL.has(d.code as DiagnosticCode)
    || (d.code === DiagnosticCode.UnknownTag && translatedTag(document.line(d.range.start.line).slice(d.range.start.character, d.range.end.character), engine.dictionary, translations) !== undefined);
  const fixesOne = actions.some((action) => action.edit && action.diagnostics?.some(fixedByFixAll));
  if (fixesOne) actions.push(fixAllAction(document.uri, CodeActionKind.QuickFix));
  return actions;
}

/** Our Fix All's kind: `source.fixAll.danbooruGpt`, as ESLint's is `source.fixAll.eslint`. */
const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.danbooruGpt`;
const FIX_ALL_TITLE = 'Fix all alias, duplicate and unescaped tags in this file';
/**
 * What Fix All fixes: the problems whose quick fix is certain (an unknown tag's is a guess), and an
 * unknown tag that is a translation (the user's file names its tag).
 */
const FIXED_BY_FIX_ALL = new Set([DiagnosticCode.AliasTag, DiagnosticCode.DuplicateTag, DiagnosticCode.UnescapedParentheses, DiagnosticCode.UnescapedColon, DiagnosticCode.UnescapedPipe]);
/** Times a line is checked and fixed at most: a removal touching another is left to the next pass. */
const FIX_ALL_PASSES = 4;
/** Lines fixed between two turns of the event loop. */
const FIX_ALL_LINES_PER_TURN = 2000;

interface FixAllData {
  fixAll: string;
}

/** Fix All as a quick fix (beside the others) or as `source.fixAll.danbooruGpt`; its edit comes on resolve. */
function fixAllAction(uri: string, kind: typeof FIX_ALL_KIND | typeof CodeActionKind.QuickFix): CodeAction {
  const data: FixAllData = { fixAll: uri };
  return { title: FIX_ALL_TITLE, kind, data };
}

/**
 * A Fix All action's edit, made when it is chosen (the list of fixes stays quick on a large file):
 * each line as fixLine leaves it, for the checks the diagnostics settings enable. One edit per line
 * changed.
 */
export async function resolveCodeAction(ctx: ServerContext, action: CodeAction, token: CancellationToken): Promise<CodeAction> {
  const uri = (action.data as FixAllData | undefined)?.fixAll;
  const document = uri === undefined ? undefined : ctx.documents.get(uri);
  if (!document || action.edit) return action;
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const edits: TextEdit[] = [];
  const { aliasTags, duplicateTags } = settings.diagnostics;
  const parentheses = checksParentheses(settings.diagnostics, document.uri);
  // Unknown tags are looked for only when a translation file may name their tags; files never.
  const translations = settings.diagnostics.unknownTags ? ctx.translations.get(settings.translationFile) : undefined;
  if (settings.diagnostics.enabled && (aliasTags || duplicateTags || parentheses || translations)) {
    const check: CheckSettings = { ...settings.diagnostics, unknownTags: translations !== undefined, parentheses, translations };
    const style = insertStyleOf(settings, document.uri);
    const version = document.version;
    const read = new ReadDocuments((uri) => ctx.documents.get(uri));
    read.add(document, true);
    const turns = new Turns(token, read.unchanged);
    // The last complete check of this text, when there is one: a line it found nothing to fix on is
    // left alone, not checked again (most of a dataset's lines: Fix All took ~2× as long).
    const checked = ctx.checkedLines?.(document.uri, version, check);
    const fixable = (problems: readonly LineProblem[] | undefined): boolean =>
      problems === undefined || problems.some((d) => FIXED_BY_FIX_ALL.has(d.code) || (translations !== undefined && d.code === DiagnosticCode.UnknownTag));
    for (let number = 0; number < document.lineCount; number++) {
      if (turns.due(FIX_ALL_LINES_PER_TURN)) await turns.take();
      if (checked && number !== checked.typedLine && !fixable(checked.byLine[number])) continue;
      const line = document.line(number);
      const fixed = fixLine(line, engine.dictionary, check, style);
      if (fixed !== line) edits.push(wholeLineEdit(number, line, fixed));
    }
  }
  return { ...action, edit: { changes: { [document.uri]: edits } } };
}

/**
 * One line with every alias, duplicate and translation the check flags fixed as their quick fixes
 * do, together: a translation (with `check.translations`) becomes its tag; each tag is kept once,
 * where it is first written as itself (else where it is first written, as an alias replaced by the
 * tag), unless aliases are not checked (then where it is first written, as it is); its other places
 * are removed, none from alternation. Removals that touch wait for the next pass (a line is checked
 * again only then), and so do the duplicates a translation's tag makes.
 */
export function fixLine(line: string, dictionary: TagDictionary, check: CheckSettings, style: InsertStyle): string {
  let text = line;
  for (let pass = 0; pass < FIX_ALL_PASSES; pass++) {
    const problems = problemsOfLine(text, dictionary, check).filter((d) => FIXED_BY_FIX_ALL.has(d.code) || d.code === DiagnosticCode.UnknownTag);
    if (problems.length === 0) break;
    const tags = lineTagsOf(text, dictionary);
    const parsed = tags.parsed;
    const kept = check.aliasTags ? tags.firstDirect : tags.first;
    // One edit a tag: a translation's tag, else a removal, else the alias's tag (escaped as the check asks), else the escape.
    const byTag = new Map<number, LineEdit>();
    // A tag whose `|` (or `:`) needs escaping keeps it escaped when an alias's tag replaces it (`||_||` → `\|_\|`, `:0` → `\:o`).
    const escapeOf = new Map<number, (written: string) => string>();
    for (const problem of problems) {
      const index = problem.code === DiagnosticCode.UnescapedPipe || problem.code === DiagnosticCode.UnescapedColon ? tags.byStart.get(problem.start) : undefined;
      if (index === undefined) continue;
      escapeOf.set(index, problem.code === DiagnosticCode.UnescapedPipe ? (written) => pipeEscaped(written, problem.other!) : escapeColons);
    }
    let translated = false;
    for (const problem of problems) {
      const index = tags.byStart.get(problem.start);
      if (index !== undefined && problem.code === DiagnosticCode.UnknownTag) {
        const tag = parsed.tags[index]!;
        const itsTag = translatedTag(tag.text, dictionary, check.translations);
        if (itsTag === undefined) continue;
        byTag.set(index, { start: tag.start, end: tag.end, text: formatTag(itsTag, fixStyle(tag.text, style, check.parentheses === true)) });
        translated = true;
        continue;
      }
      if (!FIXED_BY_FIX_ALL.has(problem.code)) continue;
      if (problem.code === DiagnosticCode.UnescapedColon) {
        // Two pieces of one tag (`honkai: star rail` in [ ]) are checked no further; a face's removal or
        // alias's tag (written escaped, escapeOf) comes after it and replaces this edit.
        if (index !== undefined) byTag.set(index, { start: problem.start, end: problem.end, text: escapeColons(text.slice(problem.start, problem.end)) });
        continue;
      }
      if (problem.code === DiagnosticCode.UnescapedPipe) {
        // A removal or an alias's tag decided first stands (the alias's tag is written escaped, escapeOf).
        if (index !== undefined && !byTag.has(index)) byTag.set(index, { start: problem.start, end: problem.end, text: pipeEscaped(text.slice(problem.start, problem.end), problem.other!) });
        continue;
      }
      const canonical = index === undefined ? undefined : tags.canonical[index];
      const key = index === undefined ? undefined : tags.key[index];
      if (index === undefined || canonical === undefined || key === undefined) continue;
      const keep = kept.get(key) ?? tags.first.get(key)!;
      const tag = parsed.tags[index]!;
      // A second writing of a tag goes when duplicates are reported; when they are not, the user keeps
      // repeats (emphasis, say) and a repeated alias is only renamed.
      if (index !== keep && check.duplicateTags) {
        if (removable(tags, index, keep)) byTag.set(index, { ...removalRange(text, parsed, index), text: '' });
      } else if (problem.code === DiagnosticCode.AliasTag) {
        const written = formatTag(canonical, fixStyle(tag.text, style, check.parentheses === true));
        const escape = escapeOf.get(index);
        byTag.set(index, { start: tag.start, end: tag.end, text: colonsEscapedInSquareBrackets(escape === undefined ? written : escape(written), parsed, index) });
      } else if (check.parentheses && hasUnescapedParentheses(tag.text) && !byTag.has(index)) {
        // (Also the kept writing reported as a duplicate of an alias before it: `saber, saber_(fate)`.)
        byTag.set(index, { start: tag.start, end: tag.end, text: escapeParentheses(tag.text) });
      }
    }
    const { text: result, deferred } = applyLineEdits(text, [...byTag.values()]);
    if (result === text) break;
    text = result;
    // A fix makes no new problem (but a translation's tag may be a duplicate), so with none deferred the line is done.
    if (!deferred && !translated) break;
  }
  return text;
}

/**
 * A tag a fix writes in place of the tag at `index`, its `:` escaped where [ ] hold it: `breath of
 * the wild` in `[zelda:breath of the wild:0.5]` is an alias of `the legend of zelda: breath of the
 * wild`, whose colon a1111 would read as prompt editing's.
 */
function colonsEscapedInSquareBrackets(text: string, parsed: ParsedPrompt, index: number): string {
  for (let group = parsed.tags[index]!.group; group !== undefined; group = parsed.groups[group]!.parent) {
    if (parsed.groups[group]!.kind === '[') return escapeColons(text);
  }
  return text;
}

/**
 * The style a fix writes a tag in: as the user wrote it (spaces or underscores, escapes), with its
 * parentheses escaped whenever the check reports unescaped ones (else replacing an alias written
 * `saber_(fate)`-style would be reported again).
 */
function fixStyle(written: string, fallback: InsertStyle, escape: boolean): InsertStyle {
  const style = styleOf(written, fallback);
  return escape ? { ...style, escapeParentheses: true } : style;
}

/** The quick fixes of our diagnostics, on the document's lines (`lineAt`). */
function quickFixes(
  uri: string, lineAt: (line: number) => string, dictionary: TagDictionary, fallbackStyle: InsertStyle, escape: boolean, diagnostics: Diagnostic[], translations?: TagTranslations,
): CodeAction[] {
  const actions: CodeAction[] = [];
  const fix = (title: string, diagnostic: Diagnostic, edit: TextEdit, preferred: boolean): void => {
    actions.push({ title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred: preferred, edit: { changes: { [uri]: [edit] } } });
  };
  const textOf = (range: Range): string => lineAt(range.start.line).slice(range.start.character, range.end.character);

  /**
   * Each line parsed once per request, its tags' canonical names with it: a selection over a long
   * prompt brings a diagnostic per tag, and parsing the line for each made the request quadratic
   * (1,000 diagnostics on a 20,000-tag line took 16 s, the server blocked meanwhile).
   */
  const lines = new Map<number, LineTags>();
  const lineTags = (lineNumber: number): LineTags => {
    let tags = lines.get(lineNumber);
    if (!tags) lines.set(lineNumber, (tags = lineTagsOf(lineAt(lineNumber), dictionary)));
    return tags;
  };
  /** The parsed line of a diagnostic and the index of the tag it covers. */
  const tagAt = (diagnostic: Diagnostic): { line: string; parsed: ParsedPrompt; index: number; tags: LineTags } | undefined => {
    const tags = lineTags(diagnostic.range.start.line);
    const index = tags.byStart.get(diagnostic.range.start.character);
    if (index === undefined || tags.parsed.tags[index]!.end !== diagnostic.range.end.character) return undefined;
    return { line: tags.line, parsed: tags.parsed, index, tags };
  };
  const removal = (diagnostic: Diagnostic, at: { line: string; parsed: ParsedPrompt; index: number }): TextEdit => {
    const lineNumber = diagnostic.range.start.line;
    const range = removalRange(at.line, at.parsed, at.index);
    return { range: { start: { line: lineNumber, character: range.start }, end: { line: lineNumber, character: range.end } }, newText: '' };
  };

  for (const diagnostic of diagnostics) {
    const written = textOf(diagnostic.range);
    const style = fixStyle(written, fallbackStyle, escape);
    switch (diagnostic.code) {
      case DiagnosticCode.UnknownTag: {
        // A translation written in place of its tag (`长发`): its tag, the preferred fix.
        const itsTag = translatedTag(written, dictionary, translations);
        if (itsTag) fix(`Replace with "${itsTag}" (its tag in ${path.basename(translations!.file)})`, diagnostic, { range: diagnostic.range, newText: formatTag(itsTag, style) }, true);
        const data = diagnostic.data as UnknownTagData | undefined;
        if (data?.tail !== undefined) {
          // An option written on into a tag (`dgo` of `[cat|dgo] ears`): tags ending in that tag, the option's part written.
          const ending = `_${data.tail}`;
          const taken = new Set(data.siblings ?? []);
          const nearest = dictionary.nearest(data.name, 4 * SUGGESTIONS)
            .filter((tag) => tag.name.endsWith(ending) && tag.name.length > ending.length && !taken.has(tag.name.slice(0, -ending.length))).slice(0, SUGGESTIONS);
          nearest.forEach((tag, i) => {
            const option = tag.name.slice(0, -ending.length);
            fix(`Did you mean "${tag.name}"? (${tag.count.toLocaleString('en-US')} posts)`, diagnostic, { range: diagnostic.range, newText: formatTag(option, style) }, i === 0);
          });
          actions.push({
            title: `Add "${data.name}" to known tags (danbooruGpt.diagnostics.knownTags)`,
            kind: CodeActionKind.QuickFix,
            diagnostics: [diagnostic],
            command: { title: 'Add to known tags', command: ADD_KNOWN_TAG_COMMAND, arguments: [data.name, uri] },
          });
          break;
        }
        const nearest = dictionary.nearest(normalizeTag(written), SUGGESTIONS);
        // A tag the prompt already holds (`smiel, smile`): the misspelling goes, rather than becoming a duplicate.
        const at = tagAt(diagnostic);
        nearest.forEach((tag, i) => {
          const preferred = i === 0 && !itsTag;
          if (at?.tags.names.has(tag.name)) fix(`Remove "${written}" ("${tag.name}" is already in the prompt)`, diagnostic, removal(diagnostic, at), preferred);
          else fix(`Did you mean "${tag.name}"? (${tag.count.toLocaleString('en-US')} posts)`, diagnostic, { range: diagnostic.range, newText: formatTag(tag.name, style) }, preferred);
        });
        // A word the user means (a quality tag, a LoRA trigger word): never flagged again.
        const name = data?.name ?? normalizeTag(written);
        actions.push({
          title: `Add "${written}" to known tags (danbooruGpt.diagnostics.knownTags)`,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          command: { title: 'Add to known tags', command: ADD_KNOWN_TAG_COMMAND, arguments: [name, uri] },
        });
        break;
      }
      case DiagnosticCode.UnknownFile: {
        // A misspelt LoRA or wildcard: the nearest names its folders have.
        const replacements = (diagnostic.data as UnknownFileData | undefined)?.replacements ?? [];
        replacements.forEach((text, i) => fix(`Did you mean "${text}"?`, diagnostic, { range: diagnostic.range, newText: text }, i === 0));
        break;
      }
      case DiagnosticCode.WildcardCase: {
        const replacements = (diagnostic.data as UnknownFileData | undefined)?.replacements ?? [];
        replacements.forEach((text, i) => fix(`Write "${text}" as its file names it`, diagnostic, { range: diagnostic.range, newText: text }, i === 0));
        break;
      }
      case DiagnosticCode.AliasTag: {
        const data = diagnostic.data as AliasData | undefined;
        const canonical = data?.canonical ?? dictionary.resolve(normalizeTag(written))?.tag.name;
        if (!canonical) break;
        // The tag written as itself elsewhere in the prompt: replacing would make a duplicate, so remove.
        // (Written again only as this alias, the others are duplicates: this one is replaced.)
        const at = tagAt(diagnostic);
        const key = at?.tags.key[at.index];
        const twin = key !== undefined && at!.tags.firstDirect.has(key);
        if (at && twin) {
          if (!isInAlternation(at.line, at.parsed, at.index)) fix(`Remove "${written}" ("${canonical}" is already in this prompt)`, diagnostic, removal(diagnostic, at), true);
          break;
        }
        const newText = at ? colonsEscapedInSquareBrackets(formatTag(canonical, style), at.parsed, at.index) : formatTag(canonical, style);
        fix(`Replace "${written}" with "${canonical}"`, diagnostic, { range: diagnostic.range, newText }, true);
        break;
      }
      case DiagnosticCode.UnescapedParentheses:
        fix(`Escape the parentheses: ${escapeParentheses(written)}`, diagnostic, { range: diagnostic.range, newText: escapeParentheses(written) }, true);
        break;
      case DiagnosticCode.UnescapedColon:
        fix(`Escape the colon: ${escapeColons(written)}`, diagnostic, { range: diagnostic.range, newText: escapeColons(written) }, true);
        break;
      case DiagnosticCode.UnescapedPipe: {
        const escaped = (diagnostic.data as EscapeData | undefined)?.text ?? escapePipes(written);
        fix(`Escape the "|": ${escaped}`, diagnostic, { range: diagnostic.range, newText: escaped }, true);
        break;
      }
      case DiagnosticCode.PromptWeight: {
        // a1111 takes a weight off the prompt's (or the brackets') end only: a comma after it keeps it a tag.
        const title = (diagnostic.data as PromptWeightData | undefined)?.inBrackets ? 'Write a comma after it (keep it a tag)' : 'End the prompt with a comma (keep it a tag)';
        fix(title, diagnostic, { range: { start: diagnostic.range.end, end: diagnostic.range.end }, newText: ',' }, true);
        break;
      }
      case DiagnosticCode.DuplicateTag: {
        const at = tagAt(diagnostic);
        if (!at) break;
        // In `[smile|blush]` or `[smile:blush:0.5]` either occurrence carries meaning: no removal.
        const key = at.tags.key[at.index];
        const first = key === undefined ? undefined : at.tags.first.get(key);
        if (first === undefined || !removable(at.tags, at.index, first)) break;
        fix(`Remove duplicate tag "${written}"`, diagnostic, removal(diagnostic, at), true);
        break;
      }
    }
  }
  return actions;
}

/**
 * Whether a repeat of a tag (`index`, kept at `keep`) can go: not from alternation or prompt editing
 * (`[smile|blush]`, where either writing carries meaning), nor the first writing outside them when the
 * kept one is inside (`[smile|blush], smile, smile`: the second `smile` goes, the first stays).
 */
function removable(tags: LineTags, index: number, keep: number): boolean {
  const inAlternation = (at: number): boolean => isInAlternation(tags.line, tags.parsed, at);
  if (inAlternation(index)) return false;
  if (!inAlternation(keep)) return true;
  const key = tags.key[index];
  const firstOutside = tags.key.findIndex((each, at) => each === key && !inAlternation(at));
  return index !== firstOutside;
}

/** The tag a translation written in place of it names (canonical, in the dictionary), or undefined. */
function translatedTag(written: string, dictionary: TagDictionary, translations: TagTranslations | undefined): string | undefined {
  const translated = translations?.tagOf(written);
  return translated === undefined ? undefined : dictionary.resolve(translated)?.tag.name;
}

/**
 * A line's tags for the quick fixes: where each starts, its canonical name, where each is first (and
 * first as itself) in its prompt (an AND segment or a region is one: promptSegmentsOf).
 */
interface LineTags {
  line: string;
  parsed: ParsedPrompt;
  /** Tag index by start column. */
  byStart: Map<number, number>;
  /** Canonical name per tag (undefined: not in the dictionary). */
  canonical: (string | undefined)[];
  /** The canonical names the line holds (a set of `canonical`, made once a line: a request may bring a diagnostic per tag). */
  names: Set<string>;
  /** Per tag, the key of its name in its prompt (for `first` and `firstDirect`). */
  key: (string | undefined)[];
  first: Map<string, number>;
  /** Where each name is first written as the tag itself, not as an alias. */
  firstDirect: Map<string, number>;
}

function lineTagsOf(line: string, dictionary: TagDictionary): LineTags {
  const parsed = parseLine(line, dictionary);
  const segments = promptSegmentsOf(line, parsed);
  const tags: LineTags = { line, parsed, byStart: new Map(), canonical: [], names: new Set(), key: [], first: new Map(), firstDirect: new Map() };
  parsed.tags.forEach((tag, index) => {
    const resolved = resolveCached(dictionary, tag.name);
    const canonical = resolved?.tag.name;
    const key = canonical === undefined ? undefined : `${segments[index]}\u0000${canonical}`;
    tags.byStart.set(tag.start, index);
    tags.canonical.push(canonical);
    tags.key.push(key);
    if (key === undefined) return;
    tags.names.add(canonical!);
    if (!tags.first.has(key)) tags.first.set(key, index);
    if (resolved!.viaAlias === undefined && !tags.firstDirect.has(key)) tags.firstDirect.set(key, index);
  });
  return tags;
}
