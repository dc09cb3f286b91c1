import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  type DescribeStreamSummaryOutput,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  type KinesisClientConfig,
  ListShardsCommand,
  PutRecordsCommand,
  type Shard,
  type StreamDescriptionSummary,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError, StreamError } from '../../core/errors.js';
import { KINESIS_NAME } from '../../core/limits.js';
import type {
  GetRecordsResult,
  PutEntryResult,
  PutRecordsResult,
  ReadPacing,
  RecordToPut,
  ShardDescription,
  StartPosition,
  StreamAdmin,
  StreamDescription,
  StreamReader,
  StreamWriter,
} from '../../core/ports.js';
import { checkPut } from '../put-limits.js';
import {
  awsErrorName,
  isRetriableRecordError,
  type KinesisCallContext,
  streamNotFound,
  streamUrl,
  toStreamError,
} from './errors.js';

/** Kinesis `GetRecords` returns at most 10,000 records per call. */
export const MAX_GET_RECORDS = 10_000;
/** Kinesis' bounds on retention, in hours. */
const MIN_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;
/** Kinesis' largest `ListShards` page. */
const MAX_LIST_SHARDS_PAGE = 10_000;
/** How long `create()` waits for the stream to become ACTIVE (and `delete()` for it to go) by default. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;
/** Status polls start this often and back off to `MAX_POLL_MS`. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 2_000;

export interface KinesisStreamOptions {
  /**
   * The client to use; the stream owns it and destroys it on `close()`. By default one is made
   * with `createKinesisClient()`: region, credentials and endpoint from the standard AWS settings.
   */
  client?: KinesisClient;
  /** The longest `create()` waits for the stream to become ACTIVE, and `delete()` for it to go (default 5 min). */
  waitTimeoutMs?: number;
  /** Shards asked for per `ListShards` page (1 to 10,000; default 1,000). */
  listShardsPageSize?: number;
}

/**
 * A Kinesis client for this pipeline: region, credentials and endpoint from the standard AWS
 * settings (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL_KINESIS`, …) unless `config` sets them,
 * over HTTP/1.1 (the SDK's HTTP/2 default does not work with the emulators).
 */
export function createKinesisClient(config: KinesisClientConfig = {}): KinesisClient {
  return new KinesisClient({ requestHandler: new NodeHttpHandler(), ...config });
}

/** The Kinesis stream `name` as a `KinesisStream`; nothing is called until it is used. */
export function openKinesisStream(name: string, options: KinesisStreamOptions = {}): KinesisStream {
  return new KinesisStream(name, options);
}

/**
 * An Amazon Kinesis data stream (provisioned mode) through the AWS SDK v3.
 *
 * `connect()` checks the stream exists and the credentials work, so a bad setting fails at start
 * with one line. The admin calls (`create`, `describe`, `delete`) and the reads and writes also
 * work without `connect()`; only `streamArn` needs it. Records are returned as stored: records
 * aggregated by the KPL are not de-aggregated.
 */
export class KinesisStream implements StreamWriter, StreamReader, StreamAdmin {
  readonly name: string;
  /**
   * Kinesis allows 5 `GetRecords` calls a second per shard, shared by every consumer of the stream;
   * a caught-up shard is polled once a second, as Lambda's event source mapping does.
   */
  readonly pacing: ReadPacing = { minReadIntervalMs: 200, idlePollMs: 1_000 };
  private readonly client: KinesisClient;
  private readonly waitTimeoutMs: number;
  private readonly listShardsPageSize: number;
  private arn: string | undefined;
  private closed = false;

  constructor(name: string, options: KinesisStreamOptions = {}) {
    if (!KINESIS_NAME.test(name)) {
      throw new ConfigError(
        `Kinesis stream name must be 1-128 letters, digits, "_", "." or "-" (given "${name}")`,
      );
    }
    const pageSize = options.listShardsPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_LIST_SHARDS_PAGE) {
      throw new ConfigError(
        `ListShards page size must be between 1 and ${MAX_LIST_SHARDS_PAGE} (given ${pageSize})`,
      );
    }
    this.name = name;
    this.client = options.client ?? createKinesisClient();
    this.waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    this.listShardsPageSize = pageSize;
  }

  /** The stream's ARN, known once `connect()` (or `describe()`) has succeeded. */
  get streamArn(): string {
    if (this.arn === undefined) {
      throw new StreamError(
        'stream_not_connected',
        `Kinesis stream "${this.name}" is not connected: call connect() first`,
      );
    }
    return this.arn;
  }

  /** Checks the stream exists and the credentials work; waits for a stream still being created. */
  async connect(): Promise<void> {
    let summary = await this.summary();
    if (summary.StreamStatus === 'DELETING') {
      throw new StreamError(
        'stream_not_found',
        `Kinesis stream "${this.name}" is being deleted: create it again with ` +
          `\`activity stream create --stream ${streamUrl(this.name)}\` once it is gone`,
      );
    }
    if (summary.StreamStatus === 'CREATING') summary = await this.waitUntilActive();
    await this.remember(summary);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  async putRecords(records: readonly RecordToPut[], signal?: AbortSignal): Promise<PutRecordsResult> {
    this.assertOpen();
    signal?.throwIfAborted();
    checkPut(records);
    if (records.length === 0) return { failedRecordCount: 0, records: [] };
    const output = await this.call({ operation: 'PutRecords' }, (client) =>
      client.send(
        new PutRecordsCommand({
          StreamName: this.name,
          Records: records.map((record) => ({ PartitionKey: record.partitionKey, Data: record.data })),
        }),
        { abortSignal: signal },
      ),
    );
    const entries = output.Records ?? [];
    if (entries.length !== records.length) {
      throw new StreamError(
        'stream_failed',
        `Kinesis PutRecords on stream "${this.name}" answered ${entries.length} results for ${records.length} records`,
        { retriable: true },
      );
    }
    const results = entries.map((entry, i): PutEntryResult => {
      if (
        entry.ErrorCode !== undefined ||
        entry.ShardId === undefined ||
        entry.SequenceNumber === undefined
      ) {
        const errorCode = entry.ErrorCode ?? 'InternalFailure';
        return {
          ok: false,
          errorCode,
          errorMessage: entry.ErrorMessage ?? `record ${i} was not written`,
          retriable: isRetriableRecordError(errorCode),
        };
      }
      return { ok: true, shardId: entry.ShardId, sequenceNumber: entry.SequenceNumber };
    });
    return { failedRecordCount: results.filter((r) => !r.ok).length, records: results };
  }

  /** Every shard of the stream, closed ones (still within retention) included, following `NextToken`. */
  async listShards(): Promise<ShardDescription[]> {
    this.assertOpen();
    const shards: ShardDescription[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const output = await this.call({ operation: 'ListShards' }, (client) =>
        client.send(
          new ListShardsCommand(
            // Kinesis refuses a StreamName together with a NextToken.
            token === undefined
              ? { StreamName: this.name, MaxResults: this.listShardsPageSize }
              : { NextToken: token, MaxResults: this.listShardsPageSize },
          ),
        ),
      );
      for (const shard of output.Shards ?? []) shards.push(this.shardOf(shard));
      nextToken = output.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return shards;
  }

  /**
   * An iterator at `position`. Kinesis refuses an `AT_TIMESTAMP` in the future; one is read as
   * `LATEST` (records arriving from now on), the nearest position Kinesis can give.
   */
  async getShardIterator(shardId: string, position: StartPosition): Promise<string> {
    this.assertOpen();
    if (!KINESIS_NAME.test(shardId)) {
      throw new StreamError('shard_not_found', `no shard "${shardId}" in Kinesis stream "${this.name}"`);
    }
    const input: GetShardIteratorCommandInput = {
      StreamName: this.name,
      ShardId: shardId,
      ShardIteratorType: position.type,
    };
    if (position.type === 'AT_SEQUENCE_NUMBER' || position.type === 'AFTER_SEQUENCE_NUMBER') {
      input.StartingSequenceNumber = position.sequenceNumber;
    } else if (position.type === 'AT_TIMESTAMP') {
      const time = position.timestamp.getTime();
      if (Number.isNaN(time))
        throw new StreamError('invalid_argument', 'AT_TIMESTAMP needs a valid timestamp');
      if (time > Date.now()) input.ShardIteratorType = 'LATEST';
      else input.Timestamp = position.timestamp;
    }
    try {
      return await this.shardIterator(input);
    } catch (error) {
      // The service's clock may be behind ours: a timestamp it finds in the future is read as LATEST.
      if (
        input.Timestamp !== undefined &&
        /greater than the current/i.test(String((error as Error).message))
      ) {
        return this.shardIterator({ StreamName: this.name, ShardId: shardId, ShardIteratorType: 'LATEST' });
      }
      if (
        input.StartingSequenceNumber !== undefined &&
        (awsErrorName(error) === 'InvalidArgumentException' || awsErrorName(error) === 'ValidationException')
      ) {
        throw new StreamError(
          'invalid_sequence_number',
          `sequence number "${input.StartingSequenceNumber}" is not one of shard ${shardId} of Kinesis stream ` +
            `"${this.name}" (${(error as Error).message})`,
          { cause: error },
        );
      }
      throw toStreamError(error, { stream: this.name, operation: 'GetShardIterator', shardId });
    }
  }

  /**
   * Up to `limit` records (1 to 10,000). `nextShardIterator` is absent once a closed shard (a
   * parent after a reshard) has been read to its end. An expired iterator (Kinesis' last 5
   * minutes) is a retriable `iterator_expired` error: get a new one from the last sequence number.
   */
  async getRecords(shardIterator: string, limit: number): Promise<GetRecordsResult> {
    this.assertOpen();
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GET_RECORDS) {
      throw new StreamError(
        'invalid_argument',
        `limit must be between 1 and ${MAX_GET_RECORDS} (given ${limit})`,
      );
    }
    if (shardIterator === '') throw this.invalidIterator(shardIterator);
    let output: Awaited<ReturnType<typeof this.sendGetRecords>>;
    try {
      output = await this.sendGetRecords(shardIterator, limit);
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'InvalidArgumentException' || name === 'ValidationException') {
        throw this.invalidIterator(shardIterator, error);
      }
      throw toStreamError(error, { stream: this.name, operation: 'GetRecords' });
    }
    const result: GetRecordsResult = {
      records: (output.Records ?? []).map((record) => ({
        sequenceNumber: record.SequenceNumber ?? '',
        partitionKey: record.PartitionKey ?? '',
        data: record.Data ?? new Uint8Array(0),
        approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(0),
      })),
      millisBehindLatest: output.MillisBehindLatest ?? 0,
    };
    if (output.NextShardIterator !== undefined && output.NextShardIterator !== null) {
      result.nextShardIterator = output.NextShardIterator;
    }
    return result;
  }

  /**
   * Creates the stream in provisioned mode with `shards` shards and waits until it is ACTIVE. An
   * existing stream with that many open shards is returned as it is (create is idempotent);
   * another count is a `stream_exists` error.
   */
  async create(options: { shards: number; retentionHours?: number }): Promise<StreamDescription> {
    this.assertOpen();
    const shards = options.shards;
    if (!Number.isInteger(shards) || shards < 1) {
      throw new ConfigError(`shard count must be a whole number of at least 1 (given ${shards})`);
    }
    const retention = options.retentionHours;
    if (
      retention !== undefined &&
      (!Number.isInteger(retention) || retention < MIN_RETENTION_HOURS || retention > MAX_RETENTION_HOURS)
    ) {
      throw new ConfigError(
        `retention must be between ${MIN_RETENTION_HOURS} and ${MAX_RETENTION_HOURS} hours (given ${retention})`,
      );
    }
    try {
      await this.client.send(new CreateStreamCommand({ StreamName: this.name, ShardCount: shards }));
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'ResourceInUseException') return this.existing(shards, retention, error);
      if (name === 'LimitExceededException') {
        throw new StreamError(
          'shard_limit_exceeded',
          `creating Kinesis stream "${this.name}" with ${shards} shards would pass the account's shard ` +
            `limit in this region: use fewer shards or ask AWS for a higher limit (${(error as Error).message})`,
          { cause: error },
        );
      }
      throw toStreamError(error, { stream: this.name, operation: 'CreateStream' });
    }
    let summary = await this.waitUntilActive();
    if (retention !== undefined && retention !== summary.RetentionPeriodHours) {
      await this.call({ operation: 'IncreaseStreamRetentionPeriod' }, (client) =>
        client.send(
          new IncreaseStreamRetentionPeriodCommand({
            StreamName: this.name,
            RetentionPeriodHours: retention,
          }),
        ),
      );
      summary = await this.waitUntilActive();
    }
    return this.description(summary);
  }

  /** The stream's status, retention and shards; `stream_not_found` when there is none. */
  async describe(): Promise<StreamDescription> {
    this.assertOpen();
    return this.description(await this.summary());
  }

  /** Deletes the stream, then waits (up to the wait timeout) until Kinesis no longer lists it. */
  async delete(): Promise<void> {
    this.assertOpen();
    await this.call({ operation: 'DeleteStream' }, (client) =>
      client.send(new DeleteStreamCommand({ StreamName: this.name })),
    );
    await this.poll(async () => {
      try {
        await this.summary();
        return false;
      } catch (error) {
        if (error instanceof StreamError && error.code === 'stream_not_found') return true;
        throw error;
      }
    });
  }

  private async existing(
    shards: number,
    retention: number | undefined,
    cause: unknown,
  ): Promise<StreamDescription> {
    const summary = await this.waitUntilActive();
    const open = summary.OpenShardCount;
    const kept = summary.RetentionPeriodHours;
    if (open !== shards || (retention !== undefined && kept !== retention)) {
      throw new StreamError(
        'stream_exists',
        `Kinesis stream "${this.name}" already exists with ${open ?? 'an unknown number of'} shards and ` +
          `${kept ?? '?'} h retention (asked for ${shards} shards${retention === undefined ? '' : ` and ${retention} h`}); ` +
          `to change it, delete it first with \`activity stream delete --stream ${streamUrl(this.name)}\` or reshard it`,
        { cause },
      );
    }
    return this.description(summary);
  }

  private async description(summary: StreamDescriptionSummary): Promise<StreamDescription> {
    await this.remember(summary);
    const status = (summary.StreamStatus ?? 'ACTIVE') as StreamDescription['status'];
    // Kinesis lists no shards while a stream is being created or deleted.
    const shards = status === 'ACTIVE' || status === 'UPDATING' ? await this.listShards() : [];
    return {
      name: this.name,
      arn: this.streamArn,
      status,
      shards,
      retentionHours: summary.RetentionPeriodHours ?? MIN_RETENTION_HOURS,
    };
  }

  private async summary(): Promise<StreamDescriptionSummary> {
    const output: DescribeStreamSummaryOutput = await this.call(
      { operation: 'DescribeStreamSummary' },
      (client) => client.send(new DescribeStreamSummaryCommand({ StreamName: this.name })),
    );
    if (output.StreamDescriptionSummary === undefined) throw streamNotFound(this.name);
    return output.StreamDescriptionSummary;
  }

  /** Keeps the stream's ARN: Kinesis' own, or built from the region when it gives none. */
  private async remember(summary: StreamDescriptionSummary): Promise<void> {
    if (summary.StreamARN !== undefined && summary.StreamARN !== '') {
      this.arn = summary.StreamARN;
      return;
    }
    if (this.arn !== undefined) return;
    const region = this.client.config.region;
    const name = typeof region === 'function' ? await region() : region;
    this.arn = `arn:aws:kinesis:${name}:000000000000:stream/${this.name}`;
  }

  private async waitUntilActive(): Promise<StreamDescriptionSummary> {
    let last: StreamDescriptionSummary | undefined;
    const active = await this.poll(async () => {
      last = await this.summary();
      return last.StreamStatus === 'ACTIVE';
    });
    if (!active || last === undefined) {
      throw new StreamError(
        'stream_not_active',
        `Kinesis stream "${this.name}" is still ${last?.StreamStatus ?? 'not ACTIVE'} after ` +
          `${Math.round(this.waitTimeoutMs / 1000)} s: check it later with ` +
          `\`activity stream describe --stream ${streamUrl(this.name)}\``,
        { retriable: true },
      );
    }
    return last;
  }

  /** Calls `done` with a backing-off pause until it is true (then true) or the wait timeout passes (then false). */
  private async poll(done: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + this.waitTimeoutMs;
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
      if (await done()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(pause, left));
    }
  }

  private async shardIterator(input: GetShardIteratorCommandInput): Promise<string> {
    const output = await this.client.send(new GetShardIteratorCommand(input));
    if (output.ShardIterator === undefined) {
      throw new StreamError(
        'stream_failed',
        `Kinesis GetShardIterator on stream "${this.name}" returned no iterator for ${input.ShardId}`,
        { retriable: true },
      );
    }
    return output.ShardIterator;
  }

  private sendGetRecords(shardIterator: string, limit: number) {
    return this.client.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit }));
  }

  private invalidIterator(iterator: string, cause?: unknown): StreamError {
    const shown = iterator.length > 40 ? `${iterator.slice(0, 40)}…` : iterator;
    return new StreamError(
      'invalid_iterator',
      `shard iterator "${shown}" is not one Kinesis stream "${this.name}" gave out: get one with getShardIterator`,
      { cause },
    );
  }

  private shardOf(shard: Shard): ShardDescription {
    const description: ShardDescription = {
      shardId: shard.ShardId ?? '',
      hashKeyRange: {
        startingHashKey: shard.HashKeyRange?.StartingHashKey ?? '',
        endingHashKey: shard.HashKeyRange?.EndingHashKey ?? '',
      },
      sequenceNumberRange: {
        startingSequenceNumber: shard.SequenceNumberRange?.StartingSequenceNumber ?? '',
      },
    };
    if (shard.ParentShardId) description.parentShardId = shard.ParentShardId;
    if (shard.AdjacentParentShardId) description.adjacentParentShardId = shard.AdjacentParentShardId;
    const ending = shard.SequenceNumberRange?.EndingSequenceNumber;
    if (ending) description.sequenceNumberRange.endingSequenceNumber = ending;
    return description;
  }

  private async call<T>(
    context: Omit<KinesisCallContext, 'stream'>,
    run: (client: KinesisClient) => Promise<T>,
  ): Promise<T> {
    try {
      return await run(this.client);
    } catch (error) {
      throw toStreamError(error, { ...context, stream: this.name });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamError('stream_closed', `Kinesis stream "${this.name}" is closed`);
  }
}
