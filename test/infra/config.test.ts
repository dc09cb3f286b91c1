import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  type ActivityStackInput,
  CONFIG_FIELDS,
  contextInput,
  resolveStackConfig,
  snakeCase,
} from '../../infra/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { cdkJsonContext } from './synth.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const resolve = (input: ActivityStackInput) => resolveStackConfig(input, NOW);

function refusal(input: ActivityStackInput): string {
  try {
    resolve(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('stack settings', () => {
  it('default to an on-demand stream, data kept on destroy, and Lambda batches of 10000 within 1 s', () => {
    const config = resolve({});
    expect(config).toMatchObject({
      stackName: 'ActivityPipeline',
      streamMode: 'on-demand',
      retentionHours: 24,
      sinkPrefix: 'activity',
      format: 'ndjson',
      transitionDays: 30,
      transitionStorageClass: 'STANDARD_IA',
      expirationDays: 0,
      removeDataOnDestroy: false,
      runtime: 'nodejs22.x',
      batchSize: 10_000,
      batchWindowSeconds: 1,
      retryAttempts: 20,
      maxRecordAgeSeconds: 86_400,
      projectionStartDate: '2024-01-01',
    });
    expect(config.streamName).toBeUndefined();
    expect(config.bucketName).toBeUndefined();
    // Every setting has a description, so the docs can list them all.
    for (const [key, field] of Object.entries(CONFIG_FIELDS)) expect(field.description, key).not.toBe('');
  });

  it('take context strings (-c key=value) as numbers and booleans', () => {
    const config = resolve({
      streamMode: 'provisioned',
      shardCount: '4',
      batchSize: ' 250 ',
      removeDataOnDestroy: 'true',
      sinkPrefix: '/a/b/',
    });
    expect(config).toMatchObject({
      shardCount: 4,
      batchSize: 250,
      removeDataOnDestroy: true,
      sinkPrefix: 'a/b',
    });
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize must be an integer between 1 and 10000 (given 0)'],
    [{ batchSize: '10001' }, 'batchSize must be an integer between 1 and 10000 (given 10001)'],
    [{ batchSize: 'many' }, 'batchSize must be an integer between 1 and 10000 (given "many")'],
    [{ batchWindowSeconds: 301 }, 'batchWindowSeconds must be an integer between 0 and 300 (given 301)'],
    [{ retryAttempts: -1 }, 'retryAttempts must be an integer between 0 and 10000 (given -1)'],
    [{ maxRecordAgeSeconds: 30 }, 'maxRecordAgeSeconds must be an integer between 60 and 604800 (given 30)'],
    [{ retentionHours: 12 }, 'retentionHours must be an integer between 24 and 8760 (given 12)'],
    [{ memoryMb: 1.5 }, 'memoryMb must be an integer between 128 and 10240 (given 1.5)'],
    [{ streamMode: 'ondemand' }, 'streamMode must be one of on-demand, provisioned (given "ondemand")'],
    [{ runtime: 'nodejs20.x' }, 'runtime must be one of nodejs22.x, nodejs24.x (given "nodejs20.x")'],
    [{ format: 'csv' }, 'format must be one of ndjson, parquet (given "csv")'],
    [{ format: 'ndjson.gz' }, 'format must be one of ndjson, parquet (given "ndjson.gz")'],
    [{ format: '' }, 'format must be one of ndjson, parquet (given "")'],
    [{ format: 1 }, 'format must be one of ndjson, parquet (given 1)'],
    [{ removeDataOnDestroy: 'yes' }, 'removeDataOnDestroy must be true or false (given "yes")'],
    [
      { bucketName: 'My_Bucket' },
      'bucketName must be 3-63 lowercase letters, digits, "." or "-" (given "My_Bucket")',
    ],
    [{ stackName: '1stack' }, 'stackName must be a letter then letters, digits or "-" (given "1stack")'],
    [{ alarmEmail: 'ops' }, 'alarmEmail must be an e-mail address (given "ops")'],
    [
      { logRetentionDays: 10 },
      'logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365',
    ],
    [
      { sinkPrefix: 'a b' },
      'sinkPrefix must be "/"-separated letters, digits, "_", ".", "=" or "-" (given "a b")',
    ],
    [{ sinkPrefix: 'x/../y' }, 'sinkPrefix must be "/"-separated letters'],
    [{ sinkPrefix: 'athena-results/x' }, 'sinkPrefix must not start with athena-results/'],
    [{ projectionStartDate: '2024-02-30' }, 'projectionStartDate must be a real calendar date as YYYY-MM-DD'],
    [{ projectionStartDate: '1999-12-31' }, 'projectionStartDate must be between 2000-01-01 and today'],
    [{ projectionStartDate: '2026-12-01' }, 'projectionStartDate must be between 2000-01-01 and today'],
  ] as [ActivityStackInput, string][])('refuse %j with a message naming the value', (input, message) => {
    expect(refusal(input)).toContain(message);
  });

  it('take format=parquet, the one other way the consumer lands events', () => {
    expect(resolve({ format: 'parquet' }).format).toBe('parquet');
    expect(resolve({ format: 'ndjson' }).format).toBe('ndjson');
  });

  it('refuse a shard count for an on-demand stream, and say how to provision one', () => {
    expect(refusal({ shardCount: 4 })).toBe(
      'shardCount applies only to a provisioned stream (given 4 with streamMode on-demand): also set streamMode=provisioned',
    );
  });

  it('refuse lifecycle rules S3 would refuse or that delete before moving', () => {
    expect(refusal({ transitionDays: 7 })).toBe(
      'transitionDays must be 0 or at least 30 for STANDARD_IA (given 7): S3 moves objects there only after 30 days',
    );
    expect(resolve({ transitionDays: 7, transitionStorageClass: 'GLACIER_IR' }).transitionDays).toBe(7);
    expect(refusal({ expirationDays: 30 })).toBe(
      'expirationDays must be greater than transitionDays (given expirationDays 30, transitionDays 30): set transitionDays=0 to delete without moving',
    );
    expect(resolve({ expirationDays: 30, transitionDays: 0 }).expirationDays).toBe(30);
  });

  it('refuse unknown settings, suggesting the one meant', () => {
    expect(refusal({ batchsize: 5 } as ActivityStackInput)).toBe(
      'unknown setting "batchsize": did you mean batchSize?',
    );
    expect(refusal({ shards: 5 } as ActivityStackInput)).toMatch(
      /^unknown setting "shards": the settings are stackName, /,
    );
  });
});

describe('context', () => {
  it("takes the stack's settings and leaves the CDK's own keys alone", () => {
    const app = new App({
      context: {
        ...cdkJsonContext(),
        batchSize: '100',
        format: 'parquet',
        'aws:cdk:version-reporting': true,
      },
    });
    expect(contextInput(app.node)).toEqual({ batchSize: '100', format: 'parquet' });
  });

  it('refuses a key that reads like a setting but is none, instead of ignoring it', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'shard-count': '2' } });
    expect(() => contextInput(app.node)).toThrow(
      'unknown context key "shard-count": did you mean shardCount?',
    );
    const typo = new App({ context: { retention: '48' } });
    expect(() => contextInput(typo.node)).toThrow(/^unknown context key "retention": the settings are /);
  });
});

describe('snakeCase', () => {
  it('makes Glue database names from stack names', () => {
    expect(snakeCase('ActivityPipeline')).toBe('activity_pipeline');
    expect(snakeCase('activity-prod-2')).toBe('activity_prod_2');
    expect(snakeCase('ABTest')).toBe('abtest');
  });
});

describe("the collector's settings", () => {
  it('take origins as a comma-separated list, and refuse what is not an origin, naming it', () => {
    expect(
      resolveStackConfig({ collectorCorsOrigins: 'https://a.example, http://localhost:3000/' })
        .collectorCorsOrigins,
    ).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(resolveStackConfig().collectorCorsOrigins).toEqual(['*']);
    expect(() => resolveStackConfig({ collectorCorsOrigins: 'shop.example' })).toThrow(
      'collectorCorsOrigins must be comma-separated origins such as https://shop.example, or * (given "shop.example")',
    );
  });

  it('keep bodies within what Lambda takes, and check the secret and certificate ARNs', () => {
    expect(() => resolveStackConfig({ collectorMaxBodyBytes: '8388608' })).toThrow(
      'collectorMaxBodyBytes must be an integer between 1024 and 4194304 (given 8388608)',
    );
    expect(() => resolveStackConfig({ collectorWriteKeySecretArn: 'my-key' })).toThrow(
      'collectorWriteKeySecretArn must be a Secrets Manager secret ARN (given "my-key")',
    );
    expect(() =>
      resolveStackConfig({ collectorDomainName: 'collect.shop.example', collectorCertificateArn: 'cert' }),
    ).toThrow('collectorCertificateArn must be an ACM certificate ARN (given "cert")');
    expect(() => resolveStackConfig({ collectorClientIp: 'anonymous' })).toThrow(
      'collectorClientIp must be one of keep, anonymize, drop (given "anonymous")',
    );
    expect(() => resolveStackConfig({ collectorClientIp: 'constructor' })).toThrow('(given "constructor")');
  });

  it('takes what the collector keeps of the client address, and the switch of earlier versions', () => {
    expect(resolveStackConfig({}).collectorClientIp).toBe('drop');
    for (const mode of ['keep', 'anonymize', 'drop']) {
      expect(resolveStackConfig({ collectorClientIp: mode }).collectorClientIp).toBe(mode);
    }
    expect(resolveStackConfig({ collectorClientIp: 'on' }).collectorClientIp).toBe('keep');
    expect(resolveStackConfig({ collectorClientIp: 'off' }).collectorClientIp).toBe('drop');
    expect(() => resolveStackConfig({ collectorClientIp: true })).toThrow(
      'collectorClientIp must be one of keep, anonymize, drop (given true)',
    );
  });
});
