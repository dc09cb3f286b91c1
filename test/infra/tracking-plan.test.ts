import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { useTempDir } from '../support/temp.js';
import { cleanUpSynths, ROOT, synth } from './synth.js';

/** The consumer: the function with FORMAT set (the lifecycle function has a SINK_URL and handler too). */
const CONSUMER = {
  Properties: { Environment: { Variables: Match.objectLike({ FORMAT: Match.anyValue() }) } },
};

const tempDir = useTempDir();
const SHOP_PLAN = path.join(ROOT, 'examples/shop-tracking-plan.json');

afterAll(cleanUpSynths);

type Resource = { Properties: Record<string, unknown> };

describe('the CDK app with trackingPlan', () => {
  it('ships the plan as a layer and points TRACKING_PLAN at it, with no security finding', () => {
    // Act
    const { template, outdir, findings } = synth({ trackingPlan: SHOP_PLAN });
    // Assess
    expect(findings).toEqual([]);
    const layers = Object.entries(template.findResources('AWS::Lambda::LayerVersion')) as [
      string,
      Resource,
    ][];
    expect(layers).toHaveLength(1);
    const [layerId, layer] = layers[0] as [string, Resource];
    const consumer = Object.values(template.findResources('AWS::Lambda::Function', CONSUMER)) as Resource[];
    expect(consumer).toHaveLength(1);
    expect(consumer[0]?.Properties.Layers).toEqual([{ Ref: layerId }]);
    expect(consumer[0]?.Properties.Environment).toMatchObject({
      Variables: { TRACKING_PLAN: '/opt/tracking-plan.json' },
    });
    // The layer's asset holds the plan alone, byte for byte, under the name the function reads.
    const key = (layer.Properties.Content as { S3Key: string }).S3Key;
    const asset = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    expect(readdirSync(asset)).toEqual(['tracking-plan.json']);
    expect(readFileSync(path.join(asset, 'tracking-plan.json'), 'utf8')).toBe(
      readFileSync(SHOP_PLAN, 'utf8'),
    );
  });

  it('ships nothing and sets no TRACKING_PLAN without one', () => {
    const { template } = synth();
    expect(template.findResources('AWS::Lambda::LayerVersion')).toEqual({});
    const consumer = Object.values(template.findResources('AWS::Lambda::Function', CONSUMER)) as Resource[];
    expect(JSON.stringify(consumer[0]?.Properties.Environment)).not.toContain('TRACKING_PLAN');
  });

  it('stops the synth on a bad plan, naming the file and where', async () => {
    const file = path.join(await tempDir(), 'plan.json');
    writeFileSync(file, JSON.stringify({ policies: { violations: 'warn' }, events: {} }));
    expect(() => synth({ trackingPlan: file })).toThrow(ConfigError);
    expect(() => synth({ trackingPlan: file })).toThrow(
      `${file}: /policies/violations must be one of "reject", "flag" (given "warn")`,
    );
    expect(() => synth({ trackingPlan: `${file}.missing` })).toThrow('cannot be read (ENOENT)');
  });
});
