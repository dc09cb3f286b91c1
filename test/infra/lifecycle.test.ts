import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpSynths, type Synthesized, synth } from './synth.js';

afterAll(cleanUpSynths);

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

let main: Synthesized;
let t: Template;
let fnId: string;
let fn: Resource;
let bucket: string;

beforeAll(() => {
  main = synth();
  t = main.template;
  const found = Object.entries(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('lifecycle') },
    }),
  );
  expect(found).toHaveLength(1);
  [fnId, fn] = found[0] as [string, Resource];
  bucket = Object.keys(
    t.findResources('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } }),
  )[0] as string;
});

/** The statements of the policies attached to a role. */
function grantsOf(roleId: string): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .map(({ Action, Resource }) => ({ Action, Resource }));
}

const under = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, suffix]] });

describe('the scheduled lifecycle function', () => {
  it('synthesizes with cdk-nag clean', () => {
    expect(main.error).toBeUndefined();
    expect(main.findings).toEqual([]);
  });

  it('runs the lifecycle bundle with DuckDB beside it on arm64, with SINK_URL and room to compact', () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 2048,
      Timeout: 900,
      EphemeralStorage: { Size: 10240 },
      Environment: {
        Variables: {
          SINK_URL: { 'Fn::Join': ['', ['s3://', { Ref: bucket }, '/activity']] },
          HOME: '/tmp',
        },
      },
    });
    const key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const staged = path.join(main.outdir, `asset.${key.replace('.zip', '')}`);
    expect(readdirSync(staged)).toEqual(expect.arrayContaining(['index.mjs', 'node_modules']));
    expect(readdirSync(path.join(staged, 'node_modules/@duckdb'))).toEqual(
      expect.arrayContaining(['node-api', 'node-bindings']),
    );
  });

  it('is scheduled only when the Glue tables read Parquet, which compacted objects are', async () => {
    const parquet = synth({ format: 'parquet' });
    expect(parquet.findings).toEqual([]);
    const state = (s: Synthesized) =>
      (Object.values(s.template.findResources('AWS::Scheduler::Schedule'))[0] as Resource).Properties.State;
    expect(state(main)).toBe('DISABLED');
    expect(state(parquet)).toBe('ENABLED');
  });

  it('is invoked every hour by EventBridge Scheduler, through a role that may invoke only it', () => {
    const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0] as Resource;
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      Target: { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: '{}' },
    });
    const roleId = (schedule.Properties.Target as { RoleArn: { 'Fn::GetAtt': [string] } }).RoleArn[
      'Fn::GetAtt'
    ][0];
    expect(grantsOf(roleId)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Resource: [
          { 'Fn::GetAtt': [fnId, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId, 'Arn'] }, ':*']] },
        ],
      },
    ]);
    const role = t.toJSON().Resources[roleId] as Resource;
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('scheduler.amazonaws.com');
  });

  it('may read, write and list the landed layout, delete under events/ only, and write its logs: nothing else', () => {
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const granted = grantsOf(roleId);
    expect(granted).toEqual(
      expect.arrayContaining([
        { Action: ['s3:GetObject', 's3:PutObject'], Resource: under('/activity/*') },
        { Action: 's3:DeleteObject', Resource: under('/activity/events/*') },
        { Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucket, 'Arn'] } },
      ]),
    );
    expect(granted).toHaveLength(4);
    expect(JSON.stringify(granted.find((s) => JSON.stringify(s.Action).includes('logs:')))).toContain(
      'LifecycleLogs',
    );
  });

  it('is the only principal in the stack that may delete objects', () => {
    const deleters = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument.Statement).includes('s3:DeleteObject'),
    );
    expect(deleters.map((p) => p.Properties.Roles)).toEqual([
      [{ Ref: (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0] }],
    ]);
  });
});
