// The files a bulk edit of a folder (tag scope `folder`) left unread, as its messages name them.
import { counted } from './words';

/**
 * `2 files it could not read (a.txt, sub/b.txt; not UTF-8 or too large: the log says why)`, the first
 * five named by their path under `folder` (the document's), else by their own name.
 */
export function leftOutText(files: readonly string[], folder?: string): string {
  const shown = (file: string): string => {
    const inFolder = folder !== undefined && file.startsWith(folder) && /[\\/]/.test(file.charAt(folder.length));
    return inFolder ? file.slice(folder.length + 1) : file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  };
  const named = files.slice(0, 5).map(shown).join(', ');
  return `${counted(files.length, 'file')} it could not read (${named}${files.length > 5 ? ', …' : ''}; not UTF-8 or too large: the log says why)`;
}
