import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { BroadcasterKey } from '../pgp/broadcaster-key';
import { adminAuth } from './admin-auth';
import { advisoryRoutes, type AdvisoryRouteDeps } from './advisory-routes';
import { errorHandler, handle, HttpError } from './http-error';
import { recipientRoutes, type RecipientRouteDeps } from './recipient-routes';
import { unsubscribeRoutes } from './unsubscribe-routes';

export interface AppDeps extends AdvisoryRouteDeps, RecipientRouteDeps {
  log: Logger;
  adminToken: string | undefined;
  broadcaster: BroadcasterKey;
  /** Resolves to the names of whatever is not ready (empty when all is well). */
  readiness: () => Promise<Record<string, string>>;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  app.get('/healthz', handle(() => ({ status: 200, body: { status: 'ok' } })));
  app.get(
    '/readyz',
    handle(async () => {
      const problems = await deps.readiness();
      const ready = Object.keys(problems).length === 0;
      return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'degraded', problems } };
    }),
  );
  app.get(
    '/v1/keys/broadcaster.asc',
    handle(() => ({
      status: 200,
      type: 'application/pgp-keys',
      headers: { 'X-Tocsin-Fingerprint': deps.broadcaster.fingerprint },
      body: deps.broadcaster.armoredPublicKey,
    })),
  );
  app.use('/v1/advisories', advisoryRoutes(deps));
  app.use('/v1/recipients', adminAuth(deps.adminToken), recipientRoutes(deps));
  app.use('/v1/unsubscribe', unsubscribeRoutes(deps));
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.log));
  return app;
}
