import { Router, type Request } from 'express';
import { z } from 'zod';
import { FILESYSTEM_ACTOR, type PublisherRegistry } from '../publishers/publisher-registry';
import { safeText } from '../util/safe-text';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { BODY_LIMIT_BYTES, jsonBody } from './json-body';

export interface PublisherRouteDeps {
  publishers: PublisherRegistry;
}

/** The header naming who makes a change: the admin token is shared, the audit log needs a name. */
export const ACTOR_HEADER = 'X-Tocsin-Actor';
const ACTOR = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/** The `X-Tocsin-Actor` header: who makes a change, in the audit log. */
export const actorHeaderSchema = z
  .string({ error: 'is required: the name of the person making this change, for the audit log' })
  // The text rule first, so that a hidden character is named rather than called a bad name.
  .check(safeText('single'))
  .regex(ACTOR, 'must be 1-64 of letters, digits, ".", "_", "@", "+" or "-", starting with a letter or digit')
  .refine((actor) => actor.toLowerCase() !== FILESYSTEM_ACTOR, `"${FILESYSTEM_ACTOR}" is reserved for changes made in the keys directory by hand`);

/** The `:fingerprint` of a publisher route, in either case (it is compared upper-cased). */
export const fingerprintParamSchema = z.string().regex(/^[0-9A-Fa-f]{40}([0-9A-Fa-f]{24})?$/, 'must be 40 or 64 hex digits');

/** The body of `POST /v1/publishers`. */
export const enrolSchema = z.strictObject({
  /** One armored OpenPGP public key, as `gpg --export --armor FINGERPRINT` writes it. */
  key: z.string().min(1, 'must not be empty').max(BODY_LIMIT_BYTES),
});

function actorOf(req: Request): string {
  const parsed = actorHeaderSchema.safeParse(req.get(ACTOR_HEADER));
  if (!parsed.success) {
    const problem = parsed.error.issues[0]!.message;
    throw new HttpError(400, 'invalid_actor', `${ACTOR_HEADER} ${problem}`, [{ field: ACTOR_HEADER, message: problem }]);
  }
  return parsed.data;
}

function fingerprintParam(req: Request): string {
  const parsed = fingerprintParamSchema.safeParse(String(req.params.fingerprint));
  if (!parsed.success) {
    throw new HttpError(400, 'invalid_fingerprint', 'the fingerprint must be 40 (or 64) hex digits, without spaces', [{ field: 'fingerprint', message: 'must be 40 or 64 hex digits' }]);
  }
  return parsed.data.toUpperCase();
}

/** Admin: enrol, list and remove publisher keys; every change is written to the audit log first. */
export function publisherRoutes(deps: PublisherRouteDeps): Router {
  const router = Router();

  router.get(
    '/',
    handle(async () => {
      const head = deps.publishers.auditHead();
      return {
        status: 200,
        body: {
          publishers: await deps.publishers.list(),
          refused: deps.publishers.keyring().refused,
          audit_head: head ? { seq: head.seq, hash: head.hash } : null,
        },
      };
    }),
  );

  router.post(
    '/',
    ...jsonBody(),
    handle(async (req) => {
      const actor = actorOf(req);
      const parsed = enrolSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'invalid_key', 'the body must be {"key": "<armored public key>"}', fieldProblems(parsed.error));
      const { publisher, audit } = await deps.publishers.enrol(parsed.data.key, actor);
      return { status: 201, headers: { Location: `/v1/publishers/${publisher.fingerprint}` }, body: { ...publisher, audit } };
    }),
  );

  // Where the 201's Location points.
  router.get(
    '/:fingerprint',
    handle(async (req) => {
      const fingerprint = fingerprintParam(req);
      const publisher = (await deps.publishers.list()).find((p) => p.fingerprint === fingerprint);
      if (!publisher) throw new HttpError(404, 'not_found', `no enrolled publisher ${fingerprint}`);
      return { status: 200, body: publisher };
    }),
  );

  router.delete(
    '/:fingerprint',
    handle(async (req) => {
      const actor = actorOf(req);
      const fingerprint = fingerprintParam(req);
      const audit = await deps.publishers.remove(fingerprint, actor);
      return { status: 200, body: { fingerprint, removed: true, audit } };
    }),
  );

  return router;
}
