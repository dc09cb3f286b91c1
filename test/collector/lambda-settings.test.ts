import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLambdaSettings } from '../../src/aws.js';
import { readWriteKey } from '../../src/collector/lambda/write-key.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf';
const base = { STREAM_NAME: 'activity', WRITE_KEY_SECRET_ARN: ARN };

describe("the collector function's settings", () => {
  it('take defaults for all but the stream and the secret', () => {
    expect(readLambdaSettings(base)).toMatchObject({
      streamName: 'activity',
      writeKeySecretArn: ARN,
      corsOrigins: ['*'],
      maxBodyBytes: 1024 * 1024,
      clientIp: 'drop',
      putTimeoutMs: 3000,
    });
    expect(
      readLambdaSettings({
        ...base,
        CORS_ORIGINS: 'https://a.example, https://b.example/',
        CLIENT_IP: 'anonymize',
      }),
    ).toMatchObject({
      corsOrigins: ['https://a.example', 'https://b.example'],
      clientIp: 'anonymize',
    });
    for (const mode of ['keep', 'drop'] as const) {
      expect(readLambdaSettings({ ...base, CLIENT_IP: ` ${mode} ` }).clientIp).toBe(mode);
    }
  });

  it('refuse a missing or bad value with one line naming the variable and the value', () => {
    expect(() => readLambdaSettings({ WRITE_KEY_SECRET_ARN: ARN })).toThrow(
      'STREAM_NAME must be set to the Kinesis stream events are put on',
    );
    expect(() => readLambdaSettings({ ...base, WRITE_KEY_SECRET_ARN: 'my-key' })).toThrow(
      `WRITE_KEY_SECRET_ARN must be a secret's ARN (given "my-key")`,
    );
    expect(() => readLambdaSettings({ ...base, MAX_BODY_BYTES: '8388608' })).toThrow(
      'MAX_BODY_BYTES must be an integer between 1024 and 4194304 (given "8388608")',
    );
    expect(() => readLambdaSettings({ ...base, CORS_ORIGINS: 'shop.example' })).toThrow(
      '(given "shop.example")',
    );
    expect(() => readLambdaSettings({ ...base, CLIENT_IP: 'anonymised' })).toThrow(
      'CLIENT_IP must be one of keep, anonymize, drop (given "anonymised")',
    );
    expect(() => readLambdaSettings({ ...base, CLIENT_IP: 'on' })).toThrow(
      'CLIENT_IP must be one of keep, anonymize, drop (given "on")',
    );
  });
});

describe('the write key', () => {
  let secrets: SecretsManagerStandIn;
  beforeAll(async () => {
    secrets = await startSecretsManager({
      [ARN]: '  wk-1  ',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:empty-AbCdEf': '',
    });
  });
  afterAll(async () => {
    await secrets.close();
  });
  const client = () =>
    new SecretsManagerClient({
      endpoint: secrets.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'dummy' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });

  it('is the secret’s text, trimmed; a missing or empty secret fails naming only its ARN', async () => {
    expect(await readWriteKey(ARN, client())).toBe('wk-1');
    const missing = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf';
    await expect(readWriteKey(missing, client())).rejects.toThrow(
      `could not read the write key from secret ${missing}: `,
    );
    await expect(
      readWriteKey('arn:aws:secretsmanager:us-east-1:123456789012:secret:empty-AbCdEf', client()),
    ).rejects.toThrow('holds no text');
  });
});
