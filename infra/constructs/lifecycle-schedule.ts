import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Duration,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Size,
  Stack,
  type aws_s3 as s3,
  aws_scheduler as scheduler,
  aws_scheduler_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from '../../src/core/errors.js';
import type { ActivityStackConfig } from '../config.js';
import type { LandingBucket } from './landing-bucket.js';
import { StackPart } from './stack-part.js';

export interface LifecycleScheduleProps {
  config: ActivityStackConfig;
  landing: LandingBucket;
  /** The folder holding the lifecycle bundle: `index.mjs` and DuckDB in `node_modules/`. */
  lifecycleDir: string;
}

/** DuckDB's memory while compacting an hour of a busy stream, and its time for a day's backlog. */
const MEMORY_MB = 2048;
const TIMEOUT = Duration.minutes(15);

/**
 * The scheduled work on the landed data: a Lambda function running the same code as `activity compact`
 * (and `activity forget` for an erasure request, `{"forget": ["user_42"]}`), invoked every hour by
 * EventBridge Scheduler (enabled with `format=parquet`, the format the Glue tables then read compacted
 * objects in). It bundles DuckDB's native linux-arm64 binding. It alone may delete objects,
 * and only under `events/`.
 */
export class LifecycleSchedule extends StackPart {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, { config, landing, lifecycleDir }: LifecycleScheduleProps) {
    super(scope, id);
    if (!existsSync(path.join(lifecycleDir, 'index.mjs'))) {
      throw new ConfigError(
        `the lifecycle bundle ${lifecycleDir}/index.mjs is missing: run npm run build first`,
      );
    }
    const logGroup = new logs.LogGroup(this, 'LifecycleLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'LifecycleRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'activity lifecycle: compacts closed hours of events/ and applies erasure requests',
    });
    logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Lifecycle', {
      description: 'activity lifecycle: activity compact every hour, and activity forget on request',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(lifecycleDir),
      memorySize: MEMORY_MB,
      timeout: TIMEOUT,
      // An S3 sink's objects are downloaded for DuckDB to read: compaction keeps a run's downloads
      // until it ends, so a backlog of busy hours needs room. Billed per GB-second, a few cents a month.
      ephemeralStorageSize: Size.gibibytes(10),
      role: this.role,
      logGroup,
      environment: {
        SINK_URL: landing.sinkUrl,
        // DuckDB keeps its settings and spill files under HOME and the temporary directory: /tmp here.
        HOME: '/tmp',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The lifecycle bundle ships the DuckDB binding built for Node.js 22 (nodejs22.x, a supported runtime), tested there.',
    });
    this.grantLanding(landing.bucket, landing.prefix);
    // The schedule's own role: it may invoke this function (and its versions), nothing else.
    const invoker = new iam.Role(this, 'LifecycleSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'activity lifecycle: lets EventBridge Scheduler invoke the lifecycle function',
    });
    const functionId = Stack.of(this).resolve(
      (this.function.node.defaultChild as lambda.CfnFunction).logicalId,
    );
    Validations.of(invoker).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the lifecycle function and its versions (ARN:*), as the Scheduler target grants it: one function, no other resource.',
    });
    this.schedule = new scheduler.Schedule(this, 'Hourly', {
      description: 'compacts the hours of events/ that have closed',
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      // Compacted objects are Parquet: the Glue events table reads them only when it reads Parquet.
      // With format=ndjson the function is there for erasure requests, and the schedule waits.
      enabled: config.format === 'parquet',
      target: new targets.LambdaInvoke(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 2,
        role: invoker,
      }),
    });
  }

  /**
   * Reading, writing and listing the landed layout (compaction, the list of forgotten users), and
   * deleting under `events/` only: compaction's inputs and objects emptied by an erasure.
   */
  private grantLanding(bucket: s3.Bucket, prefix: string): void {
    bucket.grants.actionsOnObjectKeys(this.function, `${prefix}*`, 's3:GetObject', 's3:PutObject');
    bucket.grants.actionsOnObjectKeys(this.function, `${prefix}events/*`, 's3:DeleteObject');
    iam.Grant.addToPrincipal({
      grantee: this.function,
      actions: ['s3:ListBucket'],
      resourceArns: [bucket.bucketArn],
    });
    const bucketId = Stack.of(this).resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    for (const pattern of [`${prefix}*`, `${prefix}events/*`]) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${pattern}]`,
        reason:
          'Object keys are made per batch and per compacted hour, so they can only be named by a pattern; deletion is granted under events/ only.',
      });
    }
  }
}
