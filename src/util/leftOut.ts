// The files a bulk edit of a folder (tag scope `folder`) could not read, as its messages name them.
import { counted } from './words';

/** `2 files it could not read (a.txt, b.txt; not UTF-8, say: the log says why)`, the first five named. */
export function leftOutText(files: readonly string[]): string {
  const named = files.slice(0, 5).map((file) => file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1)).join(', ');
  return `${counted(files.length, 'file')} it could not read (${named}${files.length > 5 ? ', …' : ''}; not UTF-8, say: the log says why)`;
}
