import { Router, type RequestHandler } from 'express';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus-text';
import { bearerChecker } from './bearer-token';
import { handle, HttpError } from './http-error';

/** Lets every request through when no token is configured; otherwise wants `Bearer <token>`, read as the admin API reads its own. */
function optionalBearer(token: string | undefined): RequestHandler {
  const matches = token === undefined ? null : bearerChecker(token);
  return (req, res, next) => {
    if (matches === null) return next();
    if (!matches(req.headers.authorization)) {
      res.set('WWW-Authenticate', 'Bearer realm="tocsin-metrics"');
      return next(new HttpError(401, 'unauthorized', 'missing or wrong metrics bearer token'));
    }
    next();
  };
}

/**
 * `GET /metrics` in the Prometheus text format. Open when no token is configured: it shows only
 * counts and the ids of advisories that GET /v1/advisories already publishes, never a recipient's
 * address, URL or secret. With TOCSIN_METRICS_TOKEN set, a scraper must send
 * `Authorization: Bearer <token>` (compared in constant time), for installations that keep even
 * counts private. It is not the admin token: a monitoring system should hold no admin power.
 *
 * @example app.use(metricsRoute(collect, config.metricsToken))
 */
export function metricsRoute(collect: () => Promise<string>, token: string | undefined): Router {
  const router = Router();
  router.get(
    '/metrics',
    optionalBearer(token),
    handle(async () => ({ status: 200, type: PROMETHEUS_CONTENT_TYPE, body: await collect() })),
  );
  return router;
}
