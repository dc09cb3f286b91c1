import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_iam as iam,
  type aws_kms as kms,
  type aws_lambda as lambda,
  Stack,
  aws_sns as sns,
  type aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE, METRICS_DIMENSION } from '../../src/consumer/metrics.js';
import type { ActivityStackConfig } from '../config.js';
import type { CollectorApi } from './collector-api.js';
import { StackPart } from './stack-part.js';

export interface PipelineAlarmsProps {
  config: ActivityStackConfig;
  /** Encrypts the alarm topic. */
  key: kms.Key;
  consumer: lambda.Function;
  failureQueue: sqs.Queue;
  /** The HTTP collector, when deployed: alarms on its server errors and throttling. */
  collector?: CollectorApi | undefined;
}

/**
 * Alarms on what needs a person: the consumer falling behind, the consumer failing, and a batch given up
 * on. Each notifies an encrypted SNS topic, when it fires and when it clears, and the e-mail address
 * given subscribes to it.
 */
export class PipelineAlarms extends StackPart {
  readonly topic: sns.Topic;

  constructor(
    scope: Construct,
    id: string,
    { config, key, consumer, failureQueue, collector }: PipelineAlarmsProps,
  ) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: `${Stack.of(this).stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic: it needs the key for that only.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    if (config.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    }

    const fiveMinutes = Duration.minutes(5);
    this.alarm('IteratorAgeAlarm', {
      alarmDescription: `The consumer is more than ${config.iteratorAgeAlarmSeconds} s behind the stream: records are waiting to land (and expire after ${config.retentionHours} h).`,
      metric: consumer.metric('IteratorAge', { statistic: 'Maximum', period: fiveMinutes }),
      threshold: config.iteratorAgeAlarmSeconds * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.alarm('ErrorsAlarm', {
      alarmDescription:
        'The consumer threw (it could not start, timed out or failed outside a batch): see its log group.',
      metric: consumer.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.alarm('FailedBatchesAlarm', {
      alarmDescription:
        'A batch was given up on and recorded in the failed-batches queue: its records are still in the stream until retention ends; re-read them from the sequence numbers in the message.',
      metric: failureQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: fiveMinutes,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    if (collector !== undefined) this.collectorAlarms(collector, fiveMinutes);
  }

  /**
   * The collector answering 5xx (the function failed or timed out), and requests it could not take: 429s
   * because Kinesis throttled (from the function's EMF line), and Lambda refusing invocations for
   * want of concurrency (API Gateway answers those 5xx too).
   */
  private collectorAlarms(collector: CollectorApi, period: Duration): void {
    const atLeastOnce = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    };
    this.alarm('CollectorServerErrorsAlarm', {
      alarmDescription:
        'The collector answered 5xx: senders retry, but see the collector function’s log group and its errors.',
      metric: collector.api.metricServerError({ statistic: 'Sum', period }),
      ...atLeastOnce,
    });
    this.alarm('CollectorThrottledAlarm', {
      alarmDescription:
        'The collector answered 429 because Kinesis throttled its puts: senders back off and retry; add shards (or use on-demand) if it persists.',
      metric: new cloudwatch.Metric({
        namespace: DEFAULT_METRICS_NAMESPACE,
        metricName: 'Throttled',
        dimensionsMap: { [METRICS_DIMENSION]: collector.function.functionName },
        statistic: 'Sum',
        period,
      }),
      ...atLeastOnce,
    });
    this.alarm('CollectorLambdaThrottlesAlarm', {
      alarmDescription:
        'Lambda refused collector invocations (the account’s concurrency is used up): raise the concurrency quota.',
      metric: collector.function.metricThrottles({ statistic: 'Sum', period }),
      ...atLeastOnce,
    });
  }

  /** An alarm that notifies the topic when it fires and when it clears; missing data is not a breach. */
  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const notify = new cloudwatchActions.SnsAction(this.topic);
    const alarm = new cloudwatch.Alarm(this, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
    return alarm;
  }
}
