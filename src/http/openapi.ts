import type { z } from 'zod';
import { advisoryDocumentSchema, advisoryIdSchema } from '../advisory/schema';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus-text';
import { createRecipientSchema, importLineSchema, updateRecipientSchema } from '../recipients/recipient';
import { CSV_COLUMNS } from '../recipients/recipient-csv';
import { IMPORT_MEDIA_TYPES } from './import-body';
import { importQuerySchema } from './recipient-import-route';
import { revisionQuery } from '../util/zod-fields';
import { signaturesSchema, submissionSchema } from './advisory-routes';
import { listQuerySchema, replaySchema } from './delivery-routes';
import { drillRequestSchema } from './drill-routes';
import { drillAckFormSchema } from './drill-ack-routes';
import { fromZod, ref, responseSchemas, type Json } from './openapi-schemas';
import { ACTOR_HEADER, actorHeaderSchema, enrolSchema, fingerprintParamSchema } from './publisher-routes';
import { bounceJsonSchema } from './bounce-routes';
import { manageSchema, subscribeSchema } from './subscription-routes';

/** Where the document is served. */
export const OPENAPI_PATH = '/v1/openapi.json';

const DESCRIPTION = [
  'Out-of-band emergency advisory broadcaster. README.md is the full reference; this document is generated from the zod schemas the routes validate requests with.',
  'JSON Schema cannot express every rule: refinements (a webhook secret\'s form, an http(s) URL that parses, trimmed text that must not be empty, no lone UTF-16 surrogates, fields that need or exclude each other) are checked by the server only, which answers 400 naming the field.',
  'Every error answer has the shape of `Error`. Any route may also answer 400 (`malformed_url`, `malformed_body`, `duplicate_header`, `malformed_request`), 408, 413, 417 or 431 before it reads the request: these are the `default` response.',
].join('\n\n');

// --- pieces of operations ---------------------------------------------------------------------

const json = (description: string, schema: Json = { type: 'object' }): Json => ({ description, content: { 'application/json': { schema } } });
const text = (description: string, type: string, schema: Json = { type: 'string' }): Json => ({ description, content: { [type]: { schema } } });
const error = (description: string): Json => json(description, ref('Error'));
const body = (schema: Json, type = 'application/json'): Json => ({ required: true, content: { [type]: { schema } } });

/** A path parameter: from the zod schema the route checks it with, else any string the route looks up. */
const pathParam = (name: string, description: string, schema?: z.ZodType): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: schema ? fromZod(schema) : { type: 'string' },
});

/** Every key of a zod object schema of the query string, as one query parameter each. */
function queryParams(schema: z.ZodType): Json[] {
  const object = fromZod(schema) as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties).map(([name, s]) => ({ name, in: 'query', required: object.required?.includes(name) ?? false, schema: s }));
}

const revisionParam: Json = {
  name: 'revision',
  in: 'query',
  required: false,
  description: 'a revision, in decimal digits only; without it, the latest',
  schema: fromZod(revisionQuery),
};
const advisoryId = pathParam('id', 'an advisory id (an id outside this pattern is a 404)', advisoryIdSchema);
const actorHeader: Json = { name: ACTOR_HEADER, in: 'header', required: true, description: 'who makes this change, for the audit log', schema: fromZod(actorHeaderSchema) };
const fingerprint = pathParam('fingerprint', 'a publisher key fingerprint, either case', fingerprintParamSchema);

const admin = [{ adminToken: [] }];
const adminErrors = { '401': error('missing or wrong admin token (`unauthorized`)'), '403': error('the admin API is off: TOCSIN_ADMIN_TOKEN is unset (`admin_disabled`)') };
const jsonBodyErrors = { '413': error('body over 1 MiB (`too_large`)'), '415': error('not `application/json` in UTF-8 (`unsupported_media_type`)') };
const notFound = error('no such resource (`not_found`)');

/** Each operation answers the shared error shape for anything it does not list. */
function op(operation: Json & { responses: Record<string, Json> }): Json {
  return { ...operation, responses: { ...operation.responses, default: error('any other refusal or failure') } };
}

const keyOp = (summary: string, type: string) =>
  op({ summary, tags: ['keys'], responses: { '200': text(summary, type), '404': notFound } });

// --- the document -----------------------------------------------------------------------------

/** The OpenAPI 3.1 description of every route the API serves. */
export function openApiDocument(): Json {
  const submission = fromZod(submissionSchema) as { properties: Record<string, Json> };
  // The signed text is JSON of its own: say which, so tools can validate it too.
  submission.properties.document = { ...submission.properties.document, contentMediaType: 'application/json', contentSchema: ref('AdvisoryDocument') };
  const intake = (what: string) => ({
    '200': json('that revision was accepted before: nothing is sent again (`status: "duplicate"`)', ref('IntakeAnswer')),
    '202': json(`${what}; or held by the two-person rule, waiting for more signatures`, ref('IntakeAnswer')),
    '400': error('a bad body or field (`invalid_submission`, naming each field), malformed JSON (`malformed_json`)'),
    '401': error('no signature verifies with an enrolled publisher key (`unauthenticated`)'),
    '409': error('that id and revision exist with other content, or a newer revision was accepted (`revision_conflict`); the advisory was retracted (`retracted`)'),
    '410': error('the hold expired (`hold_expired`)'),
    '503': error('tocsin\'s own key cannot sign (`signing_unavailable`): nothing was accepted'),
    ...jsonBodyErrors,
  });

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: 'tocsin', version: 'v1', description: DESCRIPTION, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    tags: [{ name: 'advisories' }, { name: 'keys' }, { name: 'recipients' }, { name: 'publishers' }, { name: 'deliveries' }, { name: 'subscriptions' }, { name: 'operations' }],
    paths: {
      '/healthz': { get: op({ summary: 'the process is up', tags: ['operations'], responses: { '200': json('up') } }) },
      '/readyz': {
        get: op({
          summary: 'Redis answers and the broadcaster key can sign',
          tags: ['operations'],
          responses: { '200': json('ready', ref('Readiness')), '503': json('degraded: `problems` names what is not ready (a readiness report, not an error)', ref('Readiness')) },
        }),
      },
      '/metrics': {
        get: op({
          summary: 'Prometheus text format; open when TOCSIN_METRICS_TOKEN is unset',
          tags: ['operations'],
          security: [{ metricsToken: [] }],
          responses: { '200': text('every metric', PROMETHEUS_CONTENT_TYPE), '401': error('TOCSIN_METRICS_TOKEN is set and was not sent (`unauthorized`)') },
        }),
      },
      [OPENAPI_PATH]: { get: op({ summary: 'this document', tags: ['operations'], responses: { '200': json('the OpenAPI 3.1 document') } }) },
      '/v1/advisories': {
        post: op({ summary: 'submit a signed advisory', tags: ['advisories'], requestBody: body(ref('Submission')), responses: { ...intake('accepted: archived and queued'), '404': error('a retraction names an advisory with no accepted revision (`not_found`, naming `document.retracts`)') } }),
        get: op({
          summary: 'the latest public revision of each advisory, newest first; the admin token lists every revision, embargoed and above TLP:CLEAR too',
          tags: ['advisories'],
          security: [{}, ...admin],
          responses: { '200': json('`{advisories: [record, ...]}`', { type: 'object', properties: { advisories: { type: 'array', items: ref('AdvisoryRecord') } } }), ...adminErrors },
        }),
      },
      '/v1/advisories/{id}': {
        get: op({
          summary: 'one revision: the record, document and signatures; or a held revision\'s state. Without the admin token only public revisions exist: one under embargo or above TLP:CLEAR is a 404 like an unknown id',
          tags: ['advisories'],
          security: [{}, ...admin],
          parameters: [advisoryId, revisionParam],
          responses: { '200': json('the record plus `revisions`, `document`, `publisher_signatures`, `broadcaster_signature`; or a `Hold`'), '404': notFound, ...adminErrors },
        }),
      },
      '/v1/advisories/{id}/signatures': {
        post: op({
          summary: 'add signatures to a held revision',
          tags: ['advisories'],
          parameters: [advisoryId, { ...revisionParam, description: 'the held revision; without it, the latest held' }],
          requestBody: body(ref('Signatures')),
          responses: { ...intake('now signed by enough publishers: accepted and queued'), '404': notFound },
        }),
      },
      '/v1/advisories/{id}/deliveries': {
        get: op({
          summary: 'where each recipient stands; the admin token shows full error texts, and revisions not yet public (404 without it)',
          tags: ['advisories', 'deliveries'],
          security: [{}, ...admin],
          parameters: [
            advisoryId,
            revisionParam,
            {
              name: 'sha256',
              in: 'query',
              required: false,
              description: "the signed document's SHA-256 (64 lower-case hex digits): opens this read for a revision not yet public, as publish --wait does",
              schema: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            },
          ],
          responses: { '200': json('`{id, revision, view, summary, deliveries}`; while a revision waits for its embargo to end, `scheduled`: `{release_at, count, by_channel}` (and `recipients`, `[{recipient, channel}]`, for an admin), whom its release will add'), '400': error('a malformed `revision` or `sha256` (`invalid_query`)'), '404': notFound, '503': error('too many delivery lists of large revisions being read at once (`busy`); Retry-After says when to try again'), ...adminErrors },
        }),
      },
      '/v1/keys/broadcaster.asc': { get: keyOp('tocsin\'s armored public key', 'application/pgp-keys') },
      '/v1/keys/transition.json': { get: keyOp('the last rotation\'s statement, as signed (404 before any rotation)', 'application/json') },
      '/v1/keys/transition.json.asc': { get: keyOp('detached signatures over the statement by the old and the new key', 'application/pgp-signature') },
      '/.well-known/openpgpkey/policy': { get: keyOp('Web Key Directory policy (direct method): empty', 'text/plain') },
      '/.well-known/openpgpkey/hu/{hash}': {
        get: { ...keyOp('Web Key Directory key (direct method), binary', 'application/octet-stream'), parameters: [pathParam('hash', 'z-base-32 SHA-1 of the local part')] },
      },
      '/.well-known/openpgpkey/{domain}/policy': {
        get: { ...keyOp('Web Key Directory policy (advanced method): empty', 'text/plain'), parameters: [pathParam('domain', 'the key\'s email domain')] },
      },
      '/.well-known/openpgpkey/{domain}/hu/{hash}': {
        get: {
          ...keyOp('Web Key Directory key (advanced method), binary', 'application/octet-stream'),
          parameters: [pathParam('domain', 'the key\'s email domain'), pathParam('hash', 'z-base-32 SHA-1 of the local part')],
        },
      },
      '/v1/recipients': {
        post: op({
          summary: 'enrol a recipient',
          tags: ['recipients'],
          security: admin,
          requestBody: body(ref('CreateRecipient')),
          responses: {
            '201': json('the recipient, secrets left out', ref('Recipient')),
            '400': error('a bad field (`invalid_recipient`), a channel that is off (`channel_disabled`), a target address not allowed (`forbidden_target`)'),
            ...adminErrors,
            ...jsonBodyErrors,
          },
        }),
        get: op({ summary: 'every recipient, secrets left out', tags: ['recipients'], security: admin, responses: { '200': json('`{recipients: [...]}`', { type: 'object', properties: { recipients: { type: 'array', items: ref('Recipient') } } }), ...adminErrors } }),
      },
      '/v1/recipients/import': {
        post: op({
          summary: 'enrol or update many recipients: NDJSON (one ImportLine per line) or CSV (a header row naming columns)',
          description: `Read as a stream, up to 64 MiB. CSV columns: ${CSV_COLUMNS.join(', ')}; lists as \`a;b\`. A line naming the target of an existing recipient updates it. All or nothing unless \`skip_invalid=true\`.`,
          tags: ['recipients'],
          security: admin,
          parameters: queryParams(importQuerySchema),
          requestBody: { required: true, content: { [IMPORT_MEDIA_TYPES.ndjson]: { schema: ref('ImportLine') }, [IMPORT_MEDIA_TYPES.csv]: { schema: { type: 'string' } } } },
          responses: {
            '200': json('what was done, and each line refused (with skip_invalid)', ref('ImportReport')),
            '400': error('a refused line, all or nothing (`invalid_import`, with `rejected` as in ImportReport); a CSV that cannot be read on; a bad query (`invalid_query`)'),
            '413': error('body over 64 MiB (`too_large`)'),
            '415': error('not NDJSON or CSV in UTF-8, or compressed (`unsupported_media_type`)'),
            ...adminErrors,
          },
        }),
      },
      '/v1/recipients/{id}': {
        get: op({ summary: 'one recipient', tags: ['recipients'], security: admin, parameters: [pathParam('id', 'a recipient id')], responses: { '200': json('the recipient', ref('Recipient')), '404': notFound, ...adminErrors } }),
        patch: op({
          summary: "change a recipient's groups, tlp or filter (each given field replaced whole; `filter: null` removes the filter)",
          tags: ['recipients'],
          security: admin,
          parameters: [pathParam('id', 'a recipient id')],
          requestBody: body(ref('UpdateRecipient')),
          responses: {
            '200': json('the recipient as changed, secrets left out', ref('Recipient')),
            '400': error('a bad field, a field a PATCH cannot change (`url`, a secret...), nothing to change, or a `tlp` above CLEAR for Mastodon (`invalid_recipient`, naming each field)'),
            '404': notFound,
            ...adminErrors,
            ...jsonBodyErrors,
          },
        }),
        delete: op({ summary: 'remove a recipient', tags: ['recipients'], security: admin, parameters: [pathParam('id', 'a recipient id')], responses: { '204': { description: 'removed' }, '404': notFound, ...adminErrors } }),
      },
      '/v1/publishers': {
        get: op({ summary: 'enrolled publisher keys, refused key files, the audit log head', tags: ['publishers'], security: admin, responses: { '200': json('`{publishers, refused, audit_head}`'), ...adminErrors } }),
        post: op({
          summary: 'enrol a publisher key',
          tags: ['publishers'],
          security: admin,
          parameters: [actorHeader],
          requestBody: body(ref('EnrolPublisher')),
          responses: {
            '201': json('the publisher and its audit entry', ref('Publisher')),
            '400': error('a bad key (`invalid_key`) or actor (`invalid_actor`)'),
            '409': error('already enrolled (`already_enrolled`)'),
            ...adminErrors,
            ...jsonBodyErrors,
          },
        }),
      },
      '/v1/publishers/{fingerprint}': {
        get: op({ summary: 'one enrolled publisher', tags: ['publishers'], security: admin, parameters: [fingerprint], responses: { '200': json('the publisher', ref('Publisher')), '400': error('not a fingerprint (`invalid_fingerprint`)'), '404': notFound, ...adminErrors } }),
        delete: op({
          summary: 'remove a publisher key',
          tags: ['publishers'],
          security: admin,
          parameters: [fingerprint, actorHeader],
          responses: { '200': json('`{fingerprint, removed: true, audit}`'), '400': error('not a fingerprint (`invalid_fingerprint`) or a bad actor (`invalid_actor`)'), '404': notFound, ...adminErrors },
        }),
      },
      '/v1/deliveries': {
        get: op({
          summary: 'dead letters: failed deliveries',
          tags: ['deliveries'],
          security: admin,
          parameters: queryParams(listQuerySchema),
          responses: { '200': json('`{state, count, deliveries}`'), '400': error('a bad query (`invalid_query`); `revision` needs `advisory`'), '404': notFound, ...adminErrors },
        }),
      },
      '/v1/deliveries/replay': {
        post: op({
          summary: 'send failed deliveries again',
          tags: ['deliveries'],
          security: admin,
          requestBody: body(ref('ReplayRequest')),
          responses: {
            '202': json('`{replayed, skipped}`'),
            '400': error('a bad request (`invalid_replay`): name an advisory or set `all_failed`, not both'),
            '404': notFound,
            '409': error('a named delivery has not failed (`not_replayable`)'),
            ...adminErrors,
            ...jsonBodyErrors,
          },
        }),
      },
      '/v1/drills': {
        get: op({ summary: 'the 50 latest drills, newest first', tags: ['operations'], security: admin, responses: { '200': json('`{drills: [{id, started_at, title}]}`'), ...adminErrors } }),
        post: op({
          summary: 'start a drill: a notice signed by tocsin, through the whole path, to every recipient or the channels and group named',
          tags: ['operations'],
          security: admin,
          requestBody: body(ref('DrillRequest')),
          responses: {
            '202': json('`{id: "drill_...", accepted_at, delivery}`; its deliveries are read at /v1/advisories/{id}/deliveries'),
            '400': error('a bad field (`invalid_drill`, naming it)'),
            '503': error('tocsin\'s own key cannot sign (`signing_unavailable`): no drill was started'),
            ...adminErrors,
            ...jsonBodyErrors,
          },
        }),
      },
      '/v1/drills/{id}': {
        get: op({
          summary: 'a drill\'s report: per channel recipients, delivered, failed, retrying, times from acceptance, the slowest, every failure; acks',
          tags: ['operations'],
          security: admin,
          parameters: [pathParam('id', 'a drill id')],
          responses: { '200': json('`{id, started_at, channels, acks}`'), '404': notFound, ...adminErrors },
        }),
      },
      '/v1/drills/{id}/report.html': {
        get: op({
          summary: 'a drill\'s report as a page, with a delivery timeline per channel (inline SVG, no script)',
          tags: ['operations'],
          security: admin,
          parameters: [pathParam('id', 'a drill id')],
          responses: { '200': text('the page', 'text/html'), '404': notFound, ...adminErrors },
        }),
      },
      '/v1/drills/{id}/ack': {
        parameters: [pathParam('id', 'a drill id')],
        get: op({
          summary: 'a drill notice\'s acknowledgement page, with a Confirm receipt button (opening the link records nothing: mail scanners open links)',
          tags: ['operations'],
          parameters: [{ name: 'token', in: 'query', required: true, description: 'the token of the link in the drill\'s email or Slack notice', schema: { type: 'string' } }],
          responses: { '200': text('the page: the button, or already confirmed', 'text/html'), '404': text('unknown link: a forged token, another drill\'s, or none', 'text/html') },
        }),
        post: op({
          summary: 'confirm that a drill reached its recipient: recorded once per recipient, shown in the report\'s acks',
          tags: ['operations'],
          requestBody: body(ref('DrillAck'), 'application/x-www-form-urlencoded'),
          responses: { '200': text('thanks, or already confirmed', 'text/html'), '404': text('unknown link', 'text/html') },
        }),
      },
      '/v1/unsubscribe/{token}': {
        parameters: [pathParam('token', 'the token of the link in each email notice')],
        get: op({ summary: 'a page with an unsubscribe button (link scanners must not unsubscribe anyone)', tags: ['recipients'], responses: { '200': text('the page', 'text/html'), '404': text('unknown or used link', 'text/plain') } }),
        post: op({
          summary: 'one-click unsubscribe (RFC 8058)',
          tags: ['recipients'],
          requestBody: { required: false, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
          responses: { '200': text('unsubscribed', 'text/plain'), '404': text('unknown or used link', 'text/plain') },
        }),
      },
      '/v1/subscriptions': {
        post: op({
          summary: 'ask for a subscription (no token): the same 202 whatever the address; a confirmation mail follows',
          tags: ['subscriptions'],
          requestBody: { required: true, content: { 'application/json': { schema: ref('Subscribe') }, 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
          responses: {
            '202': json('taken (a form post gets an HTML page)'),
            '400': error('a bad field (`invalid_subscription`, naming it)'),
            '429': error('too many requests from this client (`rate_limited`); Retry-After says when to try again'),
            '503': error('email is off (`subscriptions_off`)'),
            ...jsonBodyErrors,
          },
        }),
      },
      '/v1/subscriptions/confirm/{token}': {
        parameters: [pathParam('token', 'the token of the link in the confirmation mail')],
        get: op({ summary: 'a page with a confirm button (link scanners must not subscribe anyone)', tags: ['subscriptions'], responses: { '200': text('the page', 'text/html'), '404': text('unknown link', 'text/html'), '410': text('used or expired link', 'text/html') } }),
        post: op({
          summary: 'confirm: the address becomes an email recipient',
          tags: ['subscriptions'],
          requestBody: { required: false, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
          responses: { '200': text('subscribed', 'text/html'), '404': text('unknown link', 'text/html'), '410': text('used or expired link', 'text/html') },
        }),
      },
      '/v1/subscriptions/manage': {
        post: op({
          summary: "change a subscriber's filter, authorised by the token of their manage link",
          tags: ['subscriptions'],
          requestBody: { required: true, content: { 'application/json': { schema: ref('ManageSubscription') }, 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
          responses: { '200': json('changed: `{address, filter}` (a form post gets an HTML page)'), '400': error('a bad field (`invalid_filter`)'), '404': error('unknown token (`not_found`)'), ...jsonBodyErrors },
        }),
      },
      '/subscribe': {
        get: op({
          summary: 'the subscribe form; with `?manage=TOKEN`, the subscriber\'s filter to change',
          tags: ['subscriptions'],
          parameters: [{ name: 'manage', in: 'query', required: false, description: 'the token of the manage link in every email', schema: { type: 'string' } }],
          responses: { '200': text('the page', 'text/html'), '404': text('unknown manage link', 'text/html'), '503': error('email is off (`subscriptions_off`)') },
        }),
      },
      '/v1/bounces': {
        post: op({
          summary: 'report bounces: an RFC 3464 delivery status notification, or a relay\'s JSON; three hard bounces make an address inactive',
          tags: ['recipients'],
          security: admin,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('Bounces') }, 'multipart/report': { schema: { type: 'string' } }, 'message/rfc822': { schema: { type: 'string' } } },
          },
          responses: { '200': json('what each bounce did: `{bounces: [{address, action, status, hard, duplicate, recipients: [{id, hard_bounces, status}]}]}`; `duplicate`: this report was counted before (a retried POST) and counted nothing now'), '400': error('unreadable (`invalid_report`, naming the field)'), ...adminErrors, '413': error('body over 1 MiB (`too_large`)') },
        }),
      },
    },
    components: {
      schemas: {
        Submission: submission,
        Signatures: fromZod(signaturesSchema),
        AdvisoryDocument: fromZod(advisoryDocumentSchema),
        CreateRecipient: fromZod(createRecipientSchema),
        UpdateRecipient: fromZod(updateRecipientSchema),
        ImportLine: fromZod(importLineSchema),
        EnrolPublisher: fromZod(enrolSchema),
        ReplayRequest: fromZod(replaySchema),
        Subscribe: fromZod(subscribeSchema),
        ManageSubscription: fromZod(manageSchema),
        Bounces: fromZod(bounceJsonSchema),
        DrillRequest: fromZod(drillRequestSchema),
        DrillAck: fromZod(drillAckFormSchema),
        ...responseSchemas,
      },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'TOCSIN_ADMIN_TOKEN; unset, the admin API answers 403 `admin_disabled`' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'TOCSIN_METRICS_TOKEN; unset, /metrics is open' },
      },
    },
  };
}
