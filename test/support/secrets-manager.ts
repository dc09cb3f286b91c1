import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsManagerStandIn {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  endpoint: string;
  /** The `SecretId` of every GetSecretValue call, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/**
 * A fault-free stand-in for AWS Secrets Manager (no emulator of it runs here): an HTTP endpoint speaking
 * the one call the collector makes, `GetSecretValue`, in the service's JSON protocol (`X-Amz-Target:
 * secretsmanager.GetSecretValue`, `application/x-amz-json-1.1`), answering from `secrets` (ARN → value)
 * and `ResourceNotFoundException` for any other id. It does not check signatures.
 */
export async function startSecretsManager(secrets: Record<string, string>): Promise<SecretsManagerStandIn> {
  const calls: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        reply(400, { __type: 'UnknownOperationException', message: 'only GetSecretValue is served here' });
        return;
      }
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        SecretId?: string;
      };
      calls.push(String(SecretId));
      const value = SecretId === undefined ? undefined : secrets[SecretId];
      if (value === undefined) {
        reply(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reply(200, {
        ARN: SecretId,
        Name: SecretId?.split(':').at(-1),
        SecretString: value,
        VersionId: '00000000-0000-4000-8000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
