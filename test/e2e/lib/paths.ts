// Where the real-editor tests keep things. Everything they write lives under test/e2e/.cache
// (gitignored) or test-results/, never in the repository's tracked files.
import path from 'node:path';

export const e2eDir = path.resolve(__dirname, '..');
export const repoRoot = path.resolve(e2eDir, '..', '..');
export const cacheDir = path.join(e2eDir, '.cache');
export const resultsDir = path.join(repoRoot, 'test-results');
export const workspaceTemplateDir = path.join(e2eDir, 'workspace');
export const codeServerBin = path.join(e2eDir, 'node_modules', '.bin', 'code-server');
