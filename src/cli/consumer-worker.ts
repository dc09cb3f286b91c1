import { parentPort, workerData } from 'node:worker_threads';
import { describeError, PipelineError } from '../core/errors.js';
import { TrackingPlan } from '../plan/index.js';
import type { ConsumerThreadData, FromConsumer, ToConsumer } from './consumer-thread.js';
import { connectStore, connectStream, startConsumer } from './pipeline.js';

// The consumer thread's entry point (see consumer-thread.ts).
const data = workerData as ConsumerThreadData;
const port = parentPort;
if (port === null) throw new Error('consumer-worker must run as a worker thread');
const post = (message: FromConsumer) => port.postMessage(message);

try {
  const connection = await connectStream(data.stream);
  const store = await connectStore(data.sink);
  const plan = data.trackingPlan === undefined ? undefined : await TrackingPlan.fromFile(data.trackingPlan);
  const { runner, landed } = startConsumer(connection, store, {
    batchSize: data.batchSize,
    batchWindowMs: data.batchWindowMs,
    consumerName: data.consumerName,
    ...(data.invocationTimeoutMs === undefined ? {} : { invocationTimeoutMs: data.invocationTimeoutMs }),
    ...(data.leaseDurationMs === undefined ? {} : { leaseDurationMs: data.leaseDurationMs }),
    ...(data.format === undefined ? {} : { format: data.format }),
    ...(plan === undefined ? {} : { plan }),
    shardSlice: data.shardSlice,
    warn: (message) => post({ type: 'warn', message }),
  });
  port.on('message', (message: ToConsumer) => {
    if (message.type === 'drain') runner.drain();
    else runner.stop();
  });
  const timer = setInterval(() => post({ type: 'progress', landed, stats: runner.stats }), 100);
  post({ type: 'ready' });
  try {
    await runner.run();
  } finally {
    clearInterval(timer);
    await connection.close();
    await store.close();
  }
  post({ type: 'done', landed, stats: runner.stats });
  port.close();
} catch (error) {
  post({
    type: 'failed',
    message: describeError(error),
    code: error instanceof PipelineError ? error.code : 'consumer_failed',
    ...(error instanceof PipelineError ? { stage: error.stage, retriable: error.retriable } : {}),
  });
  port.close();
}
