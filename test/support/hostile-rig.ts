import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createGpgPublisher, type GpgPublisher } from './gpg';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { startTocsin, type Tocsin } from './tocsin-harness';
import { startReceiver, type Receiver } from './webhook-receiver';

/** What a hostile request got back, from fetch or a raw socket. */
export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** Every file under `dir` with its size: what an accepted advisory or a new recipient would change. */
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
      else out.push(`${path.relative(dir, p)} ${(await stat(p)).size}`);
    }
  }
  await walk(dir);
  return out.sort();
}

/**
 * A real tocsin (API and workers) with an enrolled gpg publisher, a loopback webhook receiver and
 * an email recipient on a real SMTP sink, ready to be attacked. `refused` checks one answer;
 * `unchanged` checks that the attack changed nothing: the service still answers, the archive
 * gained no file, no recipient came or went, and nothing was broadcast.
 */
export async function startHostileRig(env: Record<string, string> = {}) {
  const publisher: GpgPublisher = await createGpgPublisher('sec@example.org');
  const smtp: SmtpSink = await startSmtpSink();
  const tocsin: Tocsin = await startTocsin({
    publishers: [publisher.armoredPublicKey],
    env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'tocsin@example.org', ...env },
  });
  const receiver: Receiver = await startReceiver();
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

  const recipientIds = async () => {
    const r = await tocsin.admin('GET', '/v1/recipients');
    return (r.json.recipients as { id: string }[]).map((x) => x.id).sort();
  };
  // The static mirror is built once at start; nothing hostile may change it after that.
  await tocsin.api.mirror?.idle();
  const baseline = { files: await listFiles(tocsin.config.dataDir), recipients: await recipientIds() };

  return {
    tocsin,
    publisher,
    receiver,
    smtp,
    unsubscribeToken,
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
    /** Throws, naming `what`, if anything changed since the rig started. */
    async unchanged(what: string): Promise<void> {
      const health = await fetch(`${tocsin.url}/healthz`).catch((err: unknown) => err as Error);
      if (health instanceof Error || health.status !== 200) throw new Error(`${what}: /healthz no longer answers 200 (${String(health instanceof Error ? health.message : health.status)})`);
      const files = await listFiles(tocsin.config.dataDir);
      if (files.join('\n') !== baseline.files.join('\n')) {
        throw new Error(`${what}: the data directory changed:\n${files.filter((f) => !baseline.files.includes(f)).join('\n')}`);
      }
      const recipients = await recipientIds();
      if (recipients.join() !== baseline.recipients.join()) throw new Error(`${what}: recipients changed: ${recipients.join()} (were ${baseline.recipients.join()})`);
      if (receiver.requests.length > 0 || smtp.mails.length > 0) {
        throw new Error(`${what}: something was broadcast (${receiver.requests.length} webhooks, ${smtp.mails.length} emails)`);
      }
    },
    async close() {
      await tocsin?.close();
      await receiver?.close();
      await smtp?.close();
      await publisher?.dispose();
    },
  };
}
export type HostileRig = Awaited<ReturnType<typeof startHostileRig>>;

/** Sends a request with fetch, exactly these body bytes, and keeps what came back. */
export async function send(url: string, method: string, body: Buffer | string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}
