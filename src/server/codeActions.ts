// Quick fixes for our diagnostics: "did you mean …" for an unknown tag (nearest real tags) or "add to
// known tags" (a command the client runs: settings are the client's to write), "did you mean …" for a
// LoRA or a wildcard that names no file (the nearest names of its folders), remove a
// duplicate tag with its separator, replace an alias with its canonical tag (or remove the alias when
// that tag is already in the prompt). Nothing is removed from alternation or prompt editing (`[a|b]`,
// `[a:b:0.5]`), where that would change the prompt's meaning. Replacements keep the way the user
// wrote the tag (spaces or underscores, escaped parentheses).
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type TextEdit } from 'vscode-languageserver/node';
import { formatTag, styleOf } from '../prompt/insertStyle';
import { isInAlternation, normalizeTag, removalRange, type ParsedPrompt } from '../prompt/parser';
import { DIAGNOSTIC_SOURCE, DiagnosticCode, type AliasData, type UnknownFileData, type UnknownTagData } from './diagnostics';
import { ADD_KNOWN_TAG_COMMAND } from '../protocol';
import type { TagDictionary } from '../model/index';
import { parseLine, resolveCached, type ServerContext } from './serverContext';
import { insertStyleOf } from './settings';

/** How many "did you mean" suggestions an unknown tag gets. */
const SUGGESTIONS = 3;

export async function provideCodeActions(ctx: ServerContext, params: CodeActionParams): Promise<CodeAction[]> {
  const ours = params.context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
  if (ours.length === 0) return [];
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return [];
  const [engine, settings] = await Promise.all([ctx.engines.engine(), ctx.settings.forDocument(document.uri)]);
  const fallbackStyle = insertStyleOf(settings);
  const uri = document.uri;
  const actions: CodeAction[] = [];
  const fix = (title: string, diagnostic: Diagnostic, edit: TextEdit, preferred: boolean): void => {
    actions.push({ title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred: preferred, edit: { changes: { [uri]: [edit] } } });
  };

  /**
   * Each line parsed once per request, its tags' canonical names with it: a selection over a long
   * prompt brings a diagnostic per tag, and parsing the line for each made the request quadratic
   * (1,000 diagnostics on a 20,000-tag line took 16 s, the server blocked meanwhile).
   */
  const lines = new Map<number, LineTags>();
  const lineTags = (lineNumber: number): LineTags => {
    let tags = lines.get(lineNumber);
    if (!tags) lines.set(lineNumber, (tags = lineTagsOf(document.line(lineNumber), engine.dictionary)));
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

  for (const diagnostic of ours) {
    const written = document.getText(diagnostic.range);
    const style = styleOf(written, fallbackStyle);
    switch (diagnostic.code) {
      case DiagnosticCode.UnknownTag: {
        const nearest = engine.dictionary.nearest(normalizeTag(written), SUGGESTIONS);
        nearest.forEach((tag, i) => fix(`Did you mean "${tag.name}"? (${tag.count.toLocaleString('en-US')} posts)`, diagnostic, { range: diagnostic.range, newText: formatTag(tag.name, style) }, i === 0));
        // A word the user means (a quality tag, a LoRA trigger word): never flagged again.
        const name = (diagnostic.data as UnknownTagData | undefined)?.name ?? normalizeTag(written);
        actions.push({
          title: `Add "${written}" to known tags (danbooruGpt.diagnostics.knownTags)`,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          command: { title: 'Add to known tags', command: ADD_KNOWN_TAG_COMMAND, arguments: [name] },
        });
        break;
      }
      case DiagnosticCode.UnknownFile: {
        // A misspelt LoRA or wildcard: the nearest names its folders have.
        const replacements = (diagnostic.data as UnknownFileData | undefined)?.replacements ?? [];
        replacements.forEach((text, i) => fix(`Did you mean "${text}"?`, diagnostic, { range: diagnostic.range, newText: text }, i === 0));
        break;
      }
      case DiagnosticCode.AliasTag: {
        const data = diagnostic.data as AliasData | undefined;
        const canonical = data?.canonical ?? engine.dictionary.resolve(normalizeTag(written))?.tag.name;
        if (!canonical) break;
        // The canonical tag written elsewhere in the prompt: replacing would make a duplicate, so remove.
        const at = tagAt(diagnostic);
        const twin = at !== undefined && (at.tags.count.get(canonical) ?? 0) > (at.tags.canonical[at.index] === canonical ? 1 : 0);
        if (at && twin) {
          if (!isInAlternation(at.line, at.parsed, at.index)) fix(`Remove "${written}" ("${canonical}" is already in this prompt)`, diagnostic, removal(diagnostic, at), true);
          break;
        }
        fix(`Replace "${written}" with "${canonical}"`, diagnostic, { range: diagnostic.range, newText: formatTag(canonical, style) }, true);
        break;
      }
      case DiagnosticCode.DuplicateTag: {
        const at = tagAt(diagnostic);
        if (!at) break;
        // In `[smile|blush]` or `[smile:blush:0.5]` either occurrence carries meaning: no removal.
        const canonical = at.tags.canonical[at.index];
        const first = canonical === undefined ? undefined : at.tags.first.get(canonical);
        if (isInAlternation(at.line, at.parsed, at.index) || (first !== undefined && isInAlternation(at.line, at.parsed, first))) break;
        fix(`Remove duplicate tag "${written}"`, diagnostic, removal(diagnostic, at), true);
        break;
      }
    }
  }
  return actions;
}

/** A line's tags for the quick fixes: where each starts, its canonical name, where each name is first and how often it is there. */
interface LineTags {
  line: string;
  parsed: ParsedPrompt;
  /** Tag index by start column. */
  byStart: Map<number, number>;
  /** Canonical name per tag (undefined: not in the dictionary). */
  canonical: (string | undefined)[];
  first: Map<string, number>;
  count: Map<string, number>;
}

function lineTagsOf(line: string, dictionary: TagDictionary): LineTags {
  const parsed = parseLine(line, dictionary);
  const tags: LineTags = { line, parsed, byStart: new Map(), canonical: [], first: new Map(), count: new Map() };
  parsed.tags.forEach((tag, index) => {
    const canonical = resolveCached(dictionary, tag.name)?.tag.name;
    tags.byStart.set(tag.start, index);
    tags.canonical.push(canonical);
    if (canonical === undefined) return;
    if (!tags.first.has(canonical)) tags.first.set(canonical, index);
    tags.count.set(canonical, (tags.count.get(canonical) ?? 0) + 1);
  });
  return tags;
}
