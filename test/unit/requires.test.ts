import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCi, missingPrograms } from '../support/requires.js';

describe('the rule for programs from outside npm (test/support/requires.ts)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('finds an absolute path where it exists and a command name on PATH', () => {
    vi.stubEnv('PATH', '/nowhere');
    expect(
      missingPrograms([process.execPath, '/nowhere/chromium', 'sh', 'no-such-command-activity']),
    ).toEqual(['/nowhere/chromium', 'no-such-command-activity']);
  });

  it('counts a run as CI when CI is set to anything but empty, 0 or false', () => {
    for (const [value, ci] of [
      [undefined, false],
      ['', false],
      ['0', false],
      ['false', false],
      ['true', true],
      ['1', true],
    ] as const) {
      vi.stubEnv('CI', value);
      expect(isCi(), `CI=${value}`).toBe(ci);
    }
  });
});
