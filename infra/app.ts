// The entry point `cdk.json` runs: builds the app and writes the cloud assembly (cdk.out/).
import { describeError, PipelineError } from '../src/core/errors.js';
import { createApp } from './create-app.js';

try {
  createApp().app.synth();
} catch (error) {
  // A bad setting or a missing bundle is one line for the user, not a stack trace.
  if (!(error instanceof PipelineError)) throw error;
  console.error(`error: ${describeError(error)}`);
  process.exitCode = 1;
}
