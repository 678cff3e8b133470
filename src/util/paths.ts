// How a path setting is read, shared by the client (which ignores a workspace's files when it is not
// trusted) and the language server (which resolves them: resolvePathSetting).
import path from 'node:path';

/** Whether a (trimmed) path setting is resolved under the workspace folder: not empty, absolute, `~` or `~/…` (home). */
export function isWorkspaceRelative(value: string): boolean {
  return value !== '' && !path.isAbsolute(value) && value !== '~' && !value.startsWith('~/');
}
