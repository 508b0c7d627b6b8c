import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createDeliveryQueues } from '../../src/queue/delivery-queues';
import { createGpgPublisher, type GpgPublisher } from './gpg';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { startTocsin, type Tocsin } from './tocsin-harness';
import { startReceiver, type Receiver, type Script } from './webhook-receiver';

/** What a hostile request got back, from fetch or a raw socket. */
export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Every file under `dir` with its size and a hash of its bytes: what an accepted advisory, a new
 * recipient, an enrolled publisher, an audit-log line or a counted signature would change.
 */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink()) out.push(`${path.relative(dir, p)} -> ${await readlink(p)}`);
      else {
        // A file renamed away between the listing and the read (a temporary file being put in
        // place while tocsin works) is not part of either state: the file it became is listed.
        const bytes = await readFile(p).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        });
        if (!bytes) continue;
        out.push(`${path.relative(dir, p)} ${bytes.length} ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`);
      }
    }
  }
  await walk(dir);
  return out.sort();
}

/** Lines of `now` missing from `before` and the other way round, for a message. */
function difference(before: readonly string[], now: readonly string[]): string {
  const added = now.filter((l) => !before.includes(l)).map((l) => `+ ${l}`);
  const removed = before.filter((l) => !now.includes(l)).map((l) => `- ${l}`);
  return [...added, ...removed].join('\n');
}

/** Options of {@link startHostileRig}. */
export interface HostileRigOptions {
  /** Emails of further gpg publishers to enrol at start (e.g. a second signer for the two-person rule). */
  cosigners?: string[];
}

/**
 * A real tocsin (API and workers) with an enrolled gpg publisher, a loopback webhook receiver and
 * an email recipient on a real SMTP sink, ready to be attacked. `refused` checks one answer;
 * `unchanged` checks that the attack changed nothing: the service still answers, no file changed
 * under the data or keys directory (archive, holds, audit log, publisher keys), no recipient or
 * publisher came or went, no delivery state or queued job changed, and nothing was broadcast.
 * A test that first sets up legitimate state (a held advisory, a dead letter) calls `rebaseline`.
 */
export async function startHostileRig(env: Record<string, string> = {}, options: HostileRigOptions = {}) {
  const publisher: GpgPublisher = await createGpgPublisher('sec@example.org');
  const cosigners: GpgPublisher[] = await Promise.all((options.cosigners ?? []).map((email) => createGpgPublisher(email)));
  const smtp: SmtpSink = await startSmtpSink();
  const tocsin: Tocsin = await startTocsin({
    publishers: [publisher.armoredPublicKey, ...cosigners.map((c) => c.armoredPublicKey)],
    env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'tocsin@example.org', ...env },
  });
  const receiver: Receiver = await startReceiver();
  const receivers: Receiver[] = [receiver];
  await tocsin.addWebhook(receiver.url());
  const email = await tocsin.admin('POST', '/v1/recipients', { type: 'email', address: 'ops@example.org' });
  if (email.status !== 201) throw new Error(`enrolling email: ${email.status} ${email.text}`);
  const unsubscribeToken = (await readFile(path.join(tocsin.config.dataDir, 'recipients.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { recipient?: { unsubscribe_token?: string } })
    .map((e) => e.recipient?.unsubscribe_token)
    .find((t): t is string => typeof t === 'string');
  if (!unsubscribeToken) throw new Error('no unsubscribe token in recipients.jsonl');

  const redis = new Redis(tocsin.config.redisUrl);
  const queues = createDeliveryQueues(redis, tocsin.config.prefix);

  const recipientIds = async () => {
    const r = await tocsin.admin('GET', '/v1/recipients');
    return (r.json.recipients as { id: string }[]).map((x) => x.id).sort();
  };
  const publishers = async () => {
    const r = await tocsin.admin('GET', '/v1/publishers');
    const fingerprints = (r.json.publishers as { fingerprint: string }[]).map((p) => p.fingerprint).sort();
    return [...fingerprints, `audit head ${JSON.stringify(r.json.audit_head)}`];
  };
  /** Every delivery state of every advisory's latest revision, and the dead letters. */
  const deliveries = async () => {
    const out: string[] = [];
    for (const { id } of (await tocsin.call('GET', '/v1/advisories')).json.advisories as { id: string }[]) {
      for (const d of (await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.deliveries as Record<string, unknown>[]) out.push(`${id} ${JSON.stringify(d)}`);
    }
    for (const d of (await tocsin.admin('GET', '/v1/deliveries')).json.deliveries as Record<string, unknown>[]) out.push(`dead letter ${JSON.stringify(d)}`);
    return out.sort();
  };
  const jobs = async () => Promise.all(Object.entries(queues).map(async ([name, q]) => `${name} ${JSON.stringify(await q.getJobCounts())}`));
  const counts = () => [...receivers.map((r, i) => `webhook receiver ${i}: ${r.requests.length} requests`), `smtp: ${smtp.mails.length} mails`];

  async function snapshot() {
    return {
      files: await listFiles(tocsin.config.dataDir),
      keyFiles: await listFiles(tocsin.config.keysDir),
      recipients: await recipientIds(),
      publishers: await publishers(),
      deliveries: await deliveries(),
      jobs: await jobs(),
      counts: counts(),
    };
  }
  type Snapshot = Awaited<ReturnType<typeof snapshot>>;
  const what: Record<keyof Snapshot, string> = {
    files: 'the data directory changed',
    keyFiles: 'the keys directory changed',
    recipients: 'recipients changed',
    publishers: 'publishers or the audit head changed',
    deliveries: 'delivery states changed',
    jobs: 'queued jobs changed',
    counts: 'something was broadcast',
  };

  /** Waits until nothing is in flight, so that a baseline taken now stays true without an attack. */
  async function settle() {
    await tocsin.api.mirror?.idle();
    await tocsin.api.reconcile();
    await tocsin.api.mirror?.idle();
  }
  // The static mirror is built once at start; nothing hostile may change it after that.
  await settle();
  let baseline: Snapshot = await snapshot();

  return {
    tocsin,
    publisher,
    cosigners,
    receiver,
    smtp,
    unsubscribeToken,
    /** Enrols one more webhook recipient on a loopback receiver answering as `script` does; its requests count as broadcasts. */
    async addReceiver(script?: Script): Promise<{ receiver: Receiver; id: string }> {
      const extra = await startReceiver(script);
      receivers.push(extra);
      return { receiver: extra, id: (await tocsin.addWebhook(extra.url())).id };
    },
    /** Takes the state now (after any legitimate setup has settled) as the one nothing may change. */
    async rebaseline(): Promise<void> {
      await settle();
      baseline = await snapshot();
    },
    /** Throws, naming `what`, unless the answer is a 4xx with the one JSON error shape. */
    refused(answer: Answer, what: string, statuses?: readonly number[]): void {
      const show = `${what}: got ${answer.status} ${answer.contentType} ${answer.body.slice(0, 300)}`;
      if (!(answer.status >= 400 && answer.status < 500)) throw new Error(`expected a 4xx. ${show}`);
      if (statuses && !statuses.includes(answer.status)) throw new Error(`expected one of ${statuses.join(', ')}. ${show}`);
      if (!/^application\/json/.test(answer.contentType)) throw new Error(`expected a JSON error body. ${show}`);
      let error: { code?: unknown; message?: unknown } | undefined;
      try {
        error = (JSON.parse(answer.body) as { error?: typeof error }).error;
      } catch {
        throw new Error(`the error body is not JSON. ${show}`);
      }
      if (typeof error?.code !== 'string' || !error.code || typeof error.message !== 'string' || !error.message) {
        throw new Error(`the error body lacks a code and a message. ${show}`);
      }
    },
    /** Throws, naming `what`, if anything changed since the rig started (or since `rebaseline`). */
    async unchanged(label: string): Promise<void> {
      const health = await fetch(`${tocsin.url}/healthz`).catch((err: unknown) => err as Error);
      if (health instanceof Error || health.status !== 200) throw new Error(`${label}: /healthz no longer answers 200 (${String(health instanceof Error ? health.message : health.status)})`);
      const now = await snapshot();
      for (const key of Object.keys(what) as (keyof Snapshot)[]) {
        if (now[key].join('\n') !== baseline[key].join('\n')) throw new Error(`${label}: ${what[key]}:\n${difference(baseline[key], now[key])}`);
      }
    },
    async close() {
      await tocsin?.close();
      await Promise.all(Object.values(queues).map((q) => q.close()));
      redis.disconnect();
      for (const r of receivers) await r.close();
      await smtp?.close();
      await publisher?.dispose();
      for (const c of cosigners) await c.dispose();
    },
  };
}
export type HostileRig = Awaited<ReturnType<typeof startHostileRig>>;

/** Sends a request with fetch, exactly these body bytes, and keeps what came back. */
export async function send(url: string, method: string, body: Buffer | string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}
