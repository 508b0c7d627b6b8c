import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './http-error';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
    next();
  };
}
