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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A file's text, without its byte order mark, that must be UTF-8: a file in another encoding
 * (Shift-JIS, cp1252 captions) is an error, not text with U+FFFD where its characters were, which an
 * edit made against it would write back in their place.
 */
export async function readUtf8File(file: string): Promise<string> {
  const bytes = await fs.readFile(file);
  try {
    return withoutByteOrderMark(strictUtf8.decode(bytes));
  } catch {
    throw new Error('not UTF-8 text (another encoding?): left out, so that no edit writes over what could not be read');
  }
}
