// A fresh copy of the sample workspace for one run, plus the generated metadata file with bad lines.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { workspaceTemplateDir } from './paths';

export const BAD_LINES_FILE = 'metadata/posts-with-bad-lines.jsonl';

export interface BadLinesFixture {
  /** 1-based line numbers of the lines that are broken on purpose. */
  badLines: number[];
  /** The real posts' JSON lines, in file order. */
  goodLines: string[];
}

/** Builds metadata/posts-with-bad-lines.jsonl from the two real fixtures and says which lines are bad. */
export function writeBadLinesFixture(workspace: string): BadLinesFixture {
  const api = readFileSync(path.join(workspace, 'metadata', 'api-posts-2021.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  const gwern = readFileSync(path.join(workspace, 'metadata', 'gwern-metadata-263162.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  const truncated = api[0]!.slice(0, Math.floor(api[0]!.length / 2));
  const lines = [...api.slice(0, 10), truncated, ...gwern, 'this line is not JSON', ...api.slice(10)];
  writeFileSync(path.join(workspace, BAD_LINES_FILE), lines.join('\n') + '\n');
  const badLines = [11, 11 + gwern.length + 1];
  return { badLines, goodLines: lines.filter((_, i) => !badLines.includes(i + 1)) };
}

export function createWorkspace(dest: string, settings: Record<string, unknown> = {}): BadLinesFixture {
  cpSync(workspaceTemplateDir, dest, { recursive: true });
  mkdirSync(path.join(dest, '.vscode'), { recursive: true });
  writeFileSync(path.join(dest, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
  return writeBadLinesFixture(dest);
}
