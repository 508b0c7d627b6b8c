import type { RequestHandler } from 'express';
import { bearerChecker } from './bearer-token';
import { HttpError } from './http-error';

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
    next();
  };
}
