import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { filterableKinds, recipientFilterSchema, type RecipientFilter } from '../recipients/recipient';
import type { SubscriptionLimits } from '../subscriptions/subscription-limits';
import { managePath } from '../subscriptions/subscription-paths';
import type { Subscriptions } from '../subscriptions/subscriptions';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError, type Reply } from './http-error';
import { jsonBody } from './json-body';
import {
  confirmButtonPage,
  deadLinkPage,
  filterSavedPage,
  formProblemsPage,
  manageForm,
  REQUEST_TAKEN,
  requestTakenPage,
  subscribeForm,
  subscribedPage,
  unknownManageLinkPage,
} from './subscribe-pages';

export interface SubscriptionRouteDeps {
  /** Null when email is off (no TOCSIN_SMTP_URLS): there is nothing to subscribe to. */
  subscriptions: Subscriptions | null;
  subscriptionLimits: SubscriptionLimits;
  /** Base of the links the pages show (TOCSIN_PUBLIC_URL). */
  publicUrl: string;
}

/** The body of `POST /v1/subscriptions`. */
export const subscribeSchema = z.strictObject({
  address: z.string().max(254).email(),
  filter: recipientFilterSchema.optional(),
});

/** The body of `POST /v1/subscriptions/manage`: `filter: null` takes every advisory again. */
export const manageSchema = z.strictObject({
  token: z.string().min(1).max(200),
  filter: recipientFilterSchema.nullable(),
});

const isForm = (req: Request) => req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';

/** A form post (the pages' own forms, no script needed) or JSON, each within its limit. */
function jsonOrForm(): RequestHandler[] {
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const [requireJson, json] = jsonBody() as [RequestHandler, RequestHandler];
  return [(req, res, next) => (isForm(req) ? form(req, res, next) : requireJson(req, res, next)), (req, res, next) => (isForm(req) ? next() : json(req, res, next))];
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/**
 * A filter from the form's fields, shaped as the JSON API takes it, so that one schema checks
 * both. Nothing chosen (any severity, both kinds, no product) is no filter at all.
 */
function formFilter(fields: Record<string, unknown>): RecipientFilter | Record<string, unknown> | null {
  const filter: Record<string, unknown> = {};
  const severity = list(fields.min_severity)[0];
  if (severity) filter.min_severity = severity;
  const kinds = list(fields.kinds);
  if (kinds.length > 0 && kinds.length < filterableKinds.length) filter.kinds = kinds;
  const products = list(fields.products).flatMap((p) => p.split(/[\r\n,]+/)).map((p) => p.trim()).filter((p) => p !== '');
  if (products.length > 0) filter.products = products;
  return Object.keys(filter).length > 0 ? filter : null;
}

/** What a form or JSON body says, before the schema judges it. */
function subscribeInput(req: Request): unknown {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (!isForm(req)) return body;
  const filter = formFilter(body);
  return { address: list(body.address)[0] ?? '', ...(filter ? { filter } : {}) };
}

function manageInput(req: Request): unknown {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return isForm(req) ? { token: list(body.token)[0] ?? '', filter: formFilter(body) } : body;
}

/** A refusal as the asker reads it: a page for a form, the API's error body for JSON. */
function refusal(req: Request, status: number, code: string, message: string, fields: { field: string; message: string }[], headers: Record<string, string> = {}): Reply {
  if (isForm(req)) return formProblemsPage(status, fields.length > 0 ? fields : [{ field: '(request)', message }], headers);
  return { status, headers, body: { error: { code, message, ...(fields.length > 0 ? { fields } : {}) } } };
}

function subscriptionsOn(deps: SubscriptionRouteDeps): Subscriptions {
  if (!deps.subscriptions) throw new HttpError(503, 'subscriptions_off', 'subscriptions are off: the email channel is not configured (TOCSIN_SMTP_URLS, TOCSIN_MAIL_FROM)');
  return deps.subscriptions;
}

/** Public: ask for a subscription, confirm it, change its filter. No token: the mailbox is the proof. */
export function subscriptionRoutes(deps: SubscriptionRouteDeps): Router {
  const router = Router();

  router.post(
    '/',
    ...jsonOrForm(),
    handle(async (req) => {
      const subscriptions = subscriptionsOn(deps);
      // Counted before anything else, so a client learns nothing and costs nothing past its limit.
      const client = await deps.subscriptionLimits.fromClient(req.ip ?? req.socket.remoteAddress ?? 'unknown');
      if (!client.allowed) {
        const message = `too many subscription requests from this client: try again in ${client.retryAfterSeconds} s`;
        return refusal(req, 429, 'rate_limited', message, [], { 'Retry-After': String(client.retryAfterSeconds) });
      }
      const parsed = subscribeSchema.safeParse(subscribeInput(req));
      if (!parsed.success) return refusal(req, 400, 'invalid_subscription', 'invalid subscription request', fieldProblems(parsed.error));
      const { address, filter } = parsed.data;
      // After the answer is on its way: what happens next depends on the address (already
      // subscribed? its own limit?), and neither the answer nor its timing may tell.
      setImmediate(() => void subscriptions.request(address, filter));
      return isForm(req) ? requestTakenPage() : { status: 202, body: { status: 'accepted', message: REQUEST_TAKEN } };
    }),
  );

  router.get(
    '/confirm/:token',
    handle((req) => {
      const state = subscriptionsOn(deps).linkState(String(req.params.token));
      return state === 'valid' ? confirmButtonPage() : deadLinkPage(state);
    }),
  );

  router.post(
    '/confirm/:token',
    // The button's form has no fields that matter: read only to drain it.
    express.urlencoded({ extended: false, limit: '1kb' }),
    handle(async (req) => {
      const result = await subscriptionsOn(deps).confirm(String(req.params.token));
      if (result.outcome !== 'subscribed') return deadLinkPage(result.outcome);
      return subscribedPage(result.recipient.address, `${deps.publicUrl}${managePath(result.recipient.unsubscribe_token)}`);
    }),
  );

  router.post(
    '/manage',
    ...jsonOrForm(),
    handle(async (req) => {
      const subscriptions = subscriptionsOn(deps);
      const parsed = manageSchema.safeParse(manageInput(req));
      if (!parsed.success) return refusal(req, 400, 'invalid_filter', 'invalid filter', fieldProblems(parsed.error));
      const updated = await subscriptions.changeFilter(parsed.data.token, parsed.data.filter);
      if (!updated) return isForm(req) ? unknownManageLinkPage() : refusal(req, 404, 'not_found', 'unknown manage token, or the subscription has ended', []);
      return isForm(req) ? filterSavedPage(updated.address) : { status: 200, body: { address: updated.address, filter: updated.filter ?? null } };
    }),
  );

  return router;
}

/** GET /subscribe: the form, or with `?manage=TOKEN` the subscriber's own filter to change. */
export function subscribePageRoutes(deps: SubscriptionRouteDeps): Router {
  const router = Router();
  router.get(
    '/',
    handle(async (req) => {
      subscriptionsOn(deps);
      const token = typeof req.query.manage === 'string' ? req.query.manage : undefined;
      if (token === undefined) return subscribeForm();
      const subscriber = await deps.subscriptions!.subscriber(token);
      return subscriber ? manageForm(token, subscriber.address, subscriber.filter) : unknownManageLinkPage();
    }),
  );
  return router;
}
