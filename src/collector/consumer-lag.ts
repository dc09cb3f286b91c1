import { describeError } from '../core/errors.js';
import type { ShardDescription } from '../core/ports.js';

/** After this long without a checkpoint moving while records wait, the consumer is shown as stalled. */
export const STALLED_AFTER_MS = 30_000;

/** How far a consumer of the same stream is behind the collector, as the dashboard shows it. */
export type ConsumerLag =
  /** Not measured: a Kinesis stream (its consumer's lag is the iterator age in CloudWatch). */
  | { state: 'unknown'; consumer: string; message: string }
  /** No checkpoint of this consumer name in the log: no consumer has landed anything yet. */
  | { state: 'none'; consumer: string }
  | {
      state: 'running' | 'stalled';
      consumer: string;
      /** Records put on the stream that the consumer has not checkpointed yet. */
      records: number;
      /** How long ago a checkpoint last moved, as far as this collector has seen. */
      checkpointAgeMs: number;
    };

/** A stream that keeps its consumers' checkpoints and counts records after a position: the embedded log. */
export interface LagSource {
  listShards(): Promise<ShardDescription[]>;
  load(consumer: string, shardId: string): Promise<string | undefined>;
  countAfter(shardId: string, sequenceNumber: string | undefined): Promise<number>;
}

/**
 * Reads a consumer's lag on the embedded log: for each shard, the records between the consumer's
 * checkpoint and the shard's last sequence number. It uses only the log's public read methods, and
 * notices a consumer that stopped by its checkpoints no longer moving while records wait.
 */
export class ConsumerLagProbe {
  private lastPositions = '';
  private movedAt: number;

  constructor(
    private readonly stream: LagSource,
    readonly consumer: string,
    private readonly now: () => number = Date.now,
  ) {
    this.movedAt = now();
  }

  async read(): Promise<ConsumerLag> {
    const { consumer, stream } = this;
    try {
      const shards = await stream.listShards();
      const positions: (string | undefined)[] = [];
      let records = 0;
      for (const { shardId } of shards) {
        const checkpoint = await stream.load(consumer, shardId);
        positions.push(checkpoint);
        records += await stream.countAfter(shardId, checkpoint);
      }
      if (positions.every((p) => p === undefined)) return { state: 'none', consumer };
      const now = this.now();
      const joined = positions.join(',');
      if (joined !== this.lastPositions) {
        this.lastPositions = joined;
        this.movedAt = now;
      }
      const checkpointAgeMs = now - this.movedAt;
      const state = records > 0 && checkpointAgeMs >= STALLED_AFTER_MS ? 'stalled' : 'running';
      return { state, consumer, records, checkpointAgeMs };
    } catch (error) {
      return {
        state: 'unknown',
        consumer,
        message: `could not read the checkpoints: ${describeError(error)}`,
      };
    }
  }
}
