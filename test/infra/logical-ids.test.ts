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
    expect(resourceIds(synth())).toEqual(DEPLOYED_IDS);
    const variant = synth({ removeDataOnDestroy: 'true', alarmEmail: 'ops@example.com' });
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
