import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { ActivityStack } from '../../infra/activity-stack.js';
import { createApp } from '../../infra/create-app.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The context `cdk.json` gives the app (feature flags and the CLI's settings). */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** One finding of a validation plugin, as `validation-report.json` lists it. */
export interface Finding {
  plugin: string;
  rule: string;
  severity: string;
  paths: string[];
}

export interface Synthesized {
  stack: ActivityStack;
  template: Template;
  /** The cloud assembly folder. */
  outdir: string;
  /** Every finding of every validation plugin (cdk-nag's AwsSolutions, CloudFormation's own). */
  findings: Finding[];
  /** The error synthesis threw (validation failed), if it did. */
  error: Error | undefined;
}

function readFindings(outdir: string): Finding[] {
  let report: {
    pluginReports: {
      pluginName: string;
      violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
    }[];
  };
  try {
    report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  } catch {
    return [];
  }
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((v) => ({
      plugin: plugin.pluginName,
      rule: v.ruleName,
      severity: v.severity,
      paths: v.violatingConstructs.map((c) => c.constructPath),
    })),
  );
}

const outdirs: string[] = [];

/**
 * Synthesizes the app exactly as `infra/app.ts` builds it (cdk-nag included), with `cdk.json`'s context
 * plus `context`, into a fresh folder. `extend` may add constructs to the stack before synthesis.
 */
export function synth(
  context: Record<string, unknown> = {},
  extend?: (stack: ActivityStack) => IConstruct | undefined,
): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), 'activity-cdk-'));
  outdirs.push(outdir);
  const app = new App({ context: { ...cdkJsonContext(), ...context }, outdir });
  const { stack } = createApp(app);
  extend?.(stack);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (thrown) {
    error = thrown as Error;
  }
  const template = Template.fromJSON(
    JSON.parse(readFileSync(path.join(outdir, stack.templateFile), 'utf8')) as Record<string, unknown>,
  );
  return { stack, template, outdir, findings: readFindings(outdir), error };
}

/** Removes every assembly folder `synth` made. */
export function cleanUpSynths(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
