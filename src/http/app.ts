import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { adminAuth } from './admin-auth';
import { advisoryRoutes, type AdvisoryRouteDeps } from './advisory-routes';
import { bounceRoutes } from './bounce-routes';
import { deliveryRoutes, type DeliveryRouteDeps } from './delivery-routes';
import { drillAckRoutes, type DrillAckRouteDeps } from './drill-ack-routes';
import { drillRoutes } from './drill-routes';
import { refuseDuplicateHeaders } from './duplicate-headers';
import { errorHandler, handle, HttpError } from './http-error';
import { keyRoutes, type KeyRouteDeps } from './key-routes';
import { publisherRoutes, type PublisherRouteDeps } from './publisher-routes';
import { metricsRoute } from './metrics-route';
import { openApiRoutes } from './openapi-routes';
import { recipientRoutes, type RecipientRouteDeps } from './recipient-routes';
import { subscribePageRoutes, subscriptionRoutes, type SubscriptionRouteDeps } from './subscription-routes';
import { unsubscribeRoutes } from './unsubscribe-routes';

export interface AppDeps
  extends AdvisoryRouteDeps,
    RecipientRouteDeps,
    PublisherRouteDeps,
    KeyRouteDeps,
    SubscriptionRouteDeps,
    Pick<DeliveryRouteDeps, 'replayer'>,
    Pick<DrillAckRouteDeps, 'drillAcks' | 'drillAckKey'> {
  log: Logger;
  /** express's `trust proxy` (TOCSIN_TRUST_PROXY): whose X-Forwarded-For names the client. Default false. */
  trustProxy?: boolean | number | string;
  adminToken: string | undefined;
  /** Resolves to the names of whatever is not ready (empty when all is well). */
  readiness: () => Promise<Record<string, string>>;
  /** Resolves to what needs attention soon without being a problem yet (e.g. a key about to expire). */
  warnings?: () => Promise<Record<string, string>>;
  /** Each channel's latest successful delivery (RFC 3339, null: none known), for /readyz. */
  lastDeliveries?: () => Promise<Record<string, string | null>>;
  /** Renders the /metrics page (Prometheus text format). */
  metrics: () => Promise<string>;
  /** Bearer token /metrics wants; undefined: open. */
  metricsToken: string | undefined;
}

/**
 * The API's routers, each with its mount path and the guards before it, in the order createApp
 * mounts them. Apart from createApp so that a test can list every route with its full path:
 * express keeps no documented record of where a router was mounted.
 */
export function mountedRouters(deps: AppDeps): [mountPath: string, ...handlers: RequestHandler[]][] {
  return [
    ['/', keyRoutes(deps)],
    ['/', metricsRoute(deps.metrics, deps.metricsToken)],
    ['/', openApiRoutes()],
    ['/v1/advisories', advisoryRoutes(deps)],
    ['/v1/recipients', adminAuth(deps.adminToken), recipientRoutes(deps)],
    ['/v1/publishers', adminAuth(deps.adminToken), publisherRoutes(deps)],
    ['/v1/deliveries', adminAuth(deps.adminToken), deliveryRoutes({ archive: deps.archive, states: deps.deliveries, receipts: deps.receipts, replayer: deps.replayer })],
    ['/v1/unsubscribe', unsubscribeRoutes(deps)],
    ['/v1/subscriptions', subscriptionRoutes(deps)],
    ['/subscribe', subscribePageRoutes(deps)],
    ['/v1/bounces', adminAuth(deps.adminToken), bounceRoutes(deps)],
    // Before the admin guard: the acknowledgement link is public, its token the only proof.
    ['/v1/drills', drillAckRoutes({ archive: deps.archive, drillAcks: deps.drillAcks, drillAckKey: deps.drillAckKey })],
    ['/v1/drills', adminAuth(deps.adminToken), drillRoutes({ intake: deps.intake, archive: deps.archive, states: deps.deliveries, receipts: deps.receipts, drillAcks: deps.drillAcks })],
  ];
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Off unless configured: otherwise any client could name its own address in X-Forwarded-For.
  app.set('trust proxy', deps.trustProxy ?? false);
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
      const [problems, warnings, lastDelivery] = await Promise.all([deps.readiness(), deps.warnings?.() ?? {}, deps.lastDeliveries?.() ?? {}]);
      const ready = Object.keys(problems).length === 0;
      return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'degraded', problems, warnings, last_delivery: lastDelivery } };
    }),
  );
  for (const [mountPath, ...handlers] of mountedRouters(deps)) app.use(mountPath, ...handlers);
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.log));
  return app;
}
