import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, aws_sqs as sqs } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityStack } from '../../infra/activity-stack.js';
import { ConfigError } from '../../src/core/errors.js';
import { EVENT_PARQUET_SCHEMA } from '../../src/sink/formats/parquet.js';
import { cleanUpSynths, ROOT, type Synthesized, synth } from './synth.js';

/** The protocols' sent columns (Segment's, Snowplow's), the same in both formats: all text. */
const SENT_COLUMNS = [
  'anonymous_id',
  'traits',
  'group_id',
  'previous_id',
  'integrations',
  'event_schema',
  'contexts',
].map((name) => [name, 'string']);

/** The enrichment columns, the same in both formats: text, and `is_bot` a boolean. */
const ENRICHMENT_COLUMNS = [
  'browser',
  'browser_version',
  'os',
  'device_type',
  'is_bot',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'referrer_host',
  'referrer_medium',
].map((name) => [name, name === 'is_bot' ? 'boolean' : 'string']);

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

function only(template: Template, type: string, props?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found, `one ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

function logicalId(template: Template, type: string, props?: Record<string, unknown>): string {
  return only(template, type, props)[0];
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's partition projection placeholders
const DT_HOUR = 'dt=${dt}/hour=${hour}/';

const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });

/** The consumer: the function told how events land (the lifecycle function and others are not). */
const CONSUMER = { Environment: { Variables: Match.objectLike({ FORMAT: Match.anyValue() }) } };

/** The consumer's log group, as its function names it. */
function consumerLogGroup(template: Template): string {
  const [, fn] = only(template, 'AWS::Lambda::Function', CONSUMER);
  return (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
}

/** The Glue table named `name`, as `TableInput` with its storage descriptor and parameters. */
function table(template: Template, name: string) {
  const [, resource] = only(template, 'AWS::Glue::Table', { TableInput: Match.objectLike({ Name: name }) });
  return resource.Properties.TableInput as {
    Parameters: Record<string, unknown>;
    StorageDescriptor: Record<string, unknown> & { Columns: { Name: string; Type: string }[] };
  };
}

const columnTypes = (input: ReturnType<typeof table>) =>
  input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type]);

/** Every IAM statement of every policy in the template, with the policy's logical id. */
function statements(template: Template): { policy: string; Action: string | string[]; Resource: unknown }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map(
      (s) => ({ policy, ...s }),
    ),
  );
}

let main: Synthesized;
let variant: Synthesized;
let t: Template;
let ids: { bucket: string; stream: string; key: string; queue: string; fn: string; topic: string };

beforeAll(() => {
  // One synthesis with the defaults, and one with every setting changed: the stack's two shapes.
  main = synth();
  variant = synth({
    stackName: 'ActivityTest',
    streamMode: 'provisioned',
    shardCount: '3',
    retentionHours: '48',
    sinkPrefix: 'landing/zone',
    transitionDays: 90,
    transitionStorageClass: 'GLACIER_IR',
    expirationDays: '400',
    removeDataOnDestroy: 'true',
    runtime: 'nodejs24.x',
    batchSize: 500,
    batchWindowSeconds: 5,
    retryAttempts: 3,
    maxRecordAgeSeconds: 3600,
    parallelizationFactor: 2,
    iteratorAgeAlarmSeconds: 120,
    alarmEmail: 'ops@example.com',
    databaseName: 'clicks',
    projectionStartDate: '2025-06-01',
    format: 'parquet',
  });
  t = main.template;
  ids = {
    bucket: logicalId(t, 'AWS::S3::Bucket', { LoggingConfiguration: Match.anyValue() }),
    stream: logicalId(t, 'AWS::Kinesis::Stream'),
    key: logicalId(t, 'AWS::KMS::Key'),
    queue: logicalId(t, 'AWS::SQS::Queue'),
    fn: logicalId(t, 'AWS::Lambda::Function', CONSUMER),
    topic: logicalId(t, 'AWS::SNS::Topic'),
  };
});

afterAll(cleanUpSynths);

describe('synthesis', () => {
  it('succeeds offline for both shapes, and no validation plugin (cdk-nag, CloudFormation) reports anything', () => {
    expect(main.error).toBeUndefined();
    expect(main.findings).toEqual([]);
    expect(variant.error).toBeUndefined();
    expect(variant.findings).toEqual([]);
  });

  it('is environment-agnostic: no account or region is written into the template', () => {
    expect(main.stack.environment).toBe('aws://unknown-account/unknown-region');
    const text = JSON.stringify(t.toJSON());
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).not.toMatch(
      /\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|northeast|southeast)-\d\b/,
    );
  });

  it('cdk-nag catches what it should: an unencrypted, TLS-optional queue added to the stack stops synthesis', () => {
    const bad = synth({}, (stack) => new sqs.Queue(stack, 'Unchecked'));
    expect(bad.error?.message).toMatch(/AwsSolutions-SQS4/);
    const nag = bad.findings.filter((f) => f.plugin === 'AwsSolutions');
    expect(nag.map((f) => f.rule).sort()).toEqual(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']);
    expect(nag.flatMap((f) => f.paths)).toEqual([
      'ActivityPipeline/Unchecked/Resource',
      'ActivityPipeline/Unchecked/Resource',
    ]);
  });

  it('every acknowledged cdk-nag rule carries a reason', () => {
    const acknowledged = main.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id, reason })),
      );
    // Acknowledgments are recorded under a namespace (`Annotation::`): compare the rule ids.
    // The consumer's and the lifecycle function's (which may also delete under events/, and be invoked
    // by its schedule), and the collector's (a public endpoint checking its own write key; its runtime; a
    // write key that clients hold, rotated by a planned change).
    expect(acknowledged.map((a) => a.id.replace(/^\w+::/, '')).sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::<Data666C94C7.Arn>/activity/*]',
      'AwsSolutions-IAM5[Resource::<Data666C94C7.Arn>/activity/*]',
      'AwsSolutions-IAM5[Resource::<Data666C94C7.Arn>/activity/_forgotten/*]',
      'AwsSolutions-IAM5[Resource::<Data666C94C7.Arn>/activity/events/*]',
      'AwsSolutions-IAM5[Resource::<Lifecycle5C7F7473.Arn>:*]',
      'AwsSolutions-KDS3',
      'AwsSolutions-L1',
      'AwsSolutions-L1',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
    for (const a of acknowledged) expect(a.reason.length, a.id).toBeGreaterThan(40);
  });

  it('refuses to synthesize without the consumer bundle, and says how to build it', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'activity-nobundle-'));
    try {
      const make = () => new ActivityStack(new App(), 'NoBundle', { lambdaDir: empty });
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(
        `the consumer bundle ${path.join(empty, 'index.mjs')} is missing: run npm run build first`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses to synthesize with a format the consumer cannot land, naming the value', () => {
    expect(() => synth({ format: 'csv' })).toThrow(ConfigError);
    expect(() => synth({ format: 'csv' })).toThrow('format must be one of ndjson, parquet (given "csv")');
  });
});

describe('the stream', () => {
  it('is on-demand by default, KMS-encrypted with a rotated customer key, keeping records 24 h', () => {
    const [, stream] = only(t, 'AWS::Kinesis::Stream');
    expect(stream.Properties).toEqual({
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: getAtt(ids.key) },
      RetentionPeriodHours: 24,
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('is provisioned with the shard count and retention given', () => {
    variant.template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 3,
      RetentionPeriodHours: 48,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: Match.anyValue() },
    });
  });
});

describe('the bucket', () => {
  it('blocks public access, encrypts, and denies any request without TLS 1.2', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  it('moves landed objects to Standard-IA after 30 days, never deletes them, and keeps query results 30 days', () => {
    const [, bucket] = only(t, 'AWS::S3::Bucket', { LoggingConfiguration: Match.anyValue() });
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual([
      {
        Id: 'events-lifecycle',
        Prefix: 'activity/events/',
        Status: 'Enabled',
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      },
      {
        Id: 'errors-lifecycle',
        Prefix: 'activity/errors/',
        Status: 'Enabled',
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      },
      { Id: 'expire-query-results', Prefix: 'athena-results/', Status: 'Enabled', ExpirationInDays: 30 },
      {
        Id: 'abort-incomplete-uploads',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ]);
  });

  it('takes the transition and expiry given', () => {
    variant.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          {
            Id: 'events-lifecycle',
            Prefix: 'landing/zone/events/',
            Status: 'Enabled',
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
            ExpirationInDays: 400,
          },
        ]),
      },
    });
  });

  it('keeps both buckets and their data when the stack is destroyed, unless removeDataOnDestroy', () => {
    const buckets = Object.values(t.findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(2);
    for (const b of buckets) expect([b.DeletionPolicy, b.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 0);

    const opted = Object.values(variant.template.findResources('AWS::S3::Bucket'));
    for (const b of opted) expect(b.DeletionPolicy).toBe('Delete');
    variant.template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });

  it('sends its server access logs to a second bucket that also blocks public access and requires TLS', () => {
    const [logsId, logs] = only(t, 'AWS::S3::Bucket', { LoggingConfiguration: Match.absent() });
    expect(logs.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'data/' },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('the consumer', () => {
  it('runs the bundle from dist/lambda on Node.js 22 or newer, arm64, with SINK_URL naming the bucket and FORMAT how events land', () => {
    const [, fn] = only(t, 'AWS::Lambda::Function', CONSUMER);
    expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 120,
      Environment: {
        Variables: {
          SINK_URL: { 'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, '/activity']] },
          FORMAT: 'ndjson',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    expect(Object.keys((fn.Properties.Environment as { Variables: object }).Variables)).toHaveLength(3);
    variant.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: {
          SINK_URL: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/landing/zone']] },
          FORMAT: 'parquet',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('ships exactly the index.mjs that npm run build wrote', () => {
    const [, fn] = only(t, 'AWS::Lambda::Function', CONSUMER);
    const key = (fn.Properties.Code as { S3Key: string }).S3Key;
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    // The assembly stages the asset as asset.<hash>/, the folder the CLI zips and uploads as <hash>.zip.
    const staged = path.join(main.outdir, `asset.${key.replace('.zip', '')}`);
    expect(readdirSync(staged)).toContain('index.mjs');
    const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(digest(path.join(staged, 'index.mjs'))).toBe(digest(path.join(ROOT, 'dist/lambda/index.mjs')));
  });

  it('reads the stream from TRIM_HORIZON, reports item failures, bisects, retries finitely, and records what it gives up on', () => {
    const [, mapping] = only(t, 'AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties).toEqual({
      EventSourceArn: getAtt(ids.stream),
      FunctionName: { Ref: ids.fn },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 20,
      MaximumRecordAgeInSeconds: 86_400,
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: getAtt(ids.queue) } },
    });
  });

  it('takes batch size, window, retries, record age and parallelization as settings', () => {
    variant.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      StartingPosition: 'TRIM_HORIZON',
    });
  });

  it('records failed batches in an encrypted, TLS-only queue kept 14 days', () => {
    const [, queue] = only(t, 'AWS::SQS::Queue');
    expect(queue.Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ],
      },
    });
  });
});

describe('least privilege', () => {
  it('no IAM policy anywhere in the stack grants a wildcard action', () => {
    for (const synthesized of [main, variant]) {
      for (const s of statements(synthesized.template)) {
        for (const action of [s.Action].flat()) expect(action, s.policy).not.toContain('*');
      }
    }
  });

  /** The statements granted to the consumer's role, which has no managed policy. */
  function consumerGrants(template: Template) {
    // The function with SINK_URL: the variant also has the bucket auto-delete function, with its own role.
    const [, fn] = only(template, 'AWS::Lambda::Function', CONSUMER);
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = template.toJSON().Resources[roleId] as Resource;
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' } })],
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    return statements(template)
      .filter((s) => {
        const roles = template.findResources('AWS::IAM::Policy')[s.policy]?.Properties.Roles;
        return JSON.stringify(roles) === JSON.stringify([{ Ref: roleId }]);
      })
      .map(({ Action, Resource }) => ({ Action, Resource }));
  }

  it('the consumer may put objects under the prefix, read the list of forgotten users, list the bucket, read the stream, decrypt with its key, send failure records and write its own logs: nothing else', () => {
    const granted = consumerGrants(t);
    expect(granted).toEqual(
      expect.arrayContaining([
        { Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [getAtt(ids.bucket), '/activity/*']] } },
        {
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', [getAtt(ids.bucket), '/activity/_forgotten/*']] },
        },
        { Action: 's3:ListBucket', Resource: getAtt(ids.bucket) },
        { Action: 'kms:Decrypt', Resource: getAtt(ids.key) },
        {
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: getAtt(ids.queue),
        },
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: getAtt(consumerLogGroup(t)),
        },
      ]),
    );
    expect(granted).toHaveLength(7);
    const kinesis = granted.find((s) => JSON.stringify(s.Action).includes('kinesis:'));
    expect(kinesis?.Resource).toEqual(getAtt(ids.stream));
    expect(kinesis?.Action).toEqual(
      expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator']),
    );
    expect(JSON.stringify(kinesis?.Action)).not.toMatch(/Put|Delete|Create|Update/);
  });

  it('landing Parquet grants the consumer nothing more: it never deletes (activity compact does, with its own credentials)', () => {
    const parquet = consumerGrants(variant.template);
    expect(parquet).toHaveLength(7);
    expect(parquet.flatMap((s) => [s.Action].flat())).toEqual(
      consumerGrants(t).flatMap((s) => [s.Action].flat()),
    );
    for (const granted of [consumerGrants(t), parquet]) {
      expect(JSON.stringify(granted.map((s) => s.Action))).not.toMatch(/s3:Delete/);
    }
  });

  it('the consumer writes its logs to its own log group, kept 30 days', () => {
    const logGroup = consumerLogGroup(t);
    expect(t.toJSON().Resources[logGroup].Properties.RetentionInDays).toBe(30);
  });
});

describe('alarms', () => {
  const alarmOn = (metric: string) => {
    const [, alarm] = only(t, 'AWS::CloudWatch::Alarm', { MetricName: metric });
    return alarm.Properties;
  };

  it('fire on iterator age, on function errors and on anything in the failed-batches queue, notifying the topic', () => {
    expect(alarmOn('IteratorAge')).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.fn } }],
      Statistic: 'Maximum',
      Threshold: 600_000,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: ids.topic }],
    });
    expect(alarmOn('Errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.fn } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: ids.topic }],
    });
    expect(alarmOn('ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(ids.queue, 'QueueName') }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: ids.topic }],
    });
    // And the collector's three (see collector.test.ts).
    t.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('notify an encrypted topic CloudWatch may publish to, and the e-mail address given', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: getAtt(ids.key) });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    variant.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    variant.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 120_000,
    });
  });
});

describe('query', () => {
  const events = () => only(t, 'AWS::Glue::Table', { TableInput: Match.objectLike({ Name: 'events' }) })[1];

  it('creates a Glue database named after the stack, or as given', () => {
    t.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: Match.objectLike({ Name: 'activity_pipeline' }),
    });
    variant.template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'clicks' }),
    });
  });

  it('reads events/ as gzip NDJSON with the OpenX JSON SerDe and the landed event columns', () => {
    const input = events().Properties.TableInput as Record<string, Record<string, unknown>>;
    expect(events().Properties.DatabaseName).toBe('activity_pipeline');
    expect(input.StorageDescriptor).toMatchObject({
      Location: { 'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, '/activity/events/']] },
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      Compressed: true,
      SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    });
    expect(input.Parameters).toMatchObject({ classification: 'json', compressionType: 'gzip' });
    const columns = (input.StorageDescriptor?.Columns as { Name: string; Type: string }[] | undefined)?.map(
      (c) => [c.Name, c.Type],
    );
    expect(columns).toEqual([
      ['event_id', 'string'],
      ['user_id', 'string'],
      ['event', 'string'],
      ['timestamp', 'string'],
      ['received_at', 'string'],
      ['session_id', 'string'],
      ['sent_at', 'string'],
      ['original_timestamp', 'string'],
      ['properties', 'string'],
      ['context', 'string'],
      ...SENT_COLUMNS,
      ...ENRICHMENT_COLUMNS,
    ]);
    expect(input.PartitionKeys).toEqual([
      expect.objectContaining({ Name: 'dt', Type: 'string' }),
      expect.objectContaining({ Name: 'hour', Type: 'int' }),
    ]);
  });

  it('projects dt and hour partitions over the landed layout, so no crawler is needed', () => {
    const input = events().Properties.TableInput as { Parameters: Record<string, unknown> };
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': '2024-01-01,NOW',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'storage.location.template': {
        'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, `/activity/events/${DT_HOUR}`]],
      },
    });
    variant.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'events',
        Parameters: Match.objectLike({
          'projection.dt.range': '2025-06-01,NOW',
          'storage.location.template': {
            'Fn::Join': ['', ['s3://', Match.anyValue(), `/landing/zone/events/${DT_HOUR}`]],
          },
        }),
      }),
    });
  });

  it('has an errors table over errors/ with the error-line columns', () => {
    const [, errors] = only(t, 'AWS::Glue::Table', { TableInput: Match.objectLike({ Name: 'errors' }) });
    const input = errors.Properties.TableInput as {
      Parameters: Record<string, unknown>;
      StorageDescriptor: { Columns: { Name: string }[] };
    };
    expect(input.StorageDescriptor.Columns.map((c) => c.Name)).toEqual([
      'reason',
      'message',
      'shard_id',
      'sequence_number',
      'sub_sequence_number',
      'partition_key',
      'approximate_arrival_timestamp',
      'event_source_arn',
      'data',
    ]);
    expect(input.Parameters['storage.location.template']).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, `/activity/errors/${DT_HOUR}`]],
    });
  });

  it('with format=parquet, reads events/ with the Parquet SerDe, the four times typed timestamp', () => {
    const input = table(variant.template, 'events');
    expect(input.StorageDescriptor).toMatchObject({
      Location: { 'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, '/landing/zone/events/']] },
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      Compressed: false,
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    });
    expect(columnTypes(input)).toEqual([
      ['event_id', 'string'],
      ['user_id', 'string'],
      ['event', 'string'],
      ['timestamp', 'timestamp'],
      ['received_at', 'timestamp'],
      ['session_id', 'string'],
      ['sent_at', 'timestamp'],
      ['original_timestamp', 'timestamp'],
      ['properties', 'string'],
      ['context', 'string'],
      ...SENT_COLUMNS,
      ...ENRICHMENT_COLUMNS,
    ]);
    expect(input.Parameters.classification).toBe('parquet');
    expect(input.Parameters.compressionType).toBeUndefined();
    expect((input as unknown as { PartitionKeys: unknown }).PartitionKeys).toEqual(
      (events().Properties.TableInput as { PartitionKeys: unknown }).PartitionKeys,
    );
  });

  it('types the Parquet table as the consumer writes its objects: the same columns, times as timestamps, text as string', () => {
    // Every column of the writer's schema, in order, typed as Athena reads its physical and logical type.
    const athenaType = (column: (typeof EVENT_PARQUET_SCHEMA)[number]) => {
      if (column.type === 'INT64' && column.logical_type?.type === 'TIMESTAMP') {
        expect(column.logical_type).toEqual({ type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' });
        return 'timestamp';
      }
      if (column.type === 'BOOLEAN') return 'boolean';
      return column.type === 'BYTE_ARRAY' ? 'string' : `no mapping for ${column.type}`;
    };
    const written = EVENT_PARQUET_SCHEMA.slice(1).map((column) => [column.name, athenaType(column)]);
    expect(written).toHaveLength(10 + SENT_COLUMNS.length + ENRICHMENT_COLUMNS.length);
    expect(columnTypes(table(variant.template, 'events'))).toEqual(written);
    // The NDJSON table has the same names in the same order: only the types of the times differ.
    expect(columnTypes(table(t, 'events')).map(([name]) => name)).toEqual(written.map(([name]) => name));
  });

  it('keeps the same partition projection with format=parquet', () => {
    // The defaults' events table with only the range and location the variant changes.
    const projection = (input: ReturnType<typeof table>) =>
      Object.fromEntries(Object.entries(input.Parameters).filter(([key]) => key.startsWith('projection.')));
    expect(projection(table(variant.template, 'events'))).toEqual({
      ...projection(table(t, 'events')),
      'projection.dt.range': '2025-06-01,NOW',
    });
    expect(table(variant.template, 'events').Parameters['storage.location.template']).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, `/landing/zone/events/${DT_HOUR}`]],
    });
  });

  it('keeps the errors table on gzip NDJSON with the JSON SerDe whatever the format', () => {
    for (const template of [t, variant.template]) {
      const input = table(template, 'errors');
      expect(input.StorageDescriptor).toMatchObject({
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        Compressed: true,
        SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
      });
      expect(input.Parameters).toMatchObject({ classification: 'json', compressionType: 'gzip' });
      // Text, but for the one number an error line holds: a user record's place in its KPL aggregate.
      for (const [name, type] of columnTypes(input))
        expect(type, name).toBe(name === 'sub_sequence_number' ? 'int' : 'string');
    }
  });

  it('saves a last-day query that reads the times as each format stores them', () => {
    const query = (template: Template) =>
      only(template, 'AWS::Athena::NamedQuery')[1].Properties.QueryString as string;
    expect(query(t)).toContain(
      'AND from_iso8601_timestamp("timestamp") >= current_timestamp - interval \'1\' day',
    );
    expect(query(variant.template)).toContain('AND "timestamp" >= current_timestamp - interval \'1\' day');
    expect(query(variant.template)).not.toContain('from_iso8601_timestamp');
  });

  it('has an Athena workgroup that enforces an encrypted result location in the bucket', () => {
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'ActivityPipeline',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: ids.bucket }, '/athena-results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
    variant.template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'ActivityTest' });
  });
});

describe('outputs', () => {
  it('name the stream, its ARN, the bucket, the function, and the command that starts sending', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.StreamName?.Value).toEqual({ Ref: ids.stream });
    expect(outputs.StreamArn?.Value).toEqual(getAtt(ids.stream));
    expect(outputs.BucketName?.Value).toEqual({ Ref: ids.bucket });
    expect(outputs.FunctionName?.Value).toEqual({ Ref: ids.fn });
    expect(outputs.StreamKeyArn?.Value).toEqual(getAtt(ids.key));
    expect(outputs.ProduceCommand?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'AWS_REGION=',
          { Ref: 'AWS::Region' },
          ' npx activity produce --stream kinesis://',
          { Ref: ids.stream },
          ' --rate 100',
        ],
      ],
    });
  });
});
