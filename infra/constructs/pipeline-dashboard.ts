import {
  aws_cloudwatch as cloudwatch,
  Duration,
  type aws_kinesis as kinesis,
  type aws_lambda as lambda,
  Stack,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  DEFAULT_METRICS_NAMESPACE,
  errorsMetricName,
  METRICS_DIMENSION,
} from '../../src/consumer/metrics.js';
import { REDRIVE_REASONS } from '../../src/redrive/reasons.js';
import type { CollectorApi } from './collector-api.js';
import { StackPart } from './stack-part.js';

export interface PipelineDashboardProps {
  stream: kinesis.Stream;
  consumer: lambda.Function;
  failureQueue: sqs.Queue;
  /** The scheduled lifecycle function (compaction, erasure). */
  lifecycle: lambda.Function;
  /** The HTTP collector, when deployed. */
  collector?: CollectorApi | undefined;
}

const MINUTE = Duration.minutes(1);

/**
 * One CloudWatch dashboard for the deployed pipeline: what comes into the stream and how far the
 * consumer is behind it, the function's invocations, errors and duration, what it lands per minute and
 * its errors by reason (from the Embedded Metric Format line each invocation writes), and the depth of
 * the failed-batches queue.
 */
export class PipelineDashboard extends StackPart {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(
    scope: Construct,
    id: string,
    { stream, consumer, failureQueue, lifecycle, collector }: PipelineDashboardProps,
  ) {
    super(scope, id);
    // The handler's own figures: one EMF line per invocation, dimension FunctionName.
    const emf = (
      fn: lambda.Function,
      metricName: string,
      statistic: string,
      period: Duration,
      label?: string,
    ) =>
      new cloudwatch.Metric({
        namespace: DEFAULT_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [METRICS_DIMENSION]: fn.functionName },
        statistic,
        period,
        ...(label === undefined ? {} : { label }),
      });
    const landed = (metricName: string, statistic = 'Sum', label?: string) =>
      emf(consumer, metricName, statistic, MINUTE, label);
    const day = Duration.days(1);
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-pipeline`,
      defaultInterval: Duration.hours(3),
    });
    if (collector !== undefined) this.addCollector(collector, emf, graph);
    this.dashboard.addWidgets(
      graph(
        'Stream: incoming records and iterator age',
        [stream.metricIncomingRecords({ statistic: 'Sum', period: MINUTE })],
        [
          stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: MINUTE }),
          consumer.metric('IteratorAge', { statistic: 'Maximum', period: MINUTE }),
        ],
      ),
      graph(
        'Consumer: invocations, errors and duration',
        [
          consumer.metricInvocations({ statistic: 'Sum', period: MINUTE }),
          consumer.metricErrors({ statistic: 'Sum', period: MINUTE }),
        ],
        [consumer.metricDuration({ statistic: 'p99', period: MINUTE })],
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Landed per minute',
        [landed('EventsLanded'), landed('Errors'), landed('Forgotten')],
        [landed('BatchAge', 'Maximum')],
      ),
      graph(
        'Errors by reason',
        REDRIVE_REASONS.map((reason) => landed(errorsMetricName(reason), 'Sum', reason)),
      ),
    );
    this.dashboard.addWidgets(
      graph('Objects and bytes landed', [landed('Objects')], [landed('Bytes')]),
      graph(
        'Failed batches: queue depth',
        [failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: MINUTE })],
        [landed('FailedBatches')],
      ),
    );
    // Compaction's last run: its runs, hours and erased records over the last day, and its errors.
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Compaction: last day',
        metrics: [
          emf(lifecycle, 'CompactionRuns', 'Sum', day),
          emf(lifecycle, 'HoursCompacted', 'Sum', day),
          emf(lifecycle, 'RecordsErased', 'Sum', day),
          lifecycle.metricErrors({ statistic: 'Sum', period: day }),
        ],
        width: 12,
        height: 4,
      }),
      graph(
        'Compaction: hours per run',
        [emf(lifecycle, 'HoursCompacted', 'Maximum', Duration.hours(1))],
        [lifecycle.metricDuration({ statistic: 'Maximum', period: Duration.hours(1) })],
      ),
    );
  }

  /**
   * The front door first: requests and their answers, the collector's events accepted and refusals by
   * reason (its EMF lines, one per reason, dimension `Reason`), and latency end to end and in the function.
   */
  private addCollector(
    collector: CollectorApi,
    emf: (fn: lambda.Function, metricName: string, statistic: string, period: Duration) => cloudwatch.Metric,
    graph: (
      title: string,
      left: cloudwatch.IMetric[],
      right?: cloudwatch.IMetric[],
    ) => cloudwatch.GraphWidget,
  ): void {
    const { api, function: fn } = collector;
    const byReason = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${DEFAULT_METRICS_NAMESPACE},${METRICS_DIMENSION},Reason} MetricName="${metricName}" ${METRICS_DIMENSION}="${fn.functionName}"', 'Sum', 60)`,
        label,
        period: MINUTE,
      });
    this.dashboard.addWidgets(
      graph(
        'Collector: requests and answers',
        [
          api.metricCount({ statistic: 'Sum', period: MINUTE }),
          api.metricClientError({ statistic: 'Sum', period: MINUTE }),
          api.metricServerError({ statistic: 'Sum', period: MINUTE }),
        ],
        [emf(fn, 'EventsAccepted', 'Sum', MINUTE), emf(fn, 'Throttled', 'Sum', MINUTE)],
      ),
      graph('Collector: rejections by reason', [
        byReason('EventsRejected', 'events rejected'),
        byReason('RequestsRefused', 'requests refused'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Collector: latency',
        [
          api.metricLatency({ statistic: 'p99', period: MINUTE }),
          api.metricIntegrationLatency({ statistic: 'p99', period: MINUTE }),
        ],
        [fn.metricDuration({ statistic: 'p99', period: MINUTE })],
      ),
      graph(
        'Collector function: invocations, errors and throttles',
        [
          fn.metricInvocations({ statistic: 'Sum', period: MINUTE }),
          fn.metricErrors({ statistic: 'Sum', period: MINUTE }),
        ],
        [fn.metricThrottles({ statistic: 'Sum', period: MINUTE })],
      ),
    );
  }
}
