import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PipelineError } from '../core/errors.js';

/** A static file the collector serves, read once at start, with its gzipped form and an ETag. */
export interface Asset {
  body: Buffer;
  gzipped: Buffer;
  etag: string;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** The scripts and styles of the tracker, the demo and the dashboard. */
export const ASSET_NAMES = ['tracker.js', 'demo.js', 'dashboard.js', 'dashboard.css'] as const;
export type AssetName = (typeof ASSET_NAMES)[number];

/**
 * Reads the assets beside this module: in `dist/`, the minified files `npm run build` writes; run
 * from the sources, the readable originals (same names, same behaviour).
 */
export function loadAssets(directory = new URL('./assets/', import.meta.url)): Record<AssetName, Asset> {
  const assets = {} as Record<AssetName, Asset>;
  for (const name of ASSET_NAMES) {
    const file = new URL(name, directory);
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      throw new PipelineError(
        'asset_missing',
        `the collector's ${name} is missing at ${fileURLToPath(file)}: run \`npm run build\``,
        { stage: 'collector', cause: error },
      );
    }
    assets[name] = asAsset(body, CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'text/plain');
  }
  return assets;
}

export function asAsset(body: Buffer, contentType: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzipped: gzipSync(body, { level: 9 }), etag, contentType };
}
