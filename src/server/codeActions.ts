// Quick fixes for our diagnostics: "did you mean …" for an unknown tag (nearest real tags), remove a
// duplicate tag with its separator, replace an alias with its canonical tag. Replacements keep the
// way the user wrote the tag (spaces or underscores, escaped parentheses).
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type TextEdit } from 'vscode-languageserver/node';
import { formatTag, styleOf } from './insertStyle';
import { normalizeTag, removalRange } from './parser';
import { DIAGNOSTIC_SOURCE, DiagnosticCode, type AliasData } from './diagnostics';
import { lineText, parseLine, type ServerContext } from './serverContext';
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

  for (const diagnostic of ours) {
    const written = document.getText(diagnostic.range);
    const style = styleOf(written, fallbackStyle);
    switch (diagnostic.code) {
      case DiagnosticCode.UnknownTag: {
        const nearest = engine.dictionary.nearest(normalizeTag(written), SUGGESTIONS);
        nearest.forEach((tag, i) => fix(`Did you mean "${tag.name}"? (${tag.count.toLocaleString('en-US')} posts)`, diagnostic, { range: diagnostic.range, newText: formatTag(tag.name, style) }, i === 0));
        break;
      }
      case DiagnosticCode.AliasTag: {
        const data = diagnostic.data as AliasData | undefined;
        const canonical = data?.canonical ?? engine.dictionary.resolve(normalizeTag(written))?.tag.name;
        if (canonical) fix(`Replace "${written}" with "${canonical}"`, diagnostic, { range: diagnostic.range, newText: formatTag(canonical, style) }, true);
        break;
      }
      case DiagnosticCode.DuplicateTag: {
        const lineNumber = diagnostic.range.start.line;
        const line = lineText(document, lineNumber);
        const parsed = parseLine(line, engine.dictionary);
        const index = parsed.tags.findIndex((t) => t.start === diagnostic.range.start.character && t.end === diagnostic.range.end.character);
        if (index < 0) break;
        const remove = removalRange(line, parsed, index);
        fix(`Remove duplicate tag "${written}"`, diagnostic, { range: { start: { line: lineNumber, character: remove.start }, end: { line: lineNumber, character: remove.end } }, newText: '' }, true);
        break;
      }
    }
  }
  return actions;
}
