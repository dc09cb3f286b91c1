import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';

describe('waitFor (test/support/wait.ts)', () => {
  it('returns once the condition holds, checking it again until then', async () => {
    let checks = 0;
    await waitFor('the third check', () => ++checks === 3, { intervalMs: 1 });
    expect(checks).toBe(3);
  });

  it('fails after its timeout with the reason and what was seen last', async () => {
    let seen = 0;
    const error = await waitFor('a condition that never holds', () => ++seen < 0, {
      timeoutMs: 50,
      intervalMs: 5,
      state: () => ({ seen }),
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^timed out after 0\.05 s waiting for a condition that never holds; last seen: \{"seen":\d+\}$/,
    );
    expect(seen).toBeGreaterThan(1);
  });
});
