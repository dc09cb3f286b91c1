import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR_PATHS } from '../../infra/constructs/collector-api.js';
import { createCollector } from '../../src/collector/index.js';
import type { StreamWriter } from '../../src/core/ports.js';
import { cleanUpSynths, type Synthesized, synth } from './synth.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });

/** The collector function: the one told the secret that holds its write key. */
const COLLECTOR = {
  Environment: { Variables: Match.objectLike({ WRITE_KEY_SECRET_ARN: Match.anyValue() }) },
};

function only(template: Template, type: string, props?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found, `one ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

const idOf = (template: Template, type: string, props?: Record<string, unknown>) =>
  only(template, type, props)[0];
const environment = (template: Template) =>
  (
    only(template, 'AWS::Lambda::Function', COLLECTOR)[1].Properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

/** The statements of the collector role's policy. */
function collectorGrants(template: Template): { Action: unknown; Resource: unknown }[] {
  const [, fn] = only(template, 'AWS::Lambda::Function', COLLECTOR);
  const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const [, policy] = only(template, 'AWS::IAM::Policy', { Roles: [{ Ref: role }] });
  return (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.map(
    ({ Action, Resource }) => ({ Action, Resource }),
  );
}

const outputs = (s: Synthesized) =>
  Object.fromEntries(
    Object.entries(s.template.toJSON().Outputs as Record<string, { Value: unknown }>).map(([k, v]) => [
      k,
      v.Value,
    ]),
  );

const GIVEN_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/write-key-AbC123';

let main: Synthesized;
let variant: Synthesized;
let t: Template;
beforeAll(() => {
  main = synth();
  t = main.template;
  variant = synth({
    collectorWriteKeySecretArn: GIVEN_SECRET,
    collectorCorsOrigins: 'https://shop.example, https://www.shop.example',
    collectorMaxBodyBytes: '262144',
    collectorRateLimit: '50',
    collectorBurstLimit: '100',
    collectorDomainName: 'collect.shop.example',
    collectorCertificateArn:
      'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab',
    collectorClientIp: 'anonymize',
  });
});
afterAll(cleanUpSynths);

describe('the collector on AWS', () => {
  it('synthesizes with no cdk-nag or CloudFormation finding, in both shapes', () => {
    for (const s of [main, variant]) {
      expect(s.error).toBeUndefined();
      expect(s.findings).toEqual([]);
    }
  });

  it('routes the ingest paths of every protocol, the tracker and the health check to the function, payload 2.0, and nothing else', async () => {
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(
      [
        '/v1/events',
        ...['track', 'identify', 'page', 'screen', 'group', 'alias', 'batch', 'import'].map(
          (c) => `/v1/${c}`,
        ),
        ...['t', 'i', 'p', 's', 'g', 'a', 'b'].map((c) => `/v1/${c}`),
        '/com.snowplowanalytics.snowplow/tp2',
        '/i',
        '/tracker.js',
        '/healthz',
      ]
        .map((path) => `ANY ${path}`)
        .sort(),
    );
    // Each is a route of the collector's own app; the local dashboard and metrics are not routed.
    const stream: StreamWriter = {
      connect: async () => {},
      close: async () => {},
      putRecords: async () => ({ failedRecordCount: 0, records: [] }),
    };
    const collector = await createCollector({ stream });
    try {
      for (const path of COLLECTOR_PATHS) {
        const methods = path === '/i' || path === '/tracker.js' || path === '/healthz' ? ['GET'] : ['POST'];
        for (const method of methods) expect(collector.app.hasRoute({ method, url: path }), path).toBe(true);
      }
    } finally {
      await collector.close();
    }
    expect(routes.join()).not.toMatch(/dashboard|metrics|demo/);
    const [, integration] = only(t, 'AWS::ApiGatewayV2::Integration');
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('runs the bundle from dist/collector-lambda on Node.js 22, arm64, putting on the stack’s stream', () => {
    const [, fn] = only(t, 'AWS::Lambda::Function', COLLECTOR);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
    });
    expect(environment(t)).toMatchObject({
      STREAM_NAME: { Ref: idOf(t, 'AWS::Kinesis::Stream') },
      CLIENT_IP: 'drop',
      MAX_BODY_BYTES: String(1024 * 1024),
      SEGMENT_MAX_MESSAGE_BYTES: String(32 * 1024),
      SEGMENT_MAX_BATCH_BYTES: String(500 * 1024),
    });
    expect(environment(variant.template)).toMatchObject({ CLIENT_IP: 'anonymize', MAX_BODY_BYTES: '262144' });
  });

  it('reads the write key from a secret it names by ARN: generated by the stack, or the one given; the value is never in the template', () => {
    const secretId = idOf(t, 'AWS::SecretsManager::Secret');
    const [, secret] = only(t, 'AWS::SecretsManager::Secret');
    expect(secret.Properties).toMatchObject({
      GenerateSecretString: { PasswordLength: 32, ExcludePunctuation: true },
    });
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(environment(t).WRITE_KEY_SECRET_ARN).toEqual({ Ref: secretId });
    expect(Object.keys(environment(t))).not.toContain('WRITE_KEY');
    // No resource carries a secret value: the key is generated by Secrets Manager, never written here.
    expect(JSON.stringify(t.toJSON().Resources)).not.toContain('"SecretString"');

    variant.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(environment(variant.template).WRITE_KEY_SECRET_ARN).toBe(GIVEN_SECRET);
    expect(outputs(main).CollectorWriteKeyCommand).toEqual({
      'Fn::Join': [
        '',
        [
          'aws secretsmanager get-secret-value --secret-id ',
          { Ref: secretId },
          ' --query SecretString --output text',
        ],
      ],
    });
  });

  it('may only put records on the stream, encrypt with its key, read its secret, and write its own logs', () => {
    const stream = idOf(t, 'AWS::Kinesis::Stream');
    const key = idOf(t, 'AWS::KMS::Key');
    const secret = idOf(t, 'AWS::SecretsManager::Secret');
    const granted = collectorGrants(t);
    expect(granted).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^CollectorLogs/), 'Arn'] }),
      },
      { Action: 'kinesis:PutRecords', Resource: getAtt(stream) },
      { Action: 'kms:GenerateDataKey', Resource: getAtt(key) },
      { Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret } },
    ]);
    expect(collectorGrants(variant.template).at(-1)).toEqual({
      Action: 'secretsmanager:GetSecretValue',
      Resource: GIVEN_SECRET,
    });
  });

  it('leaves CORS to the function (as locally), with the origins given', () => {
    const [, api] = only(t, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties).toMatchObject({ ProtocolType: 'HTTP' });
    expect(api.Properties.CorsConfiguration).toBeUndefined();
    expect(environment(t).CORS_ORIGINS).toBe('*');
    expect(environment(variant.template).CORS_ORIGINS).toBe('https://shop.example,https://www.shop.example');
  });

  it('throttles at the stage by the rate and burst given, and logs every request', () => {
    const [, stage] = only(t, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: {
        DestinationArn: getAtt(expect.stringMatching(/^CollectorAccessLogs/) as unknown as string),
      },
    });
    const [, throttled] = only(variant.template, 'AWS::ApiGatewayV2::Stage');
    expect(throttled.Properties).toMatchObject({
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('alarms on 5xx answers, on 429s from Kinesis throttling and on Lambda throttles, notifying the topic', () => {
    const topic = idOf(t, 'AWS::SNS::Topic');
    const alarm = (metricName: string, namespace: string) =>
      only(t, 'AWS::CloudWatch::Alarm', { MetricName: metricName, Namespace: namespace })[1].Properties;
    for (const [metric, namespace] of [
      ['5xx', 'AWS/ApiGateway'],
      ['Throttled', 'ActivityPipeline'],
      ['Throttles', 'AWS/Lambda'],
    ] as const) {
      expect(alarm(metric, namespace), metric).toMatchObject({
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      });
    }
    const fn = idOf(t, 'AWS::Lambda::Function', COLLECTOR);
    expect(alarm('Throttled', 'ActivityPipeline').Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: fn } },
    ]);
  });

  it('outputs the URL, the tracker line and the host settings of each SDK: the API’s own, or the custom domain', () => {
    const o = outputs(main);
    const apiUrl = o.CollectorUrl;
    expect(JSON.stringify(apiUrl)).toContain('execute-api');
    expect(o.SegmentHost).toEqual(apiUrl);
    expect(o.RudderStackDataPlaneUrl).toEqual(apiUrl);
    expect(o.SnowplowCollectorEndpoint).toEqual(apiUrl);
    const v = outputs(variant);
    expect(v.CollectorUrl).toBe('https://collect.shop.example');
    expect(v.TrackerScript).toBe(
      '<script src="https://collect.shop.example/tracker.js" data-write-key="WRITE_KEY" async></script>',
    );
    expect(v.CollectorDomainTarget).toEqual(
      getAtt(idOf(variant.template, 'AWS::ApiGatewayV2::DomainName'), 'RegionalDomainName'),
    );
    const [, domain] = only(variant.template, 'AWS::ApiGatewayV2::DomainName');
    expect(domain.Properties).toMatchObject({ DomainName: 'collect.shop.example' });
    variant.template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
  });

  it('is left out with collector=false, and refuses a domain without its certificate', () => {
    const without = synth({ collector: 'false' });
    without.template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    without.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(outputs(without).CollectorUrl).toBeUndefined();
    expect(() => synth({ collectorDomainName: 'collect.shop.example' })).toThrow(
      'collectorDomainName and collectorCertificateArn go together (given only collectorDomainName "collect.shop.example")',
    );
  });
});
