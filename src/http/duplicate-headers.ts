import type { RequestHandler } from 'express';
import { HttpError } from './http-error';
import { ACTOR_HEADER } from './publisher-routes';

/**
 * Headers that Node keeps only the first of when a request repeats them, and X-Tocsin-Actor, which
 * Node joins with ", " (a name no one has). A repeated one is ambiguous (a proxy in front may have
 * read the other), so the request is refused, not guessed.
 */
const SINGLE = new Set(['authorization', 'content-length', 'content-type', 'host', ACTOR_HEADER.toLowerCase()]);

/** 400 `duplicate_header` when a request repeats a header that must appear once. */
export function refuseDuplicateHeaders(): RequestHandler {
  return (req, _res, next) => {
    const seen = new Set<string>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] ?? '').toLowerCase();
      if (!SINGLE.has(name)) continue;
      if (seen.has(name)) return next(new HttpError(400, 'duplicate_header', `the ${name} header appears more than once`));
      seen.add(name);
    }
    next();
  };
}
