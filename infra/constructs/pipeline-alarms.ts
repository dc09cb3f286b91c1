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
import type { ActivityStackConfig } from '../config.js';
import { StackPart } from './stack-part.js';

export interface PipelineAlarmsProps {
  config: ActivityStackConfig;
  /** Encrypts the alarm topic. */
  key: kms.Key;
  consumer: lambda.Function;
  failureQueue: sqs.Queue;
}

/**
 * Alarms on what needs a person: the consumer falling behind, the consumer failing, and a batch given up
 * on. Each notifies an encrypted SNS topic, when it fires and when it clears, and the e-mail address
 * given subscribes to it.
 */
export class PipelineAlarms extends StackPart {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, { config, key, consumer, failureQueue }: PipelineAlarmsProps) {
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
