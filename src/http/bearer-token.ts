import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Checks an `Authorization` header against `Bearer <token>`, in constant time. The scheme is
 * case-insensitive and may be followed by several spaces (RFC 9110 11.4); the token itself must
 * match exactly: whitespace inside it is never trimmed away.
 *
 * @example const isAdmin = bearerChecker(config.adminToken); isAdmin(req.headers.authorization)
 */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^bearer +(.+)$/i.exec(authorization ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}
