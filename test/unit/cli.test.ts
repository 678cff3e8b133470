import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const cli = path.join(__dirname, '..', '..', 'dist', 'cli.js');

test('cli: an unknown command is a usage error (exit 2) with the usage text', () => {
  const result = spawnSync(process.execPath, [cli, 'no-such-command'], { encoding: 'utf8' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /usage: danbooru-gpt/);
});

test('cli: --help prints the usage on stdout and exits 0, as each command\'s --help does', () => {
  for (const flag of ['--help', '-h']) {
    const result = spawnSync(process.execPath, [cli, flag], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /usage: danbooru-gpt <command>/);
    assert.equal(result.stderr, '');
  }
});
