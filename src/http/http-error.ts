import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { streamJson, type JsonStream } from './stream-json';
import { BroadcasterKeyUnusableError } from '../pgp/broadcaster-keys';
import {
  AdvisoryIdCollisionError,
  AdvisoryRetractedError,
  HoldExpiredError,
  InvalidSubmissionError,
  NoSuchSubmissionError,
  RevisionConflictError,
  UnauthenticatedSubmissionError,
  type FieldProblem,
} from '../publish/intake-errors';
import { InvalidPublisherKeyError, PublisherAlreadyEnrolledError, PublisherNotEnrolledError } from '../publishers/publisher-errors';

/** An error with the HTTP answer it deserves. `code` is stable for clients to switch on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.details = options?.details ?? {};
  }

  /** More members of the error body beside `code`, `message` and `fields` (e.g. `expected_revision`). */
  readonly details: Record<string, unknown>;
}

/** What a handler returns: the router writes it. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as this content type, verbatim (a string). Default: JSON. */
  type?: string;
  /** Instead of `body`: JSON too large to hold, written as its array's items come (see streamJson). */
  stream?: JsonStream;
  /** Called once the answer is written, or abandoned by the client or by an error: what the handler held for it is let go. */
  release?: () => void;
}

/** Adapts a handler that returns a {@link Reply} to express. */
export function handle(fn: (req: Request) => Promise<Reply> | Reply): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    let reply: Reply | undefined;
    try {
      reply = await fn(req);
      if (reply.stream) {
        await streamJson(res, reply.status, reply.headers ?? {}, reply.stream);
        return;
      }
      res.status(reply.status).set(reply.headers ?? {});
      if (reply.body === undefined) res.end();
      else if (reply.type) res.type(reply.type).send(reply.body);
      else res.json(reply.body);
    } catch (err) {
      next(err);
    } finally {
      reply?.release?.();
    }
  };
}

/** Maps any error to an HttpError: the one place that decides status codes for failures. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof InvalidSubmissionError) return new HttpError(400, 'invalid_submission', err.message, err.problems);
  if (err instanceof UnauthenticatedSubmissionError) {
    const fields = err.problems.map((p) => {
      const at = p.indexOf(': ');
      return at > 0 ? { field: p.slice(0, at), message: p.slice(at + 2) } : { field: 'signatures', message: p };
    });
    return new HttpError(401, 'unauthenticated', err.message, fields);
  }
  if (err instanceof RevisionConflictError) return new HttpError(409, 'revision_conflict', err.message, [], { details: { expected_revision: err.expectedRevision } });
  if (err instanceof AdvisoryIdCollisionError) return new HttpError(409, 'id_conflict', err.message, [{ field: 'document.id', message: err.message }]);
  if (err instanceof HoldExpiredError) return new HttpError(410, 'hold_expired', err.message);
  if (err instanceof AdvisoryRetractedError) return new HttpError(409, 'retracted', err.message, [{ field: err.field, message: err.message }]);
  if (err instanceof NoSuchSubmissionError) return new HttpError(404, 'not_found', err.message, err.field ? [{ field: err.field, message: err.message }] : []);
  if (err instanceof InvalidPublisherKeyError) return new HttpError(400, 'invalid_key', `key: ${err.message}`, [{ field: 'key', message: err.message }]);
  if (err instanceof PublisherAlreadyEnrolledError) return new HttpError(409, 'already_enrolled', err.message);
  if (err instanceof PublisherNotEnrolledError) return new HttpError(404, 'not_found', err.message);
  if (err instanceof BroadcasterKeyUnusableError) return new HttpError(503, 'signing_unavailable', `${err.message}: nothing was accepted; try again once the operator has installed a new key`);
  // body-parser's errors carry a `type` and a status.
  const parser = err as { type?: string; status?: number; message?: string };
  switch (parser.type) {
    case 'entity.too.large':
      return new HttpError(413, 'too_large', 'request body is over the 1 MiB limit');
    case 'entity.parse.failed':
      return new HttpError(400, 'malformed_json', `request body is not valid JSON: ${parser.message ?? ''}`.trim());
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError(415, 'unsupported_media_type', parser.message ?? 'unsupported encoding');
    case 'request.aborted':
      return new HttpError(400, 'aborted', 'request aborted');
    case 'request.size.invalid':
      return new HttpError(400, 'malformed_body', 'request body length does not match its Content-Length');
  }
  // Whatever else express or body-parser refused as the client's fault carries a 4xx status:
  // a URL whose percent-encoding does not decode, a body that does not inflate.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (err instanceof URIError) return new HttpError(400, 'malformed_url', 'the URL holds percent-encoding that is not valid UTF-8');
    // zlib's codes start Z_ (gzip, deflate), brotli's ERR__.
    if (/^(Z_|ERR__)/.test(String((err as { code?: unknown }).code))) {
      return new HttpError(400, 'malformed_body', `request body does not decode with its Content-Encoding (${parser.message ?? 'corrupt'})`);
    }
    return new HttpError(status, 'bad_request', parser.message ?? 'bad request');
  }
  return new HttpError(500, 'internal', 'internal error', [], { cause: err });
}

/** The last express middleware: one shape for every error body. Internal details are logged, not sent. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const http = toHttpError(err);
    if (http.status >= 500) log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return res.end();
    const body: { error: { code: string; message: string; fields?: FieldProblem[] } & Record<string, unknown> } = {
      error: { code: http.code, message: http.message, ...http.details },
    };
    if (http.fields.length > 0) body.error.fields = http.fields;
    res.status(http.status).json(body);
  };
}
