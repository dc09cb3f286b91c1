import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Duration,
  aws_lambda_event_sources as eventSources,
  aws_iam as iam,
  type aws_kinesis as kinesis,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  type aws_s3 as s3,
  aws_sqs as sqs,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FORGOTTEN_PREFIX } from '../../src/forget/forgotten-list.js';
import type { ActivityStackConfig } from '../config.js';
import type { LandingBucket } from './landing-bucket.js';
import { StackPart } from './stack-part.js';

/** Where the function finds the tracking plan: layers are unpacked under /opt. */
export const TRACKING_PLAN_PATH = '/opt/tracking-plan.json';

const RUNTIMES: Record<ActivityStackConfig['runtime'], lambda.Runtime> = {
  'nodejs22.x': lambda.Runtime.NODEJS_22_X,
  'nodejs24.x': lambda.Runtime.NODEJS_24_X,
};

export interface StreamConsumerProps {
  config: ActivityStackConfig;
  stream: kinesis.Stream;
  landing: LandingBucket;
  /** The folder holding the consumer bundle `index.mjs`. */
  lambdaDir: string;
}

/**
 * The consumer bundle as a Lambda function behind an event source mapping that never drops a batch in
 * silence: finite retries, bisection, reported item failures, and a record of each batch given up on in
 * the failed-batches queue. Its role holds only the grants the handler uses.
 */
export class StreamConsumer extends StackPart {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly failureQueue: sqs.Queue;
  /** The layer that ships the tracking plan, when `trackingPlan` is set. */
  readonly trackingPlan: lambda.LayerVersion | undefined;

  constructor(scope: Construct, id: string, { config, stream, landing, lambdaDir }: StreamConsumerProps) {
    super(scope, id);

    // The event source mapping sends a record of each batch it gives up on here (the shard and the
    // sequence-number range), and an alarm fires on it: no batch is dropped in silence.
    this.failureQueue = new sqs.Queue(this, 'FailedBatches', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the event source mapping; its messages are kept 14 days and alarmed on.',
    });

    const logGroup = new logs.LogGroup(this, 'ConsumerLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role, so the function gets only the grants below and not the managed
    // AWSLambdaBasicExecutionRole policy (which allows writing to every log group).
    this.role = new iam.Role(this, 'ConsumerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'activity consumer: reads the stream, writes the landed layout and its logs',
    });
    logGroup.grantWrite(this.role);

    // The plan (checked when the config was read) ships as a layer of its own: a new plan is a new
    // layer version, and the function's code stays the bundle as built.
    this.trackingPlan =
      config.trackingPlan === undefined
        ? undefined
        : new lambda.LayerVersion(this, 'TrackingPlan', {
            description: `activity tracking plan: ${path.basename(config.trackingPlan)}`,
            code: lambda.Code.fromAsset(stagePlan(config.trackingPlan)),
          });

    this.function = new lambda.Function(this, 'Consumer', {
      description: `activity consumer: lands the stream's events in ${config.sinkPrefix || 'the bucket root'}`,
      runtime: RUNTIMES[config.runtime],
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(lambdaDir),
      memorySize: config.memoryMb,
      timeout: Duration.seconds(config.timeoutSeconds),
      role: this.role,
      logGroup,
      ...(this.trackingPlan === undefined ? {} : { layers: [this.trackingPlan] }),
      environment: {
        SINK_URL: landing.sinkUrl,
        // How events land: `ndjson` or `parquet`; the events table reads that format.
        FORMAT: config.format,
        ...(this.trackingPlan === undefined ? {} : { TRACKING_PLAN: TRACKING_PLAN_PATH }),
        // The bundle is minified; its source map turns stack traces in the logs back into source lines.
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    if (config.runtime !== 'nodejs24.x') {
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'The consumer bundle is built for and tested on Node.js 22 (nodejs22.x, a supported runtime); runtime=nodejs24.x selects the newest.',
      });
    }

    this.grantLanding(landing.bucket, landing.prefix);

    // Reading the stream (and decrypting it with the key) is granted by the event source itself;
    // sending failure records is granted by the SQS destination.
    this.function.addEventSource(
      new eventSources.KinesisEventSource(stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: config.batchSize,
        maxBatchingWindow: Duration.seconds(config.batchWindowSeconds),
        parallelizationFactor: config.parallelizationFactor,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: config.retryAttempts,
        maxRecordAge: Duration.seconds(config.maxRecordAgeSeconds),
        onFailure: new eventSources.SqsDlq(this.failureQueue),
      }),
    );
  }

  /**
   * The handler's only S3 calls: PutObject under the prefix, GetObject of the list of forgotten users
   * and its key (`_forgotten/`), and HeadBucket when it starts, which S3 authorizes as s3:ListBucket on
   * the bucket.
   */
  private grantLanding(bucket: s3.Bucket, prefix: string): void {
    bucket.grants.actionsOnObjectKeys(this.function, `${prefix}*`, 's3:PutObject');
    bucket.grants.actionsOnObjectKeys(this.function, `${prefix}${FORGOTTEN_PREFIX}/*`, 's3:GetObject');
    iam.Grant.addToPrincipal({
      grantee: this.function,
      actions: ['s3:ListBucket'],
      resourceArns: [bucket.bucketArn],
    });
    const bucketId = Stack.of(this).resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason:
        'Object-level s3:PutObject is granted on the landed prefix only; object keys are created per batch, so they can only be named by a pattern.',
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}${FORGOTTEN_PREFIX}/*]`,
      reason:
        'The consumer reads only the list of forgotten users and its key, the two objects under the hidden _forgotten/ prefix.',
    });
  }
}

/** A folder holding only the plan, under the name the function reads: the layer's content. */
function stagePlan(file: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'activity-plan-'));
  copyFileSync(file, path.join(folder, path.basename(TRACKING_PLAN_PATH)));
  return folder;
}
