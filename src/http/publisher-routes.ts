import { Router, type Request } from 'express';
import { z } from 'zod';
import { FILESYSTEM_ACTOR, type PublisherRegistry } from '../publishers/publisher-registry';
import { unsafeTextProblem } from '../util/safe-text';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError } from './http-error';
import { BODY_LIMIT_BYTES, jsonBody } from './json-body';

export interface PublisherRouteDeps {
  publishers: PublisherRegistry;
}

/** The header naming who makes a change: the admin token is shared, the audit log needs a name. */
export const ACTOR_HEADER = 'X-Tocsin-Actor';
const ACTOR = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const FINGERPRINT = /^[0-9A-F]{40}([0-9A-F]{24})?$/;

const enrolSchema = z.strictObject({
  /** One armored OpenPGP public key, as `gpg --export --armor FINGERPRINT` writes it. */
  key: z.string().min(1, 'must not be empty').max(BODY_LIMIT_BYTES),
});

/** Why an actor name is refused, or null. The text rule first, so a hidden character is named. */
function actorProblem(actor: string | undefined): string | null {
  if (actor === undefined) return 'is required: the name of the person making this change, for the audit log';
  const unsafe = unsafeTextProblem(actor, 'single');
  if (unsafe) return unsafe;
  if (!ACTOR.test(actor)) return 'must be 1-64 of letters, digits, ".", "_", "@", "+" or "-", starting with a letter or digit';
  if (actor.toLowerCase() === FILESYSTEM_ACTOR) return `"${FILESYSTEM_ACTOR}" is reserved for changes made in the keys directory by hand`;
  return null;
}

function actorOf(req: Request): string {
  const actor = req.get(ACTOR_HEADER);
  const problem = actorProblem(actor);
  if (problem) throw new HttpError(400, 'invalid_actor', `${ACTOR_HEADER} ${problem}`, [{ field: ACTOR_HEADER, message: problem }]);
  return actor as string;
}

function fingerprintParam(req: Request): string {
  const fingerprint = String(req.params.fingerprint).toUpperCase();
  if (!FINGERPRINT.test(fingerprint)) {
    throw new HttpError(400, 'invalid_fingerprint', 'the fingerprint must be 40 (or 64) hex digits, without spaces', [{ field: 'fingerprint', message: 'must be 40 or 64 hex digits' }]);
  }
  return fingerprint;
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
