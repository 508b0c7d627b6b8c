import type { ChannelName } from '../channels/channel-names';
import type { ResolveHost, ResolvedAddress } from '../net/resolve-host';
import { targetUrlProblem } from '../net/target-check';
import { fieldProblems } from '../util/zod-fields';
import { buildRecipient, commonFields } from './build-recipient';
import { importLineSchema, newRecipientId, recipientTargetUrl, type CreateRecipient, type ImportLine, type Recipient } from './recipient';
import { targetKey } from './recipient-target';

/** One refused line of an import: its line in the file, the field, and what is wrong with it. */
export interface Rejection {
  line: number;
  field: string;
  message: string;
}

/** What an import would do: nothing has been written yet. */
export interface ImportPlan {
  /** Recipients new to the directory. */
  added: Recipient[];
  /** Recipients that exist, as the import leaves them (same id); only those it changes. */
  changed: Recipient[];
  /** Lines that named a recipient which exists: changed or already as the line says. */
  updated: number;
  /** In line order. */
  rejected: Rejection[];
}

export interface ImportCheckDeps {
  /**
   * The recipients of the directory, as it is, whose notices go where a target key (targetKey)
   * says: a line naming one of them updates it. Asked once per line, so the directory is never
   * held whole.
   */
  withTarget(key: string): Promise<Recipient[]>;
  enabledChannels: readonly ChannelName[];
  allowPrivateTargets: boolean;
  resolveHost: ResolveHost;
}

/** Host names resolved at once while checking targets: a list of 100,000 webhooks must not open 100,000 lookups. */
const LOOKUPS_IN_FLIGHT = 16;

/** The secret a line must give when it enrols a new recipient, by channel (email has none). */
const NEW_RECIPIENT_SECRET: Partial<Record<ImportLine['type'], { field: string; why: string }>> = {
  webhook: { field: 'secret', why: 'a generated secret could be shown to nobody, so the partner could not check signatures' },
  slack: { field: 'token', why: 'tocsin cannot post to Slack without it' },
  mastodon: { field: 'access_token', why: 'tocsin cannot post to Mastodon without it' },
};

/** The line's secret, if it gives one. */
function secretOf(line: ImportLine): string | undefined {
  switch (line.type) {
    case 'webhook':
      return line.secret;
    case 'slack':
      return line.token;
    case 'mastodon':
      return line.access_token;
    case 'email':
      return undefined;
  }
}

/**
 * `existing` as the line states it: description and routing fields replaced whole (a field the
 * line leaves out takes its default, as at enrolment), a secret the line gives replacing the
 * stored one. Where notices go, the id, creation time and unsubscribe token stay.
 */
function updatedBy(existing: Recipient, line: ImportLine): Recipient {
  const next: Recipient = { ...existing, groups: line.groups ?? [], tlp: line.tlp ?? 'CLEAR' };
  if (line.description) next.description = line.description;
  else delete next.description;
  if (line.filter) next.filter = line.filter;
  else delete next.filter;
  const secret = secretOf(line);
  if (secret !== undefined) {
    if (next.type === 'webhook') next.secret = secret;
    else if (next.type === 'slack') next.token = secret;
    else if (next.type === 'mastodon') next.access_token = secret;
  }
  return next;
}

/** A resolver that asks once per host name, however many lines name it. */
function resolvingOnce(resolveHost: ResolveHost): ResolveHost {
  const answers = new Map<string, Promise<ResolvedAddress[]>>();
  return (host) => {
    let answer = answers.get(host);
    if (!answer) {
      answer = resolveHost(host);
      answers.set(host, answer);
    }
    return answer;
  };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * Checks an import line by line as it is read (`take`), then the targets' addresses and what
 * exists (`finish`): the plan it answers says what to write, and every line refused with each
 * field. The lines of one import are checked against each other too: two naming one target are
 * refused, the second naming the first.
 */
export function createImportCheck(deps: ImportCheckDeps) {
  const rejected: Rejection[] = [];
  const accepted: { line: number; input: ImportLine; existing: Recipient | undefined }[] = [];
  const lineOfTarget = new Map<string, number>();
  const reject = (line: number, field: string, message: string) => rejected.push({ line, field, message });

  return {
    reject,
    /** How many refusals so far (a line may have several). */
    rejectedCount: () => rejected.length,

    /** One line's body (a parsed NDJSON line, or a CSV row as its object). */
    async take(line: number, body: unknown): Promise<void> {
      const parsed = importLineSchema.safeParse(body);
      if (!parsed.success) {
        for (const p of fieldProblems(parsed.error)) reject(line, p.field, p.message);
        return;
      }
      const input = parsed.data;
      if (!deps.enabledChannels.includes(input.type)) {
        const hint = input.type === 'email' ? ': set TOCSIN_SMTP_URLS and TOCSIN_MAIL_FROM' : '';
        reject(line, 'type', `the ${input.type} channel is off${hint}`);
        return;
      }
      const key = targetKey(input);
      const locationField = input.type === 'webhook' ? 'url' : input.type === 'email' ? 'address' : input.type === 'slack' ? 'channel_id' : 'instance_url';
      const earlier = lineOfTarget.get(key);
      if (earlier !== undefined) {
        reject(line, locationField, `the same recipient as line ${earlier}: each may appear once in an import`);
        return;
      }
      lineOfTarget.set(key, line);
      const matches = await deps.withTarget(key);
      if (matches.length > 1) {
        reject(line, locationField, `matches ${matches.length} recipients (${matches.map((m) => m.id).join(', ')}): remove all but one first, so that the import knows which to update`);
        return;
      }
      const needed = NEW_RECIPIENT_SECRET[input.type];
      if (matches.length === 0 && needed && secretOf(input) === undefined) {
        reject(line, needed.field, `required for a new recipient: ${needed.why} (a line without it only updates a recipient that exists)`);
        return;
      }
      accepted.push({ line, input, existing: matches[0] });
    },

    /** Checks every target's address (each host resolved once) and answers the plan. */
    async finish(): Promise<ImportPlan> {
      const resolveHost = resolvingOnce(deps.resolveHost);
      const refused = new Set<number>();
      const withTargets = accepted.filter((a) => a.input.type !== 'email');
      await eachLimited(withTargets, LOOKUPS_IN_FLIGHT, async ({ line, input }) => {
        const target = recipientTargetUrl(input as CreateRecipient);
        const problem = target ? await targetUrlProblem(target.url, deps.allowPrivateTargets, resolveHost) : null;
        if (target && problem) {
          reject(line, target.field, problem);
          refused.add(line);
        }
      });
      const plan: ImportPlan = { added: [], changed: [], updated: 0, rejected };
      const now = new Date().toISOString();
      for (const { line, input, existing } of accepted) {
        if (refused.has(line)) continue;
        if (existing) {
          plan.updated++;
          const next = updatedBy(existing, input);
          if (JSON.stringify(next) !== JSON.stringify(existing)) plan.changed.push(next);
        } else {
          // Secrets were checked present in take(); the schema of a new recipient is POST's.
          plan.added.push(buildRecipient(input as CreateRecipient, commonFields(input as CreateRecipient, newRecipientId(), now)));
        }
      }
      rejected.sort((a, b) => a.line - b.line);
      return plan;
    },
  };
}
