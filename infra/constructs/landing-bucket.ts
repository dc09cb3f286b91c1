import { Duration, RemovalPolicy, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ActivityStackConfig, QUERY_RESULTS_PREFIX } from '../config.js';
import { StackPart } from './stack-part.js';

const STORAGE_CLASSES: Record<ActivityStackConfig['transitionStorageClass'], s3.StorageClass> = {
  STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
  INTELLIGENT_TIERING: s3.StorageClass.INTELLIGENT_TIERING,
  GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
};

export interface LandingBucketProps {
  config: ActivityStackConfig;
}

/**
 * The bucket the consumer lands `events/` and `errors/` in, under the configured prefix, with lifecycle
 * rules for them and for Athena's results, and a second bucket for its server access logs. Both block
 * public access, require TLS and are kept when the stack is destroyed unless `removeDataOnDestroy`.
 */
export class LandingBucket extends StackPart {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  /** The landed prefix with its trailing `/`, or `''` for the bucket root. */
  readonly prefix: string;
  /** Where events land, as a `--sink` URL. */
  readonly sinkUrl: string;

  constructor(scope: Construct, id: string, { config }: LandingBucketProps) {
    super(scope, id);
    const keepData = !config.removeDataOnDestroy;
    const dataRemoval = keepData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery supports only S3-managed keys.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(config.accessLogDays) }],
      removalPolicy: dataRemoval,
      autoDeleteObjects: !keepData,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the server access logs of the data bucket; logging it too would recurse.',
    });

    this.prefix = config.sinkPrefix === '' ? '' : `${config.sinkPrefix}/`;
    this.bucket = new s3.Bucket(this, 'Data', {
      bucketName: config.bucketName,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // S3-managed keys: landed data stays readable by anyone granted the bucket, even after the stack
      // (and its KMS key) is gone, at no cost per request.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        ...landedRules(config, this.prefix),
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
    this.sinkUrl = `s3://${this.bucket.bucketName}/${config.sinkPrefix}`;
  }

  /** `s3://bucket/prefix/<dataset>/`, as Glue and Athena name a dataset's location. */
  datasetLocation(dataset: string): string {
    return `s3://${this.bucket.bucketName}/${this.prefix}${dataset}/`;
  }
}

/** The transition and expiry of landed objects, one rule per dataset; none when both are off. */
function landedRules(config: ActivityStackConfig, prefix: string): s3.LifecycleRule[] {
  const transitions =
    config.transitionDays > 0
      ? [
          {
            storageClass: STORAGE_CLASSES[config.transitionStorageClass],
            transitionAfter: Duration.days(config.transitionDays),
          },
        ]
      : undefined;
  const expiration = config.expirationDays > 0 ? Duration.days(config.expirationDays) : undefined;
  if (transitions === undefined && expiration === undefined) return [];
  return ['events', 'errors'].map((dataset) => ({
    id: `${dataset}-lifecycle`,
    prefix: `${prefix}${dataset}/`,
    transitions,
    expiration,
  }));
}
