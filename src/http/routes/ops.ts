// Operational endpoints: liveness, readiness, the JWKS, and the description of what is served.
import type { FastifyPluginAsync } from 'fastify';
import type { KeyRing } from '../../auth/keyring.js';
import { DOCS_CONTENT_SECURITY_POLICY, servedOpenApi, docsPage } from '../openapi.js';

export interface OpsRoutesDeps {
  readonly keys: KeyRing;
  readonly publicUrl: string;
  /** Resolves when every backing service answers; rejects with the reason otherwise. */
  readonly checkReady: () => Promise<void>;
}

export const opsRoutes: FastifyPluginAsync<OpsRoutesDeps> = async (app, deps) => {
  app.get('/health/live', async () => ({ status: 'live' }));

  app.get('/health/ready', async (request, reply) => {
    try {
      await deps.checkReady();
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'max-age=60').send(await deps.keys.jwks()));

  const document = servedOpenApi(deps.publicUrl);
  app.get('/openapi.json', async () => document);
  const page = docsPage(document);
  app.get('/docs', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .headers({ 'content-security-policy': DOCS_CONTENT_SECURITY_POLICY, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' })
      .send(page),
  );
};
