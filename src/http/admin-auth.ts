import type { Request, RequestHandler } from 'express';
import { bearerChecker } from './bearer-token';
import { HttpError } from './http-error';

/** Requests that presented the admin token, for routes that show admins more than the public. */
const admitted = new WeakSet<Request>();

/** True when `adminAuth` or `optionalAdminAuth` let this request through with the admin token. */
export const isAdminRequest = (req: Request): boolean => admitted.has(req);

/**
 * Bearer-token guard for the admin API, compared in constant time. With no token configured the
 * admin API is off and answers 403, so an unset variable never means "open".
 *
 * @example app.use('/v1/recipients', adminAuth(config.adminToken))
 */
export function adminAuth(token: string | undefined): RequestHandler {
  const matches = token === undefined ? null : bearerChecker(token);
  return (req, res, next) => {
    if (matches === null) {
      return next(new HttpError(403, 'admin_disabled', 'the admin API is off: set TOCSIN_ADMIN_TOKEN to turn it on'));
    }
    if (!matches(req.headers.authorization)) {
      res.set('WWW-Authenticate', 'Bearer realm="tocsin-admin"');
      return next(new HttpError(401, 'unauthorized', 'missing or wrong admin bearer token'));
    }
    admitted.add(req);
    next();
  };
}

/**
 * For a public route that shows admins more: a request without `Authorization` passes as the
 * public; one with it must carry the admin token, exactly as for `adminAuth` (401 or 403
 * otherwise), so a mistyped token is told so rather than quietly shown the public view.
 *
 * @example router.get('/:id/deliveries', optionalAdminAuth(token), handle((req) => isAdminRequest(req) ? full : pub))
 */
export function optionalAdminAuth(token: string | undefined): RequestHandler {
  const guard = adminAuth(token);
  return (req, res, next) => (req.headers.authorization === undefined ? next() : guard(req, res, next));
}
