import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ActivityStack } from './activity-stack.js';
import { contextInput, resolveStackConfig } from './config.js';

/**
 * The CDK app: one environment-agnostic stack configured by context (`-c key=value` or `cdk.json`),
 * checked by cdk-nag's AwsSolutions rules, so an unacknowledged finding stops the synth.
 */
export function createApp(app = new App()): { app: App; stack: ActivityStack } {
  const config = contextInput(app.node);
  const { stackName } = resolveStackConfig(config);
  const stack = new ActivityStack(app, stackName, { stackName, config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
