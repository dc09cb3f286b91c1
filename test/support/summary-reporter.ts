import type { Reporter, TestModule } from 'vitest/node';
import type { MissingProgram } from './requires.js';

/**
 * Ends the run with one plain line, `tests: N passed, N failed, N skipped`, that any CI can read,
 * after one line per program that tests were skipped for (test/support/requires.ts).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    // Per missing program and its install command, how many tests were skipped for it.
    const skippedFor = new Map<string, { requires: MissingProgram; tests: number }>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
        const requires = state === 'skipped' ? requirementOf(test) : undefined;
        if (requires !== undefined) {
          const key = `${requires.missing}\n${requires.install}`;
          const entry = skippedFor.get(key) ?? { requires, tests: 0 };
          entry.tests++;
          skippedFor.set(key, entry);
        }
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
    }
    for (const { requires, tests } of skippedFor.values()) {
      process.stdout.write(
        `\nskipped ${tests} test${tests === 1 ? '' : 's'}: ${requires.missing} is missing (${requires.install}); with CI set they fail instead\n`,
      );
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

type Reported = { meta(): { requires?: MissingProgram }; parent?: Reported; type: string };

/** The requirement a test, or a suite around it, was skipped for. */
function requirementOf(test: Reported): MissingProgram | undefined {
  for (let task: Reported | undefined = test; task !== undefined; task = task.parent) {
    const requires = task.meta().requires;
    if (requires !== undefined) return requires;
    if (task.type === 'module') return undefined;
  }
  return undefined;
}
