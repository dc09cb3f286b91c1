import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the proxy refuses `PutRecords`: each record's `ErrorCode`, or the whole call. */
export type ThrottleMode = 'off' | 'records' | 'call';

export interface ThrottlingKinesis {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_KINESIS`. */
  endpoint: string;
  /** From now on, `PutRecords` is refused so (other calls pass). */
  throttle(mode: ThrottleMode): void;
  /** The `PutRecords` calls refused so far. */
  readonly throttled: number;
  close(): Promise<void>;
}

const RATE_EXCEEDED =
  'Rate exceeded for shard shardId-000000000000 in stream activity under account 000000000000.';

/**
 * An HTTP proxy in front of a Kinesis emulator that, when told, answers `PutRecords` as a Kinesis
 * stream over its shards' write limit does: `ProvisionedThroughputExceededException` as each record's
 * `ErrorCode` (HTTP 200, `FailedRecordCount` all), or as the call's error (HTTP 400). Anything else goes
 * through to `target`. A fault injected at the SDK's edge, for the one fault kinesalite cannot cause.
 */
export async function startThrottlingKinesis(target: string): Promise<ThrottlingKinesis> {
  const upstream = new URL(target);
  let mode: ThrottleMode = 'off';
  let throttled = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const isPut = request.headers['x-amz-target'] === 'Kinesis_20131202.PutRecords';
      if (isPut && mode !== 'off') {
        throttled++;
        const records = (JSON.parse(body.toString('utf8')) as { Records: unknown[] }).Records;
        const [status, answer] =
          mode === 'call'
            ? [400, { __type: 'ProvisionedThroughputExceededException', message: RATE_EXCEEDED }]
            : [
                200,
                {
                  FailedRecordCount: records.length,
                  Records: records.map(() => ({
                    ErrorCode: 'ProvisionedThroughputExceededException',
                    ErrorMessage: RATE_EXCEEDED,
                  })),
                },
              ];
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(answer));
        return;
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', () => response.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    throttle(next) {
      mode = next;
    },
    get throttled() {
      return throttled;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
