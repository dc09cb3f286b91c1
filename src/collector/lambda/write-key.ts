import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError, describeError } from '../../core/errors.js';

/**
 * Reads the write key from the Secrets Manager secret `secretArn` (its `SecretString`, trimmed). Called
 * once per execution environment; the value is never logged, and errors name only the secret's ARN.
 */
export async function readWriteKey(
  secretArn: string,
  client: SecretsManagerClient = new SecretsManagerClient({
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
      throwOnRequestTimeout: true,
    }),
  }),
): Promise<string> {
  let secret: string | undefined;
  try {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    secret = output.SecretString;
  } catch (error) {
    throw new ConfigError(
      `could not read the write key from secret ${secretArn}: ${describeError(error)} (the function's role needs secretsmanager:GetSecretValue on it)`,
      error,
    );
  } finally {
    client.destroy();
  }
  const key = secret?.trim();
  if (key === undefined || key === '') {
    throw new ConfigError(
      `secret ${secretArn} holds no text: set its value to the write key (aws secretsmanager put-secret-value --secret-id ${secretArn} --secret-string KEY)`,
    );
  }
  return key;
}
