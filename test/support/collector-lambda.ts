import { type ChildProcess, spawn } from 'node:child_process';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { NODE_22 } from './lambda-bundle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The collector function as deployed: `npm run build` writes it (`index.mjs` and the browser files in `assets/`). */
export const COLLECTOR_LAMBDA_DIR = path.join(root, 'dist/collector-lambda');

/** What the handler answered, or the message it threw. */
export type InvokeResult = APIGatewayProxyStructuredResultV2 & { thrown?: string };

export interface RunningCollectorLambda {
  /** The folder the bundle runs from, holding only what `npm run build` put in dist/collector-lambda. */
  folder: string;
  /** Invokes the handler in the one execution environment, as Lambda does, one event at a time. */
  invoke(event: APIGatewayProxyEventV2): Promise<InvokeResult>;
  /** Milliseconds from starting the process to the first invocation's answer: the cold start. */
  readonly firstAnswerMs: number | undefined;
  /** Everything the function wrote to stdout (its EMF lines) and stderr. */
  readonly stdout: string;
  readonly stderr: string;
  close(): Promise<void>;
}

// The execution environment: imports the bundle, then invokes its handler for each event sent over IPC,
// one after the other, as one Lambda execution environment does.
const RUNTIME = `
const { handler } = await import('./index.mjs');
let queue = Promise.resolve();
process.on('message', ({ id, event }) => {
  queue = queue.then(async () => {
    const context = { awsRequestId: 'req-' + id, functionName: 'collector', getRemainingTimeInMillis: () => 10000 };
    const result = await handler(event, context).catch((e) => ({ thrown: e.message }));
    process.send({ id, result });
  });
});
process.send({ ready: true });
`;

/**
 * Copies the collector function's folder alone into `folder` and starts it in a fresh process of `node`
 * (default: Node.js 22, Lambda's nodejs22.x) with only `env` (and PATH) set, answering invocations.
 */
export async function startCollectorLambda(
  folder: string,
  env: Record<string, string>,
  node: string = NODE_22,
): Promise<RunningCollectorLambda> {
  await cp(COLLECTOR_LAMBDA_DIR, folder, { recursive: true });
  const started = performance.now();
  const child: ChildProcess = spawn(node, ['--input-type=module', '-e', RUNTIME], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const waiting = new Map<number, (result: InvokeResult) => void>();
  let firstAnswerMs: number | undefined;
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const resolve of waiting.values()) resolve({ thrown: `the function's process exited: ${stderr}` });
    waiting.clear();
  });
  child.on('message', (message: { id?: number; result?: InvokeResult }) => {
    if (message.id === undefined) return;
    firstAnswerMs ??= performance.now() - started;
    waiting.get(message.id)?.(message.result ?? {});
    waiting.delete(message.id);
  });
  return {
    folder,
    get firstAnswerMs() {
      return firstAnswerMs;
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    invoke(event) {
      const id = nextId++;
      return new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve({ thrown: `the function's process exited: ${stderr}` });
          return;
        }
        waiting.set(id, resolve);
        child.send({ id, event });
      });
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * The function's environment as the CDK app sets it (stream, secret ARN), with the AWS SDK kept off the
 * network: a region, dummy credentials, and the endpoints of the local engines.
 */
export function collectorLambdaEnv(settings: {
  streamName: string;
  secretArn: string;
  kinesisEndpoint: string;
  secretsEndpoint: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    STREAM_NAME: settings.streamName,
    WRITE_KEY_SECRET_ARN: settings.secretArn,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret-for-tests',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_KINESIS: settings.kinesisEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: settings.secretsEndpoint,
    ...settings.extra,
  };
}
