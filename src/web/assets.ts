// The files pages load from /assets/: our own styles and scripts from ./assets, and the WebAuthn browser
// library's bundle from its package. Read once at start and served from memory; only the names listed
// here exist, so no request can name a path on disk.
import type { FastifyPluginAsync } from 'fastify';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorBody } from '../http/errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** ./assets beside src/ and dist/ alike. */
const OWN_ASSETS = fileURLToPath(new URL('../../assets/', import.meta.url));

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

function loadAssets(): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(OWN_ASSETS)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(OWN_ASSETS, name)), type });
  }
  // The package exports only its modules; its browser bundle sits beside them.
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = join(dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js');
  assets.set('simplewebauthn-browser.js', { body: readFileSync(bundle), type: TYPES['.js']! });
  return assets;
}

export const assetRoutes: FastifyPluginAsync = async (app) => {
  const assets = loadAssets();
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.code(404).send(errorBody(404, 'No such asset.'));
    return reply.header('cache-control', 'public, max-age=3600').type(asset.type).send(asset.body);
  });
};
