import { z } from 'zod';
import { severities } from '../advisory/schema';
import { tlpLabels } from '../advisory/tlp';
import { recipientFilterSchema } from '../recipients/recipient';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) or an OpenAPI object, as plain JSON. */
export type Json = Record<string, unknown>;

/**
 * What a zod schema accepts as input, in JSON Schema 2020-12. This is the only way a request
 * schema gets into the OpenAPI document, so the document cannot drift from what the routes parse.
 * Refinements (`.refine`, `.superRefine`) have no JSON Schema form and are left out: the server
 * checks more than the document says, never less.
 */
export function fromZod(schema: z.ZodType): Json {
  const json: Json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  // The document declares the dialect once, for every schema in it.
  delete json.$schema;
  return json;
}

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/**
 * Response bodies, described by hand: the routes build them from types, not from zod schemas.
 * They name the fields clients rely on and allow more (additions are how the formats change).
 */
export const responseSchemas: Record<string, Json> = {
  Error: {
    description: 'The one shape of every error answer (src/http/http-error.ts). `code` is stable for clients to switch on.',
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', examples: ['invalid_submission', 'not_found', 'unauthorized'] },
          message: { type: 'string' },
          fields: {
            description: 'Each offending field, when there are any.',
            type: 'array',
            items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
  ImportReport: {
    description: 'The answer of an import. A 400 `invalid_import` carries the same `rejected` in its `error`.',
    type: 'object',
    required: ['imported', 'updated', 'rejected'],
    properties: {
      imported: { type: 'integer', minimum: 0, description: 'recipients added' },
      updated: { type: 'integer', minimum: 0, description: 'lines that named a recipient which exists' },
      rejected: {
        type: 'array',
        items: { type: 'object', required: ['line', 'field', 'message'], properties: { line: { type: 'integer', minimum: 1 }, field: { type: 'string' }, message: { type: 'string' } } },
      },
    },
  },
  AdvisoryRecord: {
    type: 'object',
    required: ['id', 'revision', 'kind', 'title', 'severity', 'sha256', 'accepted_at', 'publishers', 'broadcaster_fingerprint'],
    properties: {
      id: { type: 'string' },
      revision: { type: 'integer', minimum: 1 },
      kind: { enum: ['advisory', 'mitigation', 'retraction', 'status'] },
      title: { type: 'string' },
      severity: { enum: [...severities] },
      sha256: { type: 'string', description: 'hex SHA-256 of the exact signed bytes' },
      accepted_at: { type: 'string', format: 'date-time' },
      publishers: { type: 'array', items: { type: 'string' }, description: 'fingerprints of the publishers whose signatures verified' },
      broadcaster_fingerprint: { type: 'string' },
    },
  },
  IntakeAnswer: {
    description: 'An accepted (or duplicate) revision: the record with `status` and `delivery`; or a held one, waiting for signatures.',
    oneOf: [
      {
        allOf: [ref('AdvisoryRecord')],
        required: ['status', 'delivery'],
        properties: { status: { enum: ['accepted', 'duplicate'] }, delivery: { enum: ['queued', 'pending'] } },
      },
      ref('Hold'),
    ],
  },
  Hold: {
    type: 'object',
    required: ['id', 'revision', 'sha256', 'status', 'required', 'publishers', 'missing', 'received_at', 'expires_at'],
    properties: {
      id: { type: 'string' },
      revision: { type: 'integer', minimum: 1 },
      sha256: { type: 'string' },
      status: { enum: ['awaiting_signatures', 'expired'] },
      required: { type: 'integer' },
      publishers: { type: 'array', items: { type: 'string' } },
      missing: { type: 'integer' },
      received_at: { type: 'string', format: 'date-time' },
      expires_at: { type: 'string', format: 'date-time' },
    },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'problems', 'warnings'],
    properties: {
      status: { enum: ['ready', 'degraded'] },
      problems: { type: 'object', additionalProperties: { type: 'string' }, description: 'what is not ready, by name (e.g. `broadcaster_key`)' },
      warnings: { type: 'object', additionalProperties: { type: 'string' }, description: 'what needs attention soon; never changes the status' },
    },
  },
  Recipient: {
    description: 'A recipient without its secrets. `secret` appears once, in the 201 answer, when tocsin generated it.',
    type: 'object',
    required: ['id', 'type', 'created_at', 'groups', 'tlp', 'filter', 'status'],
    properties: {
      id: { type: 'string' },
      status: { enum: ['active', 'inactive'], description: '`inactive`: an email address that hard-bounced 3 times; it receives nothing' },
      hard_bounces: { type: 'integer', minimum: 1, description: 'email: hard bounces reported (POST /v1/bounces); absent for none' },
      source: { enum: ['subscription'], description: 'email: present when the address\'s owner subscribed and confirmed it themselves' },
      type: { enum: ['webhook', 'email', 'slack', 'mastodon'] },
      created_at: { type: 'string', format: 'date-time' },
      description: { type: 'string' },
      url: { type: 'string' },
      address: { type: 'string' },
      channel_id: { type: 'string' },
      api_url: { type: 'string' },
      instance_url: { type: 'string' },
      secret: { type: 'string' },
      groups: { type: 'array', items: { type: 'string' }, description: 'the groups an embargoed advisory\'s `audience` may name; `[]` for none' },
      tlp: { enum: [...tlpLabels], description: 'the most restricted TLP label this recipient may receive' },
      filter: {
        description: 'only advisories matching every part given; `null` for none',
        oneOf: [{ type: 'null' }, fromZod(recipientFilterSchema)],
      },
    },
  },
  Publisher: {
    type: 'object',
    required: ['fingerprint', 'user_ids', 'created_at', 'expires_at', 'status'],
    properties: {
      fingerprint: { type: 'string' },
      user_ids: { type: 'array', items: { type: 'string' } },
      created_at: { type: 'string' },
      expires_at: { type: ['string', 'null'] },
      status: { type: 'string' },
    },
  },
};
