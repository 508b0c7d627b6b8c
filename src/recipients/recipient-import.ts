import type { ChannelName } from '../channels/channel-names';
import type { ResolveHost, ResolvedAddress } from '../net/resolve-host';
import { targetUrlProblem } from '../net/target-check';
import { fieldProblems } from '../util/zod-fields';
import { buildRecipient, commonFields } from './build-recipient';
import { importLineSchema, newRecipientId, recipientTargetUrl, type CreateRecipient, type ImportLine, type Recipient } from './recipient';
import type { ImportWrite, ReadRecipient } from './recipient-store';
import { targetKey } from './recipient-target';
import type { Spool } from '../storage/spool-file';

/** One refused line of an import: its line in the file, the field, and what is wrong with it. */
export interface Rejection {
  line: number;
  field: string;
  message: string;
}

/** One line of an import that passed the checks made as it was read, waiting on disk for the rest. */
export interface CheckedLine {
  line: number;
  input: ImportLine;
  /** The recipient the line names, when it exists, as read then. */
  existing?: ReadRecipient;
}

/** What an import would do: nothing has been written yet. */
export interface ImportPlan {
  /** Recipients new to the directory. */
  added: number;
  /** Lines that named a recipient which exists: changed or already as the line says. */
  updated: number;
  /** In line order. */
  rejected: Rejection[];
  /**
   * What to write, read again from the spool as the store asks for it: new recipients, and the
   * change each other line makes to the recipient it names, applied to that recipient as it is
   * when it is written.
   */
  writes(): AsyncGenerator<ImportWrite>;
}

export interface ImportCheckDeps {
  /**
   * The recipients of the directory, as it is, whose notices go where a target key (targetKey)
   * says: a line naming one of them updates it. Asked once per line, so the directory is never
   * held whole.
   */
  withTarget(key: string): Promise<ReadRecipient[]>;
  enabledChannels: readonly ChannelName[];
  allowPrivateTargets: boolean;
  resolveHost: ResolveHost;
  /**
   * Where the lines that pass wait until the end of the file (a private scratch file: they may
   * hold secrets), so that memory does not hold 100,000 of them. The caller removes it.
   */
  spool: Spool<CheckedLine>;
}

/** Host names resolved at once while checking targets: a list of 100,000 webhooks must not open 100,000 lookups. */
const LOOKUPS_IN_FLIGHT = 16;

/** Lines looked up in the directory at once (see take). */
const LOOKUPS_AHEAD = 64;

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

/** Runs `fn` over `items` as they are read, at most `limit` at a time. */
async function eachLimited<T>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const source = items[Symbol.asyncIterator]();
  const lanes = Array.from({ length: limit }, async () => {
    // An async generator answers concurrent next() calls in turn: each item goes to one lane.
    for (let next = await source.next(); !next.done; next = await source.next()) await fn(next.value);
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
  const lineOfTarget = new Map<string, number>();
  const reject = (line: number, field: string, message: string) => rejected.push({ line, field, message });
  /**
   * Lines whose recipients are being looked for in the directory, oldest first: several at once,
   * since each is a read of the file, and spooled in line order as each is settled.
   */
  const lookups: { line: number; input: ImportLine; locationField: string; lookup: Promise<ReadRecipient[]> }[] = [];

  async function settleOldest(): Promise<void> {
    const { line, input, locationField, lookup } = lookups.shift()!;
    const matches = await lookup;
    if (matches.length > 1) {
      reject(line, locationField, `matches ${matches.length} recipients (${matches.map((m) => m.recipient.id).join(', ')}): remove all but one first, so that the import knows which to update`);
      return;
    }
    const needed = NEW_RECIPIENT_SECRET[input.type];
    if (matches.length === 0 && needed && secretOf(input) === undefined) {
      reject(line, needed.field, `required for a new recipient: ${needed.why} (a line without it only updates a recipient that exists)`);
      return;
    }
    await deps.spool.write({ line, input, ...(matches[0] ? { existing: matches[0] } : {}) });
  }

  return {
    reject,
    /** How many refusals so far (a line may have several; those of the last few lines, still being looked up, come later). */
    rejectedCount: () => rejected.length,

    /** One line's body (a parsed NDJSON line, or a CSV row as its object). Lines are taken one at a time, in order. */
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
      const lookup = deps.withTarget(key);
      // Awaited in turn below: until then a failure must not count as unhandled (it would end the process).
      lookup.catch(() => undefined);
      lookups.push({ line, input, locationField, lookup });
      while (lookups.length >= LOOKUPS_AHEAD) await settleOldest();
    },

    /** Checks every target's address (each host resolved once) and answers the plan. */
    async finish(): Promise<ImportPlan> {
      while (lookups.length > 0) await settleOldest();
      await deps.spool.end();
      const resolveHost = resolvingOnce(deps.resolveHost);
      const refused = new Set<number>();
      let added = 0;
      let updated = 0;
      await eachLimited(deps.spool.read(), LOOKUPS_IN_FLIGHT, async ({ line, input, existing }) => {
        const target = input.type === 'email' ? null : recipientTargetUrl(input as CreateRecipient);
        const problem = target ? await targetUrlProblem(target.url, deps.allowPrivateTargets, resolveHost) : null;
        if (target && problem) {
          reject(line, target.field, problem);
          refused.add(line);
        } else if (existing) updated++;
        else added++;
      });
      rejected.sort((a, b) => a.line - b.line);
      const now = new Date().toISOString();
      const spool = deps.spool;
      return {
        added,
        updated,
        rejected,
        async *writes() {
          for await (const { line, input, existing } of spool.read()) {
            if (refused.has(line)) continue;
            if (existing) yield { id: existing.recipient.id, read: existing, next: (current: Recipient) => updatedBy(current, input) };
            // Secrets were checked present in take(); the schema of a new recipient is POST's.
            else yield { add: buildRecipient(input as CreateRecipient, commonFields(input as CreateRecipient, newRecipientId(), now)) };
          }
        },
      };
    },
  };
}
