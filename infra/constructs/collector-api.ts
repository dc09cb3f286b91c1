import {
  aws_certificatemanager as acm,
  aws_apigatewayv2 as apigateway,
  Duration,
  aws_iam as iam,
  aws_apigatewayv2_integrations as integrations,
  type aws_kinesis as kinesis,
  type aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_secretsmanager as secretsmanager,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ActivityStackConfig } from '../config.js';
import { StackPart } from './stack-part.js';

/** Segment's HTTP Tracking API: the calls, the batch, and the browser library's short paths. */
const SEGMENT_PATHS = [
  'track',
  'identify',
  'page',
  'screen',
  'group',
  'alias',
  'batch',
  'import',
  't',
  'i',
  'p',
  's',
  'g',
  'a',
  'b',
].map((call) => `/v1/${call}`);

/**
 * The paths API Gateway sends to the function: the ingest routes of every protocol (their CORS
 * preflights included), the tracker script, and the health check. Each takes any method, so a wrong
 * one gets the collector's own answer; every other path is API Gateway's 404. The dashboard and
 * `/metrics` stay local: on Lambda each execution environment would show only its own requests.
 */
export const COLLECTOR_PATHS: readonly string[] = [
  '/v1/events',
  ...SEGMENT_PATHS,
  '/com.snowplowanalytics.snowplow/tp2',
  '/i',
  '/tracker.js',
  '/healthz',
];

/** What a record may wait for Kinesis before its request is answered 429; the function's timeout is longer. */
const PUT_TIMEOUT_MS = 3_000;
const TIMEOUT = Duration.seconds(10);

export interface CollectorApiProps {
  config: ActivityStackConfig;
  stream: kinesis.Stream;
  /** The stream's key: putting records needs `kms:GenerateDataKey` on it. */
  key: kms.Key;
  /** The folder holding the collector bundle: `index.mjs` and `assets/`. */
  collectorDir: string;
}

/**
 * The HTTP collector on AWS: the collector bundle (the same app as `activity collect`) as a Lambda
 * function behind an API Gateway HTTP API with throttling, access logs and an optional custom domain.
 * The write key lives in Secrets Manager; the function's environment holds only the secret's ARN. Its
 * role may only put records on the stream (with the stream key), read that secret, and write its logs.
 */
export class CollectorApi extends StackPart {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly api: apigateway.HttpApi;
  readonly stage: apigateway.HttpStage;
  readonly writeKey: secretsmanager.ISecret;
  /** `https://…` with no trailing slash: the custom domain when set, else the API's own. */
  readonly url: string;
  readonly domainName: apigateway.DomainName | undefined;

  constructor(scope: Construct, id: string, { config, stream, key, collectorDir }: CollectorApiProps) {
    super(scope, id);
    this.writeKey = this.createWriteKey(config);

    const logGroup = new logs.LogGroup(this, 'CollectorLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'CollectorRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'activity collector: puts records on the stream, reads its write key, writes its logs',
    });
    logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Collector', {
      description:
        'activity collector: our API, Segment and Snowplow protocols and the tracker, onto the stream',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(collectorDir),
      memorySize: config.collectorMemoryMb,
      timeout: TIMEOUT,
      role: this.role,
      logGroup,
      environment: {
        STREAM_NAME: stream.streamName,
        WRITE_KEY_SECRET_ARN: this.writeKey.secretArn,
        CORS_ORIGINS: config.collectorCorsOrigins.join(','),
        MAX_BODY_BYTES: String(config.collectorMaxBodyBytes),
        SEGMENT_MAX_MESSAGE_BYTES: String(config.collectorSegmentMaxMessageBytes),
        SEGMENT_MAX_BATCH_BYTES: String(config.collectorSegmentMaxBatchBytes),
        CLIENT_IP: config.collectorClientIp,
        PUT_TIMEOUT_MS: String(PUT_TIMEOUT_MS),
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The collector bundle is built for and tested on Node.js 22 (nodejs22.x, a supported runtime).',
    });
    this.grant(stream, key);

    this.api = new apigateway.HttpApi(this, 'CollectorApi', {
      description: 'activity collector: browsers and SDKs send events here',
      createDefaultStage: false,
      // CORS is answered by the function, per route, as locally: Snowplow's routes need credentials.
    });
    const integration = new integrations.HttpLambdaIntegration('Collector', this.function, {
      payloadFormatVersion: apigateway.PayloadFormatVersion.VERSION_2_0,
    });
    for (const path of COLLECTOR_PATHS) {
      this.api.addRoutes({ path, methods: [apigateway.HttpMethod.ANY], integration });
    }
    this.domainName = this.createDomain(config);
    this.stage = this.createStage(config);
    this.url =
      this.domainName === undefined
        ? this.stage.url.replace(/\/$/, '')
        : `https://${config.collectorDomainName}`;
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'A public ingestion endpoint, like Segment’s and Snowplow’s: browsers and SDKs send a write key, which the function checks (401 otherwise).',
    });
  }

  /** The secret holding the write key: the one given, or a new one with a generated key. */
  private createWriteKey(config: ActivityStackConfig): secretsmanager.ISecret {
    const given = config.collectorWriteKeySecretArn;
    if (given !== undefined) {
      return /-[A-Za-z0-9]{6}$/.test(given)
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'WriteKey', given)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'WriteKey', given);
    }
    const secret = new secretsmanager.Secret(this, 'WriteKey', {
      description: `${Stack.of(this).stackName}: the collector's write key (browsers and SDKs send it)`,
      generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The write key is in every instrumented page and app; rotating it is a planned change of those clients, done by putting a new value (the function reads it when it starts).',
    });
    return secret;
  }

  /** The function's only grants beyond its logs: PutRecords on the stream, its key to encrypt, the secret. */
  private grant(stream: kinesis.Stream, key: kms.Key): void {
    iam.Grant.addToPrincipal({
      grantee: this.function,
      actions: ['kinesis:PutRecords'],
      resourceArns: [stream.streamArn],
    });
    // Kinesis encrypts each record with a data key from the stream's key, asked for as the producer.
    iam.Grant.addToPrincipal({
      grantee: this.function,
      actions: ['kms:GenerateDataKey'],
      resourceArns: [key.keyArn],
    });
    // A secret known by a partial ARN (no random suffix) is matched with Secrets Manager's own pattern.
    const secret = this.writeKey;
    iam.Grant.addToPrincipal({
      grantee: this.function,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    });
  }

  private createDomain(config: ActivityStackConfig): apigateway.DomainName | undefined {
    if (config.collectorDomainName === undefined || config.collectorCertificateArn === undefined)
      return undefined;
    return new apigateway.DomainName(this, 'CollectorDomain', {
      domainName: config.collectorDomainName,
      certificate: acm.Certificate.fromCertificateArn(
        this,
        'CollectorCertificate',
        config.collectorCertificateArn,
      ),
    });
  }

  /** The one stage: throttled, access-logged, mapped to the custom domain when there is one. */
  private createStage(config: ActivityStackConfig): apigateway.HttpStage {
    const accessLogs = new logs.LogGroup(this, 'CollectorAccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new apigateway.HttpStage(this, 'CollectorStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.collectorRateLimit, burstLimit: config.collectorBurstLimit },
      accessLogSettings: { destination: new apigateway.LogGroupLogDestination(accessLogs) },
      ...(this.domainName === undefined ? {} : { domainMapping: { domainName: this.domainName } }),
    });
  }
}
