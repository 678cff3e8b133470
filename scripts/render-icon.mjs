// Renders media/icon.svg to media/icon.png (256x256, transparent corners) with headless Chromium.
// Run after editing the SVG: `node scripts/render-icon.mjs` (needs `chromium`, e.g. Debian's package).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const size = 256;
const scratch = mkdtempSync(path.join(tmpdir(), 'danbooru-gpt-icon-'));
try {
  const page = path.join(scratch, 'icon.html');
  writeFileSync(
    page,
    `<html><body style="margin:0"><img src="file://${path.join(root, 'media', 'icon.svg')}" width="${size}" height="${size}"></body></html>`,
  );
  execFileSync(process.env.CHROMIUM ?? 'chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
    '--default-background-color=00000000', `--window-size=${size},${size}`,
    `--screenshot=${path.join(root, 'media', 'icon.png')}`, `file://${page}`,
  ], { stdio: ['ignore', 'ignore', 'ignore'], timeout: 60_000 });
  console.log('wrote media/icon.png');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
