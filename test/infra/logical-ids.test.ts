import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, aws_sqs as sqs } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { StackPart } from '../../infra/constructs/stack-part.js';
import { createApp } from '../../infra/create-app.js';
import { cdkJsonContext, cleanUpSynths, synth } from './synth.js';

afterAll(cleanUpSynths);

/**
 * The logical IDs of a deployed stack: CloudFormation replaces a resource whose ID changes (a new
 * bucket and stream, the old bucket orphaned), so these must stay what they were when every resource
 * was created in the stack itself, before the stack was split into L3 constructs.
 */
const DEPLOYED_IDS = [
  'AccessLogs8B620ECA',
  'AccessLogsPolicyABDC4D2D',
  'Alarms04B5A0BF',
  'AlarmsPolicy5C860CFE',
  'Consumer8D6BE417',
  'ConsumerKinesisEventSourceActivityPipelineStream555D1FD62693DDF5',
  'ConsumerLogsE1B78D1C',
  'ConsumerRoleACB9B9F3',
  'ConsumerRoleDefaultPolicy2C8B36A4',
  'Dashboard9E4231ED',
  'Data666C94C7',
  'DataPolicyB80589C3',
  'Database',
  'ErrorsAlarm39B3548B',
  'ErrorsTable',
  'EventsLastDay',
  'EventsTable',
  'FailedBatches983C92EC',
  'FailedBatchesAlarmBD9A8512',
  'FailedBatchesPolicyBC9FBA01',
  'HourlyF36A3822',
  'IteratorAgeAlarm6757AA2B',
  'Key961B73FD',
  'Lifecycle5C7F7473',
  'LifecycleLogs89E5AE96',
  'LifecycleRoleBD5462B8',
  'LifecycleRoleDefaultPolicy91EC6FC1',
  'LifecycleSchedulerRole1511B155',
  'LifecycleSchedulerRoleDefaultPolicyA93D87F5',
  'Stream790BDEE4',
  'WorkGroup',
];

/** The HTTP collector's (`collector=true`, the default): its function, API, one route per path, alarms. */
const COLLECTOR_IDS = [
  'Collector9EBA7CF5',
  'CollectorAccessLogsBE406F16',
  'CollectorApiANYcomsnowplowanalyticssnowplowtp2173E8A3B',
  'CollectorApiANYcomsnowplowanalyticssnowplowtp2CollectorPermissionE8E4D7EA',
  'CollectorApiANYhealthz2AFD24C1',
  'CollectorApiANYhealthzCollectorPermissionDD954A38',
  'CollectorApiANYi5A75D12C',
  'CollectorApiANYiCollectorPermission2AA77B84',
  'CollectorApiANYtrackerjs86A13CD0',
  'CollectorApiANYtrackerjsCollectorPermission9F0222CD',
  'CollectorApiANYv1aCollectorPermissionC19A74CC',
  'CollectorApiANYv1aF86749E9',
  'CollectorApiANYv1aliasA8A9E3F5',
  'CollectorApiANYv1aliasCollectorPermission9ED90B3A',
  'CollectorApiANYv1b2933E440',
  'CollectorApiANYv1bCollectorPermission47571E58',
  'CollectorApiANYv1batchB838104F',
  'CollectorApiANYv1batchCollectorPermission05C5EFC2',
  'CollectorApiANYv1events3BBEE0AF',
  'CollectorApiANYv1eventsCollectorACE5C4A3',
  'CollectorApiANYv1eventsCollectorPermission70A2B878',
  'CollectorApiANYv1g7D2B83BD',
  'CollectorApiANYv1gCollectorPermission2A0120DD',
  'CollectorApiANYv1groupB6F91C03',
  'CollectorApiANYv1groupCollectorPermission21190E63',
  'CollectorApiANYv1iA339CA77',
  'CollectorApiANYv1iCollectorPermissionFA6A9BD3',
  'CollectorApiANYv1identify1F42E3E2',
  'CollectorApiANYv1identifyCollectorPermission5CC14EFE',
  'CollectorApiANYv1importB3F1CED3',
  'CollectorApiANYv1importCollectorPermission34281BED',
  'CollectorApiANYv1p93EC1E75',
  'CollectorApiANYv1pCollectorPermissionE19A8E5C',
  'CollectorApiANYv1page93B8A307',
  'CollectorApiANYv1pageCollectorPermission0EF1D993',
  'CollectorApiANYv1s8671337F',
  'CollectorApiANYv1sCollectorPermission4D06238B',
  'CollectorApiANYv1screen7708D972',
  'CollectorApiANYv1screenCollectorPermissionCA75D44B',
  'CollectorApiANYv1t209EEC07',
  'CollectorApiANYv1tCollectorPermission88335A6B',
  'CollectorApiANYv1track56F88C15',
  'CollectorApiANYv1trackCollectorPermission8898E9AC',
  'CollectorApiBDA7D56F',
  'CollectorLambdaThrottlesAlarm19381B78',
  'CollectorLogs893ABD2A',
  'CollectorRole8FF99B37',
  'CollectorRoleDefaultPolicy3CB789BE',
  'CollectorServerErrorsAlarmFFF4C52A',
  'CollectorStage5B6B7E31',
  'CollectorThrottledAlarm34139339',
  'WriteKey4EEB2DCB',
];

/** Those the settings add: auto-deletion with removeDataOnDestroy, the e-mail subscription with alarmEmail. */
const OPTIONAL_IDS = [
  'AccessLogsAutoDeleteObjectsCustomResourceA1409250',
  'Alarmsopsexamplecom5486E8DD',
  'CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F',
  'CustomS3AutoDeleteObjectsCustomResourceProviderRole3B1BD092',
  'DataAutoDeleteObjectsCustomResource914CE2FD',
];

const resourceIds = (s: ReturnType<typeof synth>) => Object.keys(s.template.toJSON().Resources).sort();

describe('logical IDs', () => {
  it('are those the stack deployed with, whatever L3 construct a resource now sits in', () => {
    expect(resourceIds(synth())).toEqual([...DEPLOYED_IDS, ...COLLECTOR_IDS].sort());
    const variant = synth({ removeDataOnDestroy: 'true', alarmEmail: 'ops@example.com', collector: 'false' });
    expect(resourceIds(variant)).toEqual([...DEPLOYED_IDS, ...OPTIONAL_IDS].sort());
  });

  it('of two resources with one construct id in two L3 constructs clash, and the synthesis says so', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'activity-cdk-'));
    try {
      const { app, stack } = createApp(new App({ context: cdkJsonContext(), outdir }));
      class Extra extends StackPart {}
      new sqs.Queue(new Extra(stack, 'Extra'), 'FailedBatches');
      expect(() => app.synth()).toThrow("section 'Resources' already contains 'FailedBatches983C92EC'");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
