/**
 * Email throughput: tocsin (API and workers, as `node dist/src/cli.js start`) fanning one signed
 * advisory out to N email recipients through a local SMTP server in its own process, against
 * nodemailer's raw pooled rate to the same server with the same message size and connections.
 *
 *   npm run build && node dist/test/bench/email-bench.js [--recipients N]
 *
 * Loopback only. Children, the temporary directory and the Redis keys of the run are removed at
 * the end, whether it succeeds or not.
 */
import { freePort } from '../support/free-port';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import * as openpgp from 'openpgp';
import { SMTPServer } from 'smtp-server';
import { signDetached } from '../../src/pgp/detached';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
/** Connections per relay pool and messages in flight: tocsin's default TOCSIN_EMAIL_CONCURRENCY. */
const CONCURRENCY = 64;
const ENROL_CONCURRENCY = 32;
const TARGET_PER_SECOND = 1_500;

type SinkMessage = { type: 'listening'; port: number } | { type: 'reached'; count: number; at: number; bytes: number };
type SinkCommand = { type: 'expect'; count: number };

/** The child: an SMTP server that counts what it accepts and reports when a target is reached. */
function runSink(): void {
  let received = 0;
  let target = Infinity;
  let lastBytes = 0;
  const send = (m: SinkMessage) => process.send?.(m);
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    logger: false,
    maxClients: 1_000,
    onData(stream, _session, callback) {
      let bytes = 0;
      stream.on('data', (c: Buffer) => (bytes += c.length));
      stream.on('end', () => {
        received += 1;
        lastBytes = bytes;
        callback(null);
        if (received === target) send({ type: 'reached', count: received, at: Date.now(), bytes: lastBytes });
      });
    },
  });
  process.on('message', (m: SinkCommand) => {
    if (m.type !== 'expect') return;
    received = 0;
    target = m.count;
  });
  process.on('disconnect', () => server.close(() => process.exit(0)));
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address();
    send({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
  });
}


function nextMessage<T extends SinkMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<SinkMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`no "${type}" from the SMTP server within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: SinkMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m as Extract<SinkMessage, { type: T }>);
    };
    child.on('message', on);
  });
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function boundedAll<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tocsin exited with ${child.exitCode}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** nodemailer alone: the same number of pooled connections, `count` messages of `bytes` bytes. */
async function rawNodemailerRate(port: number, sink: ChildProcess, count: number, bytes: number): Promise<number> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity });
  const head = 'From: bench@example.org\r\nTo: rcpt@example.org\r\nSubject: raw\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n';
  const line = `${'x'.repeat(74)}\r\n`;
  const raw = head + line.repeat(Math.max(1, Math.ceil((bytes - head.length) / line.length)));
  try {
    sink.send({ type: 'expect', count } satisfies SinkCommand);
    const reached = nextMessage(sink, 'reached', 300_000);
    const started = Date.now();
    await boundedAll(
      Array.from({ length: count }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        await transport.sendMail({ envelope: { from: 'bench@example.org', to: [`rcpt${i}@example.org`] }, raw });
      },
    );
    const { at } = await reached;
    return count / ((at - started) / 1000);
  } finally {
    transport.close();
  }
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--recipients');
  const recipients = arg >= 0 ? Number(process.argv[arg + 1]) : 10_000;
  if (!Number.isInteger(recipients) || recipients < 1 || recipients > 100_000) throw new Error('--recipients must be an integer from 1 to 100000');

  const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-email-bench-'));
  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  let sink: ChildProcess | undefined;
  let tocsin: ChildProcess | undefined;
  try {
    sink = spawn(process.execPath, [__filename, '--smtp-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port: smtpPort } = await nextMessage(sink, 'listening', 10_000);

    const publisher = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'bench@example.org' }], format: 'object' });
    await mkdir(path.join(dir, 'keys', 'publishers'), { recursive: true });
    await writeFile(path.join(dir, 'keys', 'publishers', 'bench.asc'), publisher.publicKey.armor());

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    tocsin = spawn(process.execPath, [CLI, 'start'], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        PORT: String(port),
        TOCSIN_HOST: '127.0.0.1',
        TOCSIN_DATA_DIR: path.join(dir, 'data'),
        TOCSIN_KEYS_DIR: path.join(dir, 'keys'),
        TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
        TOCSIN_QUEUE_PREFIX: prefix,
        TOCSIN_SMTP_URLS: `smtp://127.0.0.1:${smtpPort}?ignoreTLS=true`,
        TOCSIN_MAIL_FROM: 'Bench Security <security@bench.example>',
        TOCSIN_EMAIL_CONCURRENCY: String(CONCURRENCY),
        LOG_LEVEL: 'warn',
      },
    });
    await waitForHttp(`${url}/readyz`, tocsin, 30_000);

    const enrolStart = Date.now();
    await boundedAll(
      Array.from({ length: recipients }, (_, i) => i),
      ENROL_CONCURRENCY,
      async (i) => {
        const r = await fetch(`${url}/v1/recipients`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify({ type: 'email', address: `reader${i}@bench.example` }),
        });
        if (r.status !== 201) throw new Error(`enrolling reader${i}: ${r.status} ${await r.text()}`);
      },
    );
    const enrolSeconds = (Date.now() - enrolStart) / 1000;

    const document = `${JSON.stringify(
      {
        id: `BENCH-${Date.now()}`,
        revision: 1,
        kind: 'advisory',
        title: 'Remote code execution in acme-server',
        severity: 'critical',
        summary: 'A crafted plugin manifest lets an unauthenticated attacker run code as the server user.',
        published: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        affected: [{ product: 'acme-server', versions: '<2.3.1', fixed: '2.3.1' }],
        cves: ['CVE-2026-12345'],
        mitigations: [{ text: 'Disable the plugin loader: set plugins.enabled=false.' }],
        references: ['https://example.org/advisories/BENCH'],
      },
      null,
      2,
    )}\n`;
    const signature = await signDetached(Buffer.from(document), publisher.privateKey);

    sink.send({ type: 'expect', count: recipients } satisfies SinkCommand);
    const reached = nextMessage(sink, 'reached', 600_000);
    const submitted = Date.now();
    const answer = await fetch(`${url}/v1/advisories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ document, signatures: [signature] }) });
    if (answer.status !== 202) throw new Error(`publishing: ${answer.status} ${await answer.text()}`);
    const done = await reached;
    const seconds = (done.at - submitted) / 1000;
    const signedRate = recipients / seconds;

    const rawRate = await rawNodemailerRate(smtpPort, sink, recipients, done.bytes);

    const result = {
      mode: 'email',
      recipients,
      message_bytes: done.bytes,
      connections: CONCURRENCY,
      enrol_seconds: Number(enrolSeconds.toFixed(2)),
      seconds: Number(seconds.toFixed(2)),
      signed_messages_per_second: Math.round(signedRate),
      raw_nodemailer_per_second: Math.round(rawRate),
      ratio_to_raw: Number((signedRate / rawRate).toFixed(2)),
      target_per_second: TARGET_PER_SECOND,
      target_met: signedRate >= TARGET_PER_SECOND,
    };
    console.log(`email bench: ${recipients} recipients, ${done.bytes}-byte PGP/MIME messages, ${CONCURRENCY} pooled SMTP connections`);
    console.log(`  enrolment:          ${enrolSeconds.toFixed(1)} s`);
    console.log(`  tocsin (signed):    ${Math.round(signedRate)} messages/s (${seconds.toFixed(2)} s from submission to the last message)`);
    console.log(`  nodemailer (raw):   ${Math.round(rawRate)} messages/s (same size, same connections)`);
    console.log(`  target ${TARGET_PER_SECOND}/s: ${result.target_met ? 'met' : 'NOT met'}`);
    console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  } finally {
    await stop(tocsin);
    if (sink?.connected) sink.disconnect();
    await stop(sink);
    await deleteRedisPrefix(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--smtp-server')) {
  runSink();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
