import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aws,
  aws_athena as athena,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_lambda_event_sources as eventSources,
  aws_glue as glue,
  aws_iam as iam,
  aws_kinesis as kinesis,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_s3 as s3,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from '../src/core/errors.js';
import {
  type ActivityStackConfig,
  type ActivityStackInput,
  QUERY_RESULTS_PREFIX,
  resolveStackConfig,
  snakeCase,
} from './config.js';
import { ERROR_COLUMNS, eventColumns, landedTableInput } from './query-tables.js';

/** Where `npm run build` writes the consumer bundle. */
export const DEFAULT_LAMBDA_DIR = fileURLToPath(new URL('../dist/lambda/', import.meta.url));

export interface ActivityStackProps extends StackProps {
  /** The stack's settings; absent ones take their defaults (see `CONFIG_FIELDS`). */
  config?: ActivityStackInput;
  /** The folder holding the consumer bundle `index.mjs`; `dist/lambda/` unless given. */
  lambdaDir?: string;
}

const STORAGE_CLASSES: Record<ActivityStackConfig['transitionStorageClass'], s3.StorageClass> = {
  STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
  INTELLIGENT_TIERING: s3.StorageClass.INTELLIGENT_TIERING,
  GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
};

const RUNTIMES: Record<ActivityStackConfig['runtime'], lambda.Runtime> = {
  'nodejs22.x': lambda.Runtime.NODEJS_22_X,
  'nodejs24.x': lambda.Runtime.NODEJS_24_X,
};

/**
 * The pipeline on AWS: a KMS-encrypted Kinesis stream, the consumer bundle as a Lambda function behind
 * an event source mapping that never drops a batch in silence, an S3 bucket for the landed layout,
 * alarms, and a Glue database with Athena workgroup to query what landed. Environment-agnostic: it
 * synthesizes with no account, region or network.
 */
export class ActivityStack extends Stack {
  readonly config: ActivityStackConfig;
  readonly stream: kinesis.Stream;
  readonly bucket: s3.Bucket;
  readonly consumer: lambda.Function;
  readonly failureQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ActivityStackProps = {}) {
    const config = resolveStackConfig(props.config);
    const lambdaDir = props.lambdaDir ?? DEFAULT_LAMBDA_DIR;
    const bundle = path.join(lambdaDir, 'index.mjs');
    if (!existsSync(bundle)) {
      throw new ConfigError(`the consumer bundle ${bundle} is missing: run npm run build first`);
    }
    super(scope, id, {
      description: 'activity-pipeline: Kinesis stream, Lambda consumer, S3 landing zone, Glue and Athena',
      ...props,
    });
    this.config = config;
    const keepData = !config.removeDataOnDestroy;
    const dataRemoval = keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // One customer-managed key for the stream and the alarm topic: a key costs the same however much
    // it encrypts, and rotating it yearly is free.
    const key = new kms.Key(this, 'Key', {
      description: `${this.stackName}: encrypts the activity stream and its alarm topic`,
      enableKeyRotation: true,
      // The stream it encrypts is deleted with the stack; landed data in S3 does not depend on it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    this.stream = new kinesis.Stream(this, 'Stream', {
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
    Validations.of(this.stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'A customer-managed key lets its key policy, not only IAM, decide who reads the stream; it also encrypts the alarm topic, which CloudWatch cannot publish to under an AWS managed key.',
    });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery supports only S3-managed keys.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(config.accessLogDays) }],
      removalPolicy: dataRemoval,
      autoDeleteObjects: !keepData,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the server access logs of the data bucket; logging it too would recurse.',
    });

    const prefix = config.sinkPrefix === '' ? '' : `${config.sinkPrefix}/`;
    const landedTransitions =
      config.transitionDays > 0
        ? [
            {
              storageClass: STORAGE_CLASSES[config.transitionStorageClass],
              transitionAfter: Duration.days(config.transitionDays),
            },
          ]
        : undefined;
    const landedExpiration = config.expirationDays > 0 ? Duration.days(config.expirationDays) : undefined;
    const landedRules: s3.LifecycleRule[] =
      landedTransitions !== undefined || landedExpiration !== undefined
        ? ['events', 'errors'].map((dataset) => ({
            id: `${dataset}-lifecycle`,
            prefix: `${prefix}${dataset}/`,
            transitions: landedTransitions,
            expiration: landedExpiration,
          }))
        : [];

    this.bucket = new s3.Bucket(this, 'Data', {
      bucketName: config.bucketName,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // S3-managed keys: landed data stays readable by anyone granted the bucket, even after the stack
      // (and its KMS key) is gone, at no cost per request.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        ...landedRules,
        {
          id: 'expire-query-results',
          prefix: `${QUERY_RESULTS_PREFIX}/`,
          expiration: Duration.days(config.queryResultsDays),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: dataRemoval,
      autoDeleteObjects: !keepData,
    });
    const sinkUrl = `s3://${this.bucket.bucketName}/${config.sinkPrefix}`;

    // The event source mapping sends a record of each batch it gives up on here (the shard and the
    // sequence-number range), and the alarm below fires on it: no batch is dropped in silence.
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
    const role = new iam.Role(this, 'ConsumerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'activity consumer: reads the stream, writes the landed layout and its logs',
    });
    logGroup.grantWrite(role);

    this.consumer = new lambda.Function(this, 'Consumer', {
      description: `activity consumer: lands the stream's events in ${config.sinkPrefix || 'the bucket root'}`,
      runtime: RUNTIMES[config.runtime],
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(lambdaDir),
      memorySize: config.memoryMb,
      timeout: Duration.seconds(config.timeoutSeconds),
      role,
      logGroup,
      environment: {
        SINK_URL: sinkUrl,
        // How events land: `ndjson` or `parquet`; the events table below reads that format.
        FORMAT: config.format,
        // The bundle is minified; its source map turns stack traces in the logs back into source lines.
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    if (config.runtime !== 'nodejs24.x') {
      Validations.of(this.consumer).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'The consumer bundle is built for and tested on Node.js 22 (nodejs22.x, a supported runtime); runtime=nodejs24.x selects the newest.',
      });
    }

    // The handler's only S3 calls: PutObject under the prefix, and HeadBucket when it starts, which S3
    // authorizes as s3:ListBucket on the bucket.
    this.bucket.grants.actionsOnObjectKeys(this.consumer, `${prefix}*`, 's3:PutObject');
    iam.Grant.addToPrincipal({
      grantee: this.consumer,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
    });

    // Reading the stream (and decrypting it with the key) is granted by the event source itself;
    // sending failure records is granted by the SQS destination.
    this.consumer.addEventSource(
      new eventSources.KinesisEventSource(this.stream, {
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
    const bucketId = this.resolve((this.bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason:
        'Object-level s3:PutObject is granted on the landed prefix only; object keys are created per batch, so they can only be named by a pattern.',
    });

    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: `${this.stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic: it needs the key for that only.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    if (config.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    }
    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);
    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      return created;
    };
    const fiveMinutes = Duration.minutes(5);
    alarm('IteratorAgeAlarm', {
      alarmDescription: `The consumer is more than ${config.iteratorAgeAlarmSeconds} s behind the stream: records are waiting to land (and expire after ${config.retentionHours} h).`,
      metric: this.consumer.metric('IteratorAge', { statistic: 'Maximum', period: fiveMinutes }),
      threshold: config.iteratorAgeAlarmSeconds * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('ErrorsAlarm', {
      alarmDescription:
        'The consumer threw (it could not start, timed out or failed outside a batch): see its log group.',
      metric: this.consumer.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('FailedBatchesAlarm', {
      alarmDescription:
        'A batch was given up on and recorded in the failed-batches queue: its records are still in the stream until retention ends; re-read them from the sequence numbers in the message.',
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: fiveMinutes,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    const databaseName = config.databaseName ?? snakeCase(this.stackName);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: databaseName, description: `Activity events landed in ${sinkUrl}` },
    });
    const location = (dataset: string) => `s3://${this.bucket.bucketName}/${prefix}${dataset}/`;
    const eventsTable = new glue.CfnTable(this, 'EventsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: landedTableInput({
        name: 'events',
        description: 'Activity events by event time (UTC); may hold duplicates: deduplicate by event_id',
        format: config.format,
        columns: eventColumns(config.format),
        location: location('events'),
        projectionStartDate: config.projectionStartDate,
      }),
    });
    eventsTable.node.addDependency(database);
    const errorsTable = new glue.CfnTable(this, 'ErrorsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: landedTableInput({
        name: 'errors',
        description:
          'Records that did not land as events, by arrival time (UTC), with their bytes and reason',
        // Error lines land as NDJSON gzip whatever the events' format.
        format: 'ndjson',
        columns: ERROR_COLUMNS,
        location: location('errors'),
        projectionStartDate: config.projectionStartDate,
      }),
    });
    errorsTable.node.addDependency(database);

    const workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.stackName,
      description: `Queries over ${sinkUrl}`,
      state: 'ENABLED',
      // Lets `npm run destroy` delete the workgroup even after queries were saved in it.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${QUERY_RESULTS_PREFIX}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    const namedQuery = new athena.CfnNamedQuery(this, 'EventsLastDay', {
      name: 'events by name, last 24 hours',
      description: 'Counts distinct events (by event_id) per event name over the last day',
      database: databaseName,
      workGroup: workGroup.name,
      queryString: [
        'SELECT event, count(DISTINCT event_id) AS events',
        'FROM events',
        "WHERE dt >= date_format(current_date - interval '1' day, '%Y-%m-%d')",
        // In Parquet the times are timestamps; in NDJSON, ISO 8601 text.
        config.format === 'parquet'
          ? '  AND "timestamp" >= current_timestamp - interval \'1\' day'
          : '  AND from_iso8601_timestamp("timestamp") >= current_timestamp - interval \'1\' day',
        'GROUP BY event',
        'ORDER BY events DESC',
      ].join('\n'),
    });
    namedQuery.node.addDependency(workGroup, eventsTable);

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('StreamName', this.stream.streamName, 'Kinesis stream the producers write to');
    output('StreamArn', this.stream.streamArn, 'ARN of the Kinesis stream');
    output('BucketName', this.bucket.bucketName, 'S3 bucket holding the landed layout');
    output('SinkUrl', sinkUrl, 'where events land, as a --sink URL');
    output('FunctionName', this.consumer.functionName, 'the consumer Lambda function');
    output('FailedBatchesQueueUrl', this.failureQueue.queueUrl, 'records of batches the consumer gave up on');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic the alarms notify; subscribe to it');
    output('GlueDatabase', databaseName, 'Glue database with the events and errors tables');
    output('AthenaWorkGroup', workGroup.name, 'Athena workgroup to query them in');
    output('StreamKeyArn', key.keyArn, 'KMS key of the stream: producers need kms:GenerateDataKey on it');
    // A modest rate: an on-demand stream bills per GB, and `produce` alone sends as fast as it is taken.
    output(
      'ProduceCommand',
      `AWS_REGION=${Aws.REGION} npx activity produce --stream kinesis://${this.stream.streamName} --rate 100`,
      'run this to start sending simulated events (Ctrl-C stops)',
    );
  }
}
