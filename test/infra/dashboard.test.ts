import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_METRICS } from '../../src/consumer/metrics.js';
import { REDRIVE_REASONS } from '../../src/redrive/reasons.js';
import { cleanUpSynths, type Synthesized, synth } from './synth.js';

afterAll(cleanUpSynths);

type MetricRow = (string | Record<string, unknown>)[];
interface Widget {
  type: string;
  properties: { title: string; metrics: MetricRow[] };
}

/** The dashboard's body as CloudWatch reads it, each `Ref` written `<Ref:ID>`, each `GetAtt` `<ID.Attr>`. */
function dashboardBody(s: Synthesized): { widgets: Widget[] } {
  const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const join = (dashboards[0] as { Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } } })
    .Properties.DashboardBody['Fn::Join'];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const { Ref, 'Fn::GetAtt': att } = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return Ref !== undefined ? `<Ref:${Ref}>` : `<${att?.join('.')}>`;
    })
    .join(join[0]);
  return JSON.parse(text);
}

/** A widget's metrics as `namespace metric dimension=value stat`. */
const described = (widget: Widget | undefined) =>
  (widget?.properties.metrics ?? []).map((row) => {
    const names = row.filter((c): c is string => typeof c === 'string');
    const options = row.find((c) => typeof c === 'object') as { stat?: string } | undefined;
    const [namespace, metric, ...dims] = names;
    const pairs: string[] = [];
    for (let i = 0; i < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
    return `${namespace} ${metric} ${pairs.join(',')} ${options?.stat}`;
  });

let main: Synthesized;
let widgets: Map<string, Widget>;
let fn: string;
let stream: string;
let queue: string;

beforeAll(() => {
  main = synth();
  widgets = new Map(dashboardBody(main).widgets.map((w) => [w.properties.title, w]));
  const only = (type: string) => Object.keys(main.template.findResources(type))[0] as string;
  fn = only('AWS::Lambda::Function');
  stream = only('AWS::Kinesis::Stream');
  queue = only('AWS::SQS::Queue');
});

describe('the dashboard', () => {
  it('synthesizes with cdk-nag clean', () => {
    expect(main.error).toBeUndefined();
    expect(main.findings).toEqual([]);
  });

  it("shows the stream's incoming records and the consumer's iterator age", () => {
    expect(described(widgets.get('Stream: incoming records and iterator age'))).toEqual([
      `AWS/Kinesis IncomingRecords StreamName=<Ref:${stream}> Sum`,
      `AWS/Kinesis GetRecords.IteratorAgeMilliseconds StreamName=<Ref:${stream}> Maximum`,
      `AWS/Lambda IteratorAge FunctionName=<Ref:${fn}> Maximum`,
    ]);
  });

  it("shows the function's invocations, errors and duration", () => {
    expect(described(widgets.get('Consumer: invocations, errors and duration'))).toEqual([
      `AWS/Lambda Invocations FunctionName=<Ref:${fn}> Sum`,
      `AWS/Lambda Errors FunctionName=<Ref:${fn}> Sum`,
      `AWS/Lambda Duration FunctionName=<Ref:${fn}> p99`,
    ]);
  });

  it('shows events landed per minute and errors by reason from the handler’s EMF metrics', () => {
    const emf = (name: string, stat = 'Sum') => `ActivityPipeline ${name} FunctionName=<Ref:${fn}> ${stat}`;
    expect(described(widgets.get('Landed per minute'))).toEqual([
      emf('EventsLanded'),
      emf('Errors'),
      emf('Forgotten'),
      emf('BatchAge', 'Maximum'),
    ]);
    expect(described(widgets.get('Errors by reason'))).toEqual(
      REDRIVE_REASONS.map((r) => emf(`Errors_${r}`)),
    );
    expect(described(widgets.get('Objects and bytes landed'))).toEqual([emf('Objects'), emf('Bytes')]);
    // Every metric the handler writes is on the dashboard.
    const shown = new Set([...widgets.values()].flatMap((w) => w.properties.metrics.map((row) => row[1])));
    for (const name of Object.keys(HANDLER_METRICS).filter((n) => n !== 'Records'))
      expect(shown).toContain(name);
  });

  it("shows compaction's last runs from the lifecycle function's EMF metrics", () => {
    const lifecycle = Object.keys(
      main.template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('lifecycle') },
      }),
    )[0];
    const emf = (name: string, stat: string) =>
      `ActivityPipeline ${name} FunctionName=<Ref:${lifecycle}> ${stat}`;
    expect(described(widgets.get('Compaction: last day'))).toEqual([
      emf('CompactionRuns', 'Sum'),
      emf('HoursCompacted', 'Sum'),
      emf('RecordsErased', 'Sum'),
      `AWS/Lambda Errors FunctionName=<Ref:${lifecycle}> Sum`,
    ]);
    expect(described(widgets.get('Compaction: hours per run'))).toEqual([
      emf('HoursCompacted', 'Maximum'),
      `AWS/Lambda Duration FunctionName=<Ref:${lifecycle}> Maximum`,
    ]);
  });

  it('shows the depth of the failed-batches queue', () => {
    expect(described(widgets.get('Failed batches: queue depth'))).toEqual([
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<${queue}.QueueName> Maximum`,
      `ActivityPipeline FailedBatches FunctionName=<Ref:${fn}> Sum`,
    ]);
  });
});

describe('the dashboard of the collector', () => {
  it('shows its requests and answers, its rejections by reason (the EMF lines, by Reason) and its latency', () => {
    const collectorFn = Object.entries(main.template.findResources('AWS::Lambda::Function')).find(([, r]) =>
      JSON.stringify(r.Properties.Environment ?? {}).includes('WRITE_KEY_SECRET_ARN'),
    )?.[0];
    const api = Object.keys(main.template.findResources('AWS::ApiGatewayV2::Api'))[0];
    expect(described(widgets.get('Collector: requests and answers'))).toEqual([
      `AWS/ApiGateway Count ApiId=<Ref:${api}> Sum`,
      `AWS/ApiGateway 4xx ApiId=<Ref:${api}> Sum`,
      `AWS/ApiGateway 5xx ApiId=<Ref:${api}> Sum`,
      `ActivityPipeline EventsAccepted FunctionName=<Ref:${collectorFn}> Sum`,
      `ActivityPipeline Throttled FunctionName=<Ref:${collectorFn}> Sum`,
    ]);
    const searches = (widgets.get('Collector: rejections by reason')?.properties.metrics ?? []).map(
      (row) => (row.find((c) => typeof c === 'object') as { expression?: string }).expression,
    );
    expect(searches).toEqual(
      ['EventsRejected', 'RequestsRefused'].map(
        (metric) =>
          `SEARCH('{ActivityPipeline,FunctionName,Reason} MetricName="${metric}" FunctionName="<Ref:${collectorFn}>"', 'Sum', 60)`,
      ),
    );
    expect(described(widgets.get('Collector: latency'))).toEqual([
      `AWS/ApiGateway Latency ApiId=<Ref:${api}> p99`,
      `AWS/ApiGateway IntegrationLatency ApiId=<Ref:${api}> p99`,
      `AWS/Lambda Duration FunctionName=<Ref:${collectorFn}> p99`,
    ]);
  });
});
