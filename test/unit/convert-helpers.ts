// Shared by the converter tests: the real fixture records, temp folders, and an independent oracle
// (the expected dataset line of a record, computed straight from its JSON, not by the converter).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const fixtures = path.join(__dirname, 'fixtures', 'convert');
export const gwernFixture = path.join(fixtures, 'gwern-metadata-263162.jsonl');
export const apiFixture = path.join(fixtures, 'api-posts-2021.jsonl');

export type ApiRecord = Record<string, unknown> & { id: number; tag_string_general: string; rating: string; score: number };

export function apiLines(): string[] {
  return fs.readFileSync(apiFixture, 'utf8').split('\n').filter((line) => line !== '');
}

export function apiRecords(): ApiRecord[] {
  return apiLines().map((line) => JSON.parse(line) as ApiRecord);
}

export function gwernLine(): string {
  return fs.readFileSync(gwernFixture, 'utf8').trim();
}

/** The seed's rule, written out independently: general tags (category "0") joined by ",". */
export function expectedLine(record: Record<string, unknown>): string {
  if (Array.isArray(record.tags)) {
    return (record.tags as { name: string; category: string | number }[])
      .filter((tag) => String(tag.category) === '0')
      .map((tag) => tag.name)
      .join(',');
  }
  return String(record.tag_string_general).split(' ').filter(Boolean).join(',');
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgpt-convert-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Files in a folder other than the ones named (to catch leftover temporary files). */
export function strayFiles(dir: string, expected: string[]): string[] {
  return fs.readdirSync(dir).filter((name) => !expected.includes(name));
}
