// Text files as the editor reads them.
import { promises as fs } from 'node:fs';

/** The text without a leading byte order mark (Windows tools write one; VS Code and JSON.parse do not take it as text). */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A UTF-8 file's text, without its byte order mark. */
export async function readTextFile(file: string): Promise<string> {
  return withoutByteOrderMark(await fs.readFile(file, 'utf8'));
}
