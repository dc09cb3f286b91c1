// The collector function's cold start, measured locally: how long a fresh Node.js 22 process (Lambda's
// nodejs22.x) running the bundle alone takes to answer its first request, write key read from a
// Secrets Manager stand-in, events put on kinesalite. Also the bundle's size. Run: npm run bench:collector-lambda
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { httpApiEvent } from '../test/support/api-gateway.js';
import {
  COLLECTOR_LAMBDA_DIR,
  collectorLambdaEnv,
  startCollectorLambda,
} from '../test/support/collector-lambda.js';
import { startKinesalite } from '../test/support/kinesalite.js';
import { NODE_22 } from '../test/support/lambda-bundle.js';
import { startSecretsManager } from '../test/support/secrets-manager.js';

const RUNS = Number(process.env.RUNS ?? 7);
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-key-AbCdEf';

const bundle = await readFile(path.join(COLLECTOR_LAMBDA_DIR, 'index.mjs'));
console.log(
  `bundle: ${(bundle.length / 1024).toFixed(0)} KiB, ${(gzipSync(bundle).length / 1024).toFixed(0)} KiB gzipped`,
);

const kinesis = await startKinesalite();
const secrets = await startSecretsManager({ [SECRET_ARN]: 'bench-key' });
const client = kinesis.client();
await client.send(new CreateStreamCommand({ StreamName: 'bench', ShardCount: 1 }));
client.destroy();

const requests = {
  'GET /tracker.js': httpApiEvent({ method: 'GET', url: '/tracker.js' }),
  'POST /v1/events (10 events)': httpApiEvent({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' },
    body: JSON.stringify(
      Array.from({ length: 10 }, (_, i) => ({ user_id: `u${i}`, event: 'click', timestamp: Date.now() })),
    ),
  }),
};
/** The baseline in the same run: a fresh Node.js 22 process that starts and exits, importing nothing. */
const bare: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = performance.now();
  spawnSync(NODE_22, ['-e', '0']);
  bare.push(performance.now() - started);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
for (const [name, event] of Object.entries(requests)) {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const folder = await mkdtemp(path.join(tmpdir(), 'activity-bench-'));
    const fn = await startCollectorLambda(
      folder,
      collectorLambdaEnv({
        streamName: 'bench',
        secretArn: SECRET_ARN,
        kinesisEndpoint: kinesis.endpoint,
        secretsEndpoint: secrets.endpoint,
      }),
    );
    const first = await fn.invoke(event);
    if (first.statusCode !== 200) throw new Error(`${name}: ${first.statusCode} ${first.body} ${fn.stderr}`);
    cold.push(fn.firstAnswerMs ?? 0);
    const started = performance.now();
    await fn.invoke(event);
    warm.push(performance.now() - started);
    await fn.close();
    await rm(folder, { recursive: true, force: true });
  }
  console.log(
    `${name}: ${(median(cold) / median(bare)).toFixed(1)}× a bare Node.js 22 start (${median(bare).toFixed(0)} ms); cold start (spawn to first answer) median ${median(cold).toFixed(0)} ms, min ${Math.min(...cold).toFixed(0)} ms; warm answer median ${median(warm).toFixed(1)} ms (${RUNS} fresh processes)`,
  );
}
await secrets.close();
await kinesis.close();
