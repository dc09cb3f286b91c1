import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A request as a client sends it. */
export interface HttpRequest {
  method: string;
  /** The path and query string: `/i?e=pv&aid=shop`. */
  url: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  sourceIp?: string;
}

/** Bodies API Gateway passes as text; any other, or one with a Content-Encoding, it base64-encodes. */
const TEXT_TYPES = /^(text\/|application\/(json|x-ndjson|ndjson|javascript|xml|x-www-form-urlencoded))/i;

/**
 * The Lambda event API Gateway's HTTP API (payload format 2.0) makes of a request: header names in
 * lower case with repeated values joined by commas, cookies apart, the raw query string and its
 * parameters (repeated ones joined by commas), the body as text or base64.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
export function httpApiEvent(request: HttpRequest): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    const lower = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (lower === 'cookie') cookies = values.flatMap((v) => v.split(/;\s*/));
    else headers[lower] = values.join(',');
  }
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const binary =
    body !== undefined &&
    (headers['content-encoding'] !== undefined || !TEXT_TYPES.test(headers['content-type'] ?? ''));
  const now = Date.now();
  const method = request.method.toUpperCase();
  const sourceIp = request.sourceIp ?? '203.0.113.7';
  return {
    version: '2.0',
    routeKey: `${method} ${rawPath}`,
    rawPath,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(rawQueryString === '' ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api0000001',
      domainName: headers.host ?? 'api0000001.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api0000001',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: `${method} ${rawPath}`,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body === undefined || body.length === 0
      ? {}
      : { body: binary ? body.toString('base64') : body.toString('utf8') }),
    isBase64Encoded: binary,
  };
}

export interface ApiGatewayStandIn {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A local HTTP server standing in for API Gateway's HTTP API: each request becomes a payload 2.0 event
 * for `invoke`, and its answer (status, headers, cookies, text or base64 body) the HTTP response.
 */
export async function startApiGateway(
  invoke: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2 & { thrown?: string }>,
): Promise<ApiGatewayStandIn> {
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const event = httpApiEvent({
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers as Record<string, string | string[]>,
        ...(body.length > 0 ? { body } : {}),
      });
      const result = await invoke(event);
      if (result.thrown !== undefined) {
        // What API Gateway answers when the function fails.
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"message":"Internal Server Error"}');
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      if (result.cookies !== undefined) headers['set-cookie'] = result.cookies;
      const payload = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      headers['content-length'] = String(payload.length);
      response.writeHead(result.statusCode ?? 200, headers);
      response.end(payload);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
