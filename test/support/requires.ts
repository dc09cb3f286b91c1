import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

/**
 * The one rule for tests that need a program from outside npm (Chromium, Ceph): where it is missing
 * and `CI` is unset (a laptop, a fresh clone), the tests that need it are skipped and the run ends
 * with one line naming what to install; where `CI` is set, its absence is a failing test naming it,
 * so CI can never pass by skipping them.
 */
export interface Requirement {
  /** What the tests need, as given (absolute paths, or command names looked up on PATH). */
  readonly programs: readonly string[];
  /** How to get it, e.g. `apt-get install chromium`. */
  readonly install: string;
  /** Those of {@link programs} not found. */
  readonly missing: readonly string[];
  /** describe() for the tests that need the programs. */
  describe(name: string, fn: () => void): void;
  /** it() for a test that needs the programs. */
  it(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void;
}

/** What a skipped suite or test carries to the summary reporter: what it needs, and how to get it. */
export interface MissingProgram {
  missing: string;
  install: string;
}

declare module 'vitest' {
  interface TaskMeta {
    requires?: MissingProgram;
  }
}

/** True when the run is a CI run: there, a missing program fails instead of skipping. */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Those of `programs` that are not there: an absolute path must exist, a name must be on PATH (or in /usr/sbin). */
export function missingPrograms(programs: readonly string[]): string[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/sbin']);
  return programs.filter((program) =>
    path.isAbsolute(program)
      ? !existsSync(program)
      : !dirs.some((dir) => dir !== '' && existsSync(path.join(dir, program))),
  );
}

/**
 * Declares that some tests need `program` (one, or several that come together), installed with
 * `install`; call it at the top of a test file and define those tests with the returned
 * `describe`/`it`.
 */
export function requireProgram(program: string | readonly string[], install: string): Requirement {
  const programs = typeof program === 'string' ? [program] : [...program];
  const missing = missingPrograms(programs);
  const requires: MissingProgram = { missing: missing.join(', '), install };
  const failure = () =>
    new Error(`${requires.missing} is missing (${install}); CI is set, so these tests must run, not skip`);
  return {
    programs,
    install,
    missing,
    describe(name, fn) {
      if (missing.length === 0) describe(name, fn);
      else if (isCi())
        describe(name, () => {
          it(`needs ${requires.missing} (${install})`, () => {
            throw failure();
          });
        });
      else describe.skip(name, { meta: { requires } }, fn);
    },
    it(name, fn, timeoutMs) {
      if (missing.length === 0) it(name, fn, timeoutMs);
      else if (isCi())
        it(`${name}: needs ${requires.missing} (${install})`, () => {
          throw failure();
        });
      else it.skip(name, { meta: { requires } }, fn);
    },
  };
}

/** Chromium from Debian, driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get install chromium';
