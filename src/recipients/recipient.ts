import { pooledRandomBytes } from '../util/random-pool';
import { z } from 'zod';
import { httpUrl } from '../util/zod-fields';
import { isWebhookSecret } from '../channels/standard-webhooks';
import { safeText } from '../util/safe-text';
import { severities } from '../advisory/schema';
import { groupNameSchema, tlpLabels, type Tlp } from '../advisory/tlp';

/** A label shown in listings and logs: one line, under the rule for submitted text. */
const description = z.string().check(safeText('single')).max(200).optional();
/** Submitted URLs are shown back too; `new URL` would quietly drop a tab or line feed inside one. */
const targetUrl = () => httpUrl().check(safeText('single'));

/**
 * The kinds a recipient's filter may choose among. Retractions are not one: they always follow
 * what was received. `status` (incident status updates): a filter that lists kinds without it
 * opts out of them.
 */
export const filterableKinds = ['advisory', 'mitigation', 'status'] as const;

/**
 * What a recipient wants: only advisories naming one of `products` (an affected entry's product,
 * compared without regard to case, or its purl with or without a version), at least
 * `min_severity`, of one of `kinds`. An absent field does not narrow.
 */
export const recipientFilterSchema = z.strictObject({
  products: z.array(z.string().check(safeText('single')).trim().min(1, 'must not be empty').max(200)).min(1).max(100).optional(),
  min_severity: z.enum(severities).optional(),
  kinds: z.array(z.enum(filterableKinds)).min(1).max(filterableKinds.length).optional(),
});
export type RecipientFilter = z.infer<typeof recipientFilterSchema>;

/** Who may receive what (coordinated disclosure): every channel takes these; see release/routing.ts. */
export const routingFields = {
  /** Recipient groups, e.g. `distros`: an embargoed advisory's `audience` names them. */
  groups: z.array(groupNameSchema).max(50).refine((g) => new Set(g).size === g.length, 'names a group twice').optional(),
  /** The most restricted TLP label this recipient may receive (default CLEAR). */
  tlp: z.enum(tlpLabels, { error: `must be one of ${tlpLabels.join(', ')} (TLP:RED is never sent by a broadcaster)` }).optional(),
  filter: recipientFilterSchema.optional(),
};

/** A Mastodon post is public: nothing above TLP:CLEAR may go there. */
const PUBLIC_ONLY = 'must be CLEAR: a Mastodon post is public, so it may only carry TLP:CLEAR advisories';
const publicOnly = routingFields.tlp.refine((tlp) => tlp === undefined || tlp === 'CLEAR', PUBLIC_ONLY);

const webhookBody = z.strictObject({
  type: z.literal('webhook'),
  url: targetUrl(),
  secret: z.string().refine(isWebhookSecret, 'must be "whsec_" followed by base64 of 24 to 64 bytes').optional(),
  description,
  ...routingFields,
});
/**
 * `consent_confirmed`: the address's owner has already agreed to receive these notices (an
 * admin enrolling it, or a list whose members confirmed). Every email recipient tocsin stores
 * is one such today, so only `true` is taken, and absent means `true` here; an import must say
 * it (see import-line.ts).
 */
const consentConfirmed = z.literal(true, { error: 'must be true: tocsin cannot yet ask an address to confirm, so it takes only addresses whose consent is already confirmed' });
const emailBody = z.strictObject({
  type: z.literal('email'),
  address: z.string().max(254).email(),
  consent_confirmed: consentConfirmed.optional(),
  description,
  ...routingFields,
});
const slackToken = z.string().regex(/^xox[bp]-[A-Za-z0-9-]{8,}$/, 'must be a Slack bot or user token (xoxb-... or xoxp-...)');
const slackBody = z.strictObject({
  type: z.literal('slack'),
  channel_id: z.string().regex(/^[CGD][A-Z0-9]{2,30}$/, 'must be a Slack channel id such as C0123456'),
  token: slackToken,
  /** Web API base, e.g. https://slack.com/api/ (GovSlack: https://slack-gov.com/api/). */
  api_url: targetUrl().optional(),
  description,
  ...routingFields,
});
const mastodonAccessToken = z.string().check(safeText('single')).min(8).max(512);
const mastodonBody = z.strictObject({
  type: z.literal('mastodon'),
  instance_url: targetUrl(),
  access_token: mastodonAccessToken,
  description,
  ...routingFields,
  tlp: publicOnly,
});

/** The body of `POST /v1/recipients`, one shape per channel. */
export const createRecipientSchema = z.discriminatedUnion('type', [webhookBody, emailBody, slackBody, mastodonBody]);
export type CreateRecipient = z.infer<typeof createRecipientSchema>;

/**
 * One line of an import (`POST /v1/recipients/import`): a `POST /v1/recipients` body, except
 * that secrets may be left out (an export has none: the line then updates a recipient that
 * exists, whose secrets stay; see recipient-import.ts) and an email line must say
 * `consent_confirmed`, since silence is not consent.
 */
export const importLineSchema = z.discriminatedUnion('type', [
  webhookBody,
  emailBody.extend({ consent_confirmed: consentConfirmed }),
  slackBody.extend({ token: slackToken.optional() }),
  mastodonBody.extend({ access_token: mastodonAccessToken.optional() }),
]);
export type ImportLine = z.infer<typeof importLineSchema>;

/** The fields `PATCH /v1/recipients/:id` may change; where a notice goes and its secrets are not among them. */
export const changeableFields = ['groups', 'tlp', 'filter'] as const;

/**
 * The body of `PATCH /v1/recipients/:id`: each field given replaces the stored one whole
 * (`groups` the whole list, `filter` the whole filter); `filter: null` removes the filter.
 * Whether `tlp` suits the channel (Mastodon: CLEAR only) needs the stored recipient: see
 * {@link routingChangeProblem}.
 */
export const updateRecipientSchema = z.strictObject({
  groups: routingFields.groups,
  tlp: routingFields.tlp,
  filter: recipientFilterSchema.nullable().optional(),
});
export type RoutingChanges = z.infer<typeof updateRecipientSchema>;

/**
 * Why `changes` cannot apply to `recipient`, naming the field (`(body)` for the whole); null when
 * they can. Checked after the schema, so that a body naming only a field it may not change is
 * told about that field alone.
 */
export function routingChangeProblem(recipient: Recipient, changes: RoutingChanges): { field: string; message: string } | null {
  if (!changeableFields.some((f) => changes[f] !== undefined)) {
    return { field: '(body)', message: `names none of ${changeableFields.join(', ')}: nothing to change` };
  }
  if (recipient.type === 'mastodon' && changes.tlp !== undefined && changes.tlp !== 'CLEAR') {
    return { field: 'tlp', message: PUBLIC_ONLY };
  }
  return null;
}

/** `recipient` with `changes` applied. Pure: the store applies a logged change with it, live and when replaying the log. */
export function applyRoutingChanges<R extends Recipient>(recipient: R, changes: RoutingChanges): R {
  const next: R = { ...recipient };
  if (changes.groups !== undefined) next.groups = changes.groups;
  if (changes.tlp !== undefined) next.tlp = changes.tlp;
  if (changes.filter === null) delete next.filter;
  else if (changes.filter !== undefined) next.filter = changes.filter;
  return next;
}

interface Common {
  id: string;
  created_at: string;
  description?: string;
  /** Absent on recipients stored before groups existed: none. */
  groups?: string[];
  /** Absent: CLEAR. */
  tlp?: Tlp;
  filter?: RecipientFilter;
}
export interface WebhookRecipient extends Common {
  type: 'webhook';
  url: string;
  secret: string;
}
export interface EmailRecipient extends Common {
  type: 'email';
  address: string;
  /**
   * Random; the unsubscribe link carries it, so it is shown to nobody else. It also opens the
   * page where the subscriber changes their filter (see subscriptions/): whoever holds it may
   * already end the subscription, so changing what it receives grants nothing more.
   */
  unsubscribe_token: string;
  /** Hard bounces (5.x.x) reported since enrolment; absent: none. See recipient-status.ts. */
  hard_bounces?: number;
  /** `inactive` once the address has hard-bounced too often: it receives nothing. Absent: active. */
  status?: 'active' | 'inactive';
  /** How the address came: `subscription` when its owner confirmed it themselves; absent: enrolled by an admin. */
  source?: 'subscription';
}
export interface SlackRecipient extends Common {
  type: 'slack';
  channel_id: string;
  token: string;
  api_url: string;
}
export interface MastodonRecipient extends Common {
  type: 'mastodon';
  instance_url: string;
  access_token: string;
}

/** A stored recipient, secrets included. Never return this from the API: see {@link publicView}. */
export type Recipient = WebhookRecipient | EmailRecipient | SlackRecipient | MastodonRecipient;
export type RecipientOf<T extends Recipient['type']> = Extract<Recipient, { type: T }>;

/** Fields that are secrets, whichever channel they belong to. */
const SECRET_FIELDS = ['secret', 'token', 'access_token', 'unsubscribe_token'] as const;

export function newRecipientId(): string {
  return `rcpt_${pooledRandomBytes(10).toString('hex')}`;
}

export function newUnsubscribeToken(): string {
  return pooledRandomBytes(24).toString('base64url');
}

/**
 * What the API may show of a recipient: everything but its secrets, with the routing fields
 * always present (a recipient stored before they existed shows their defaults: no groups,
 * CLEAR, no filter as `null`).
 */
export function publicView(recipient: Recipient): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...recipient,
    groups: recipient.groups ?? [],
    tlp: recipient.tlp ?? 'CLEAR',
    filter: recipient.filter ?? null,
    status: recipient.type === 'email' ? (recipient.status ?? 'active') : 'active',
  };
  for (const field of SECRET_FIELDS) delete view[field];
  return view;
}

/** The URL a recipient's deliveries connect to, for the address guard; null for email. */
export function recipientTargetUrl(input: CreateRecipient): { field: string; url: string } | null {
  switch (input.type) {
    case 'webhook':
      return { field: 'url', url: input.url };
    case 'slack':
      return input.api_url ? { field: 'api_url', url: input.api_url } : null;
    case 'mastodon':
      return { field: 'instance_url', url: input.instance_url };
    case 'email':
      return null;
  }
}
