import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { adminAuth } from './admin-auth';
import { advisoryRoutes, type AdvisoryRouteDeps } from './advisory-routes';
import { deliveryRoutes, type DeliveryRouteDeps } from './delivery-routes';
import { refuseDuplicateHeaders } from './duplicate-headers';
import { errorHandler, handle, HttpError } from './http-error';
import { keyRoutes, type KeyRouteDeps } from './key-routes';
import { publisherRoutes, type PublisherRouteDeps } from './publisher-routes';
import { metricsRoute } from './metrics-route';
import { recipientRoutes, type RecipientRouteDeps } from './recipient-routes';
import { unsubscribeRoutes } from './unsubscribe-routes';

export interface AppDeps extends AdvisoryRouteDeps, RecipientRouteDeps, PublisherRouteDeps, KeyRouteDeps, Pick<DeliveryRouteDeps, 'replayer'> {
  log: Logger;
  adminToken: string | undefined;
  /** Resolves to the names of whatever is not ready (empty when all is well). */
  readiness: () => Promise<Record<string, string>>;
  /** Resolves to what needs attention soon without being a problem yet (e.g. a key about to expire). */
  warnings?: () => Promise<Record<string, string>>;
  /** Renders the /metrics page (Prometheus text format). */
  metrics: () => Promise<string>;
  /** Bearer token /metrics wants; undefined: open. */
  metricsToken: string | undefined;
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
  app.use(refuseDuplicateHeaders());

  app.get('/healthz', handle(() => ({ status: 200, body: { status: 'ok' } })));
  app.get(
    '/readyz',
    handle(async () => {
      const [problems, warnings] = await Promise.all([deps.readiness(), deps.warnings?.() ?? {}]);
      const ready = Object.keys(problems).length === 0;
      return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'degraded', problems, warnings } };
    }),
  );
  app.use(keyRoutes(deps));
  app.use(metricsRoute(deps.metrics, deps.metricsToken));
  app.use('/v1/advisories', advisoryRoutes(deps));
  app.use('/v1/recipients', adminAuth(deps.adminToken), recipientRoutes(deps));
  app.use('/v1/publishers', adminAuth(deps.adminToken), publisherRoutes(deps));
  app.use('/v1/deliveries', adminAuth(deps.adminToken), deliveryRoutes({ archive: deps.archive, states: deps.deliveries, replayer: deps.replayer }));
  app.use('/v1/unsubscribe', unsubscribeRoutes(deps));
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.log));
  return app;
}
