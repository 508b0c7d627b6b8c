import express, { type RequestHandler } from 'express';
import { HttpError } from './http-error';

/** 1 MiB, the largest request body tocsin reads. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Reads a JSON body: 415 unless the content type is application/json (UTF-8), 413 over 1 MiB,
 * 400 when it does not parse.
 */
export function jsonBody(): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const type = req.headers['content-type'];
    if (!type || !req.is('application/json')) {
      return next(new HttpError(415, 'unsupported_media_type', `content-type must be application/json (got ${type ?? 'none'})`));
    }
    next();
  };
  return [requireJson, express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true })];
}
