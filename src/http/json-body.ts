import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { HttpError } from './http-error';

/** 1 MiB, the largest request body tocsin reads (after any Content-Encoding is undone). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Reads a JSON body: 415 unless the content type is application/json in UTF-8 (no charset, or
 * `charset=utf-8`), 413 over 1 MiB, 400 when it is not UTF-8 or does not parse.
 */
export function jsonBody(): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const type = req.headers['content-type'];
    if (!type || !req.is('application/json')) {
      return next(new HttpError(415, 'unsupported_media_type', `content-type must be application/json (got ${type ?? 'none'})`));
    }
    // JSON is UTF-8 (RFC 8259). Another charset would be decoded, and the document re-encoded as
    // UTF-8 for verification: bytes nobody signed.
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return next(new HttpError(415, 'unsupported_media_type', `charset must be utf-8 (got ${charset || 'an empty one'})`));
    }
    next();
  };
  return [
    requireJson,
    express.json({
      limit: BODY_LIMIT_BYTES,
      strict: true,
      type: () => true,
      // A decoder would turn invalid bytes into U+FFFD silently, and the signature would then fail
      // over text the publisher never wrote: say what is wrong instead.
      verify: (_req, _res, buf) => {
        if (!isUtf8(buf)) throw new HttpError(400, 'malformed_json', 'request body is not valid UTF-8 (JSON must be UTF-8)');
      },
    }),
  ];
}
