import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invokeBundleAlone, LAMBDA_RUNTIMES } from '../support/lambda-bundle.js';
import { readLanded } from '../support/landed.js';
import { useTempDir } from '../support/temp.js';
import { expectOutcome, PLAN, POLICY_CASES } from '../unit/plan-policy-cases.js';

const tempDir = useTempDir();

/** The bundle alone in a folder with a plan file beside it, as the CDK app ships it; TRACKING_PLAN names it. */
async function invokeWithPlan(node: string, plan: unknown, event: unknown, planText = JSON.stringify(plan)) {
  const folder = await tempDir();
  const sink = path.join(await tempDir(), 'sink');
  await writeFile(path.join(folder, 'tracking-plan.json'), planText);
  const result = await invokeBundleAlone(
    folder,
    event,
    { SINK_URL: sink, TRACKING_PLAN: 'tracking-plan.json' },
    node,
  );
  return { result, sink };
}

describe.each(LAMBDA_RUNTIMES)('the Lambda bundle with TRACKING_PLAN on $label', ({ node }) => {
  it.each(POLICY_CASES)('$name', async (c) => {
    // Act
    const { result, sink } = await invokeWithPlan(node, { ...PLAN, policies: c.policies }, c.event);
    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.output).toEqual({ batchItemFailures: [] });
    const landed = await readLanded(sink);
    expectOutcome(c, landed.events, landed.errors);
  });

  it('fails the invocation, naming the file and where, when the plan is bad: nothing lands unchecked', async () => {
    // Act
    const { result, sink } = await invokeWithPlan(
      node,
      { events: { purchase: { properties: { type: 'object', required: 'amount' } } } },
      POLICY_CASES[0]?.event,
    );
    // Assess
    expect(result.output.thrown).toMatch(
      /tracking-plan\.json: \/events\/purchase\/properties\/required must be array \(given "amount"\)$/,
    );
    expect((await readLanded(sink)).objects).toEqual([]);
  });
});
