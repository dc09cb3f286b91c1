import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aws,
  type CfnElement,
  CfnOutput,
  type aws_cloudwatch as cloudwatch,
  Duration,
  aws_kinesis as kinesis,
  aws_kms as kms,
  type aws_lambda as lambda,
  RemovalPolicy,
  Stack,
  type StackProps,
  type aws_s3 as s3,
  type aws_sns as sns,
  type aws_sqs as sqs,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from '../src/core/errors.js';
import { type ActivityStackConfig, type ActivityStackInput, resolveStackConfig } from './config.js';
import { CollectorApi } from './constructs/collector-api.js';
import { LandingBucket } from './constructs/landing-bucket.js';
import { LifecycleSchedule } from './constructs/lifecycle-schedule.js';
import { PipelineAlarms } from './constructs/pipeline-alarms.js';
import { PipelineDashboard } from './constructs/pipeline-dashboard.js';
import { QueryCatalog } from './constructs/query-catalog.js';
import { logicalIdOf } from './constructs/stack-part.js';
import { StreamConsumer } from './constructs/stream-consumer.js';

/** Where `npm run build` writes the consumer bundle. */
export const DEFAULT_LAMBDA_DIR = fileURLToPath(new URL('../dist/lambda/', import.meta.url));
/** Where `npm run build` writes the collector bundle (the HTTP collector behind API Gateway). */
export const DEFAULT_COLLECTOR_DIR = fileURLToPath(new URL('../dist/collector-lambda/', import.meta.url));
/** Where `npm run build` writes the lifecycle bundle (compaction and erasure, with DuckDB). */
export const DEFAULT_LIFECYCLE_DIR = fileURLToPath(new URL('../dist/lifecycle/', import.meta.url));

export interface ActivityStackProps extends StackProps {
  /** The stack's settings; absent ones take their defaults (see `CONFIG_FIELDS`). */
  config?: ActivityStackInput;
  /** The folder holding the consumer bundle `index.mjs`; `dist/lambda/` unless given. */
  lambdaDir?: string;
  /** The folder holding the lifecycle bundle; `dist/lifecycle/` unless given. */
  lifecycleDir?: string;
  /** The folder holding the collector bundle; `dist/collector-lambda/` unless given. */
  collectorDir?: string;
}

/**
 * The pipeline on AWS: a KMS-encrypted Kinesis stream, the consumer bundle as a Lambda function behind
 * an event source mapping that never drops a batch in silence, an S3 bucket for the landed layout,
 * alarms, a dashboard, and a Glue database with Athena workgroup to query what landed. Environment-agnostic: it
 * synthesizes with no account, region or network.
 *
 * The stream and its key are the stack's own; the rest are L3 constructs (`LandingBucket`,
 * `StreamConsumer`, `PipelineAlarms`, `PipelineDashboard`, `QueryCatalog`) that keep the logical IDs their resources had
 * when they were created in the stack directly (see `StackPart`).
 */
export class ActivityStack extends Stack {
  readonly config: ActivityStackConfig;
  readonly stream: kinesis.Stream;
  readonly bucket: s3.Bucket;
  readonly consumer: lambda.Function;
  readonly failureQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** Compacts closed hours every hour, and applies erasure requests. */
  readonly lifecycle: lambda.Function;
  /** The HTTP collector browsers and SDKs send to, unless `collector=false`. */
  readonly collector: CollectorApi | undefined;

  constructor(scope: Construct, id: string, props: ActivityStackProps = {}) {
    const config = resolveStackConfig(props.config);
    const lambdaDir = props.lambdaDir ?? DEFAULT_LAMBDA_DIR;
    const bundle = path.join(lambdaDir, 'index.mjs');
    if (!existsSync(bundle)) {
      throw new ConfigError(`the consumer bundle ${bundle} is missing: run npm run build first`);
    }
    const collectorDir = props.collectorDir ?? DEFAULT_COLLECTOR_DIR;
    if (config.collector && !existsSync(path.join(collectorDir, 'index.mjs'))) {
      throw new ConfigError(
        `the collector bundle ${path.join(collectorDir, 'index.mjs')} is missing: run npm run build first (or set collector=false)`,
      );
    }
    super(scope, id, {
      description: 'activity-pipeline: Kinesis stream, Lambda consumer, S3 landing zone, Glue and Athena',
      ...props,
    });
    this.config = config;

    // One customer-managed key for the stream and the alarm topic: a key costs the same however much
    // it encrypts, and rotating it yearly is free.
    const key = new kms.Key(this, 'Key', {
      description: `${this.stackName}: encrypts the activity stream and its alarm topic`,
      enableKeyRotation: true,
      // The stream it encrypts is deleted with the stack; landed data in S3 does not depend on it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.stream = this.createStream(key);

    const landing = new LandingBucket(this, 'Landing', { config });
    this.bucket = landing.bucket;
    const consumer = new StreamConsumer(this, 'Consumption', {
      config,
      stream: this.stream,
      landing,
      lambdaDir,
    });
    this.consumer = consumer.function;
    this.failureQueue = consumer.failureQueue;
    this.collector = config.collector
      ? new CollectorApi(this, 'FrontDoor', { config, stream: this.stream, key, collectorDir })
      : undefined;
    const alarms = new PipelineAlarms(this, 'Monitoring', {
      config,
      key,
      consumer: this.consumer,
      failureQueue: this.failureQueue,
      collector: this.collector,
    });
    this.alarmTopic = alarms.topic;
    const lifecycle = new LifecycleSchedule(this, 'Lifecycle', {
      config,
      landing,
      lifecycleDir: props.lifecycleDir ?? DEFAULT_LIFECYCLE_DIR,
    });
    this.lifecycle = lifecycle.function;
    const dashboard = new PipelineDashboard(this, 'Overview', {
      stream: this.stream,
      consumer: this.consumer,
      failureQueue: this.failureQueue,
      lifecycle: this.lifecycle,
      collector: this.collector,
    });
    this.dashboard = dashboard.dashboard;
    const catalog = new QueryCatalog(this, 'QueryCatalog', { config, landing });

    this.addOutputs({ key, sinkUrl: landing.sinkUrl, catalog });
  }

  /** Logical IDs as the CDK allocates them, with the L3 constructs' own ids left out of the path. */
  protected override allocateLogicalId(element: CfnElement): string {
    const scopes = element.node.scopes;
    return logicalIdOf(scopes.slice(scopes.indexOf(this) + 1));
  }

  private createStream(key: kms.Key): kinesis.Stream {
    const { config } = this;
    const stream = new kinesis.Stream(this, 'Stream', {
      streamName: config.streamName,
      streamMode:
        config.streamMode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: config.streamMode === 'provisioned' ? config.shardCount : undefined,
      retentionPeriod: Duration.hours(config.retentionHours),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: key,
      // A stream only buffers what the consumer has not landed yet; a kept one would bill every hour.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'A customer-managed key lets its key policy, not only IAM, decide who reads the stream; it also encrypts the alarm topic, which CloudWatch cannot publish to under an AWS managed key.',
    });
    return stream;
  }

  private addOutputs({ key, sinkUrl, catalog }: { key: kms.Key; sinkUrl: string; catalog: QueryCatalog }) {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('StreamName', this.stream.streamName, 'Kinesis stream the producers write to');
    output('StreamArn', this.stream.streamArn, 'ARN of the Kinesis stream');
    output('BucketName', this.bucket.bucketName, 'S3 bucket holding the landed layout');
    output('SinkUrl', sinkUrl, 'where events land, as a --sink URL');
    output('FunctionName', this.consumer.functionName, 'the consumer Lambda function');
    output(
      'LifecycleFunctionName',
      this.lifecycle.functionName,
      'compacts hourly; invoke with {"forget": ["USER_ID"]} to erase a user',
    );
    output('FailedBatchesQueueUrl', this.failureQueue.queueUrl, 'records of batches the consumer gave up on');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic the alarms notify; subscribe to it');
    output('GlueDatabase', catalog.databaseName, 'Glue database with the events and errors tables');
    output('AthenaWorkGroup', catalog.workGroup.name, 'Athena workgroup to query them in');
    output('StreamKeyArn', key.keyArn, 'KMS key of the stream: producers need kms:GenerateDataKey on it');
    // A modest rate: an on-demand stream bills per GB, and `produce` alone sends as fast as it is taken.
    output(
      'ProduceCommand',
      `AWS_REGION=${Aws.REGION} npx activity produce --stream kinesis://${this.stream.streamName} --rate 100`,
      'run this to start sending simulated events (Ctrl-C stops)',
    );
    if (this.collector !== undefined) this.addCollectorOutputs(this.collector);
  }

  /** Where browsers and SDKs send, as each of them is configured: paste these. */
  private addCollectorOutputs(collector: CollectorApi) {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    const { url } = collector;
    output(
      'CollectorUrl',
      url,
      'the HTTP collector: POST /v1/events, Segment’s /v1/batch, Snowplow’s tp2 and GET /i',
    );
    output(
      'TrackerScript',
      `<script src="${url}/tracker.js" data-write-key="WRITE_KEY" async></script>`,
      'the line to put in a web page, with WRITE_KEY replaced by the key (see CollectorWriteKeyCommand)',
    );
    output(
      'SegmentHost',
      url,
      'Segment libraries: host (analytics-node) or apiHost (analytics-next) with the write key',
    );
    output('RudderStackDataPlaneUrl', url, 'RudderStack SDKs: the data plane URL, with the write key');
    output(
      'SnowplowCollectorEndpoint',
      url,
      'Snowplow trackers: the collector endpoint, with Authorization: Bearer WRITE_KEY as a custom header',
    );
    output(
      'CollectorWriteKeySecretArn',
      collector.writeKey.secretArn,
      'Secrets Manager secret holding the write key',
    );
    output(
      'CollectorWriteKeyCommand',
      `aws secretsmanager get-secret-value --secret-id ${collector.writeKey.secretArn} --query SecretString --output text`,
      'prints the write key',
    );
    if (collector.domainName !== undefined) {
      output(
        'CollectorDomainTarget',
        collector.domainName.regionalDomainName,
        'point the custom domain here (a CNAME, or an alias record)',
      );
    }
  }
}
