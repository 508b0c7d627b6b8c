import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './http-error';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
  const expected = token === undefined ? null : digest(token);
  return (req, res, next) => {
    if (expected === null) {
      return next(new HttpError(403, 'admin_disabled', 'the admin API is off: set TOCSIN_ADMIN_TOKEN to turn it on'));
    }
    // The scheme is case-insensitive and may be followed by several spaces (RFC 9110 11.4); the
    // token itself must match exactly: whitespace inside it is never trimmed away.
    const match = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
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
