// The suite's entry, loaded by VS Code's extension host through --extensionTestsPath (or the
// `extensionTestsPath` of a code-server window): mocha with one file per feature, in a fixed order
// (the broken-model scenario last: it changes the model setting). Results also go to a JSON file
// (how `npm run test:vscode -- --code-server` reads them).
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';
import { suiteConfig } from './helper';

function resultsFile(): string {
  return process.env.DANBOORU_GPT_TEST_RESULTS ?? suiteConfig().resultsFile;
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', timeout: 180_000, color: false, reporter: 'spec' });
  // the files are bundled in: expose mocha's tdd globals, then load them
  mocha.suite.emit('pre-require', globalThis, 'bundle', mocha);
  await import('./completion.test');
  await import('./sample.test');
  await import('./diagnostics.test');
  await import('./format.test');
  await import('./rename.test');
  await import('./convert.test');
  await import('./status.test');
  await import('./crash.test');
  await import('./brokenModel.test');
  const results: { title: string; state: string; error?: string; ms?: number }[] = [];
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed', ms: t.duration }));
    runner.on('fail', (t, err: Error) => results.push({ title: t.fullTitle(), state: 'failed', error: err.stack ?? err.message }));
  });
  writeFileSync(resultsFile(), JSON.stringify({ failures, results }, null, 2));
  if (failures > 0) throw new Error(`${failures} test(s) failed`);
}
