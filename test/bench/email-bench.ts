/**
 * Email throughput: tocsin (`tocsin start`, or `tocsin serve` and N `tocsin worker`) fanning one
 * signed advisory out to N email recipients through a local SMTP server in its own process,
 * against nodemailer's raw pooled rate to the same server with the same message size and
 * connections, and each tocsin process's peak RSS and CPU.
 *
 *   npm run build && node dist/test/bench/email-bench.js [--recipients N] [--workers N] [--node-options=STR] [--worker-node-options=STR]
 *
 * Loopback only. Children, the temporary directory and the Redis keys of the run are removed at
 * the end, whether it succeeds or not.
 */
import { deleteRedisPrefix } from '../support/redis-prefix';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { integer, MAX_RECIPIENTS, MAX_WORKERS } from './bench-options';
import { createBenchPublisher } from './bench-publisher';
import { fanOutTimeoutMs, mapWithConcurrency } from './bounded';
import { againstPlain, processesName, processLines, targetLines } from './bench-report';
import { enrolRecipients } from './enrol-recipients';
import { BENCH_REDIS_URL, cpuSince, figuresSince, markBeforeSubmission, startTocsinRun, unlessTocsinDies, type TocsinRun } from './tocsin-run';

const ADMIN_TOKEN = 'bench-admin-token-0123456789';
/** Connections per relay pool and messages in flight: tocsin's default TOCSIN_EMAIL_CONCURRENCY. */
const CONCURRENCY = 64;
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

/** The sink leaves when its channel closes; SIGKILL if it lingers. */
async function stopSink(sink: ChildProcess | undefined): Promise<void> {
  if (!sink || sink.exitCode !== null || sink.signalCode !== null) return;
  const exited = new Promise((resolve) => sink.once('exit', resolve));
  if (sink.connected) sink.disconnect();
  const timer = setTimeout(() => sink.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** nodemailer alone: the same number of pooled connections, `count` messages of `bytes` bytes. */
async function rawNodemailerRate(port: number, sink: ChildProcess, count: number, bytes: number): Promise<number> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity });
  const head = 'From: bench@example.org\r\nTo: rcpt@example.org\r\nSubject: raw\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n';
  const line = `${'x'.repeat(74)}\r\n`;
  const raw = head + line.repeat(Math.max(1, Math.ceil((bytes - head.length) / line.length)));
  try {
    sink.send({ type: 'expect', count } satisfies SinkCommand);
    const reached = nextMessage(sink, 'reached', fanOutTimeoutMs(count));
    const started = Date.now();
    await mapWithConcurrency(
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
  const { values } = parseArgs({ args: process.argv.slice(2), options: { recipients: { type: 'string' }, workers: { type: 'string' }, 'node-options': { type: 'string' }, 'worker-node-options': { type: 'string' } }, strict: true });
  const recipients = integer('recipients', values.recipients, 10_000, 1, MAX_RECIPIENTS);
  const workers = integer('workers', values.workers, 0, 0, MAX_WORKERS);

  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  let sink: ChildProcess | undefined;
  let tocsin: TocsinRun | undefined;
  try {
    sink = spawn(process.execPath, [__filename, '--smtp-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port: smtpPort } = await nextMessage(sink, 'listening', 10_000);

    const publisher = await createBenchPublisher();
    tocsin = await startTocsinRun({
      publisherKey: publisher.armoredPublicKey,
      adminToken: ADMIN_TOKEN,
      prefix,
      workers,
      channel: 'email',
      env: {
        TOCSIN_SMTP_URLS: `smtp://127.0.0.1:${smtpPort}?ignoreTLS=true`,
        TOCSIN_MAIL_FROM: 'Bench Security <security@bench.example>',
        TOCSIN_EMAIL_CONCURRENCY: String(CONCURRENCY),
      },
      cpuProfileDir: undefined,
      nodeOptions: values['node-options'],
      workerNodeOptions: values['worker-node-options'],
      receipts: true,
    });
    const addresses = Array.from({ length: recipients }, (_, i) => ({ type: 'email', address: `reader${i}@bench.example`, consent_confirmed: true }));
    const enrolSeconds = await enrolRecipients(tocsin.url, ADMIN_TOKEN, addresses);

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
    const signature = await publisher.sign(document);
    sink.send({ type: 'expect', count: recipients } satisfies SinkCommand);
    const reached = nextMessage(sink, 'reached', fanOutTimeoutMs(recipients));
    const mark = await markBeforeSubmission(tocsin);
    const submitted = Date.now();
    const answer = await fetch(`${tocsin.url}/v1/advisories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ document, signatures: [signature] }) });
    if (answer.status !== 202) throw new Error(`publishing: ${answer.status} ${await answer.text()}`);
    const done = await unlessTocsinDies(tocsin, reached);
    const processes = await figuresSince(mark, await cpuSince(mark));
    const warnings = tocsin.warnings();
    // Stopped before the yardstick runs, so the two never share the CPUs.
    await tocsin.stop();
    const seconds = (done.at - submitted) / 1000;
    const signedRate = recipients / seconds;

    const rawCpuBefore = process.cpuUsage();
    const rawRate = await rawNodemailerRate(smtpPort, sink, recipients, done.bytes);
    const rawCpu = process.cpuUsage(rawCpuBefore);
    const tocsinCpuSeconds = processes.reduce((sum, p) => sum + p.cpuSeconds, 0);
    const judged = againstPlain({
      recipients,
      perSecond: signedRate,
      plainPerSecond: rawRate,
      absoluteTarget: TARGET_PER_SECOND,
      tocsinCpuSeconds,
      plainCpuSeconds: (rawCpu.user + rawCpu.system) / 1e6,
      processes,
    });

    const result = {
      mode: 'email',
      recipients,
      workers,
      message_bytes: done.bytes,
      connections: CONCURRENCY,
      enrol_seconds: Number(enrolSeconds.toFixed(2)),
      seconds: Number(seconds.toFixed(2)),
      signed_messages_per_second: Math.round(signedRate),
      raw_nodemailer_per_second: Math.round(rawRate),
      ratio_to_raw: Number((signedRate / rawRate).toFixed(2)),
      target_per_second: TARGET_PER_SECOND,
      target_met: signedRate >= TARGET_PER_SECOND,
      processes,
      tocsin_cpu_seconds: tocsinCpuSeconds,
      tocsin_cpu_ms_per_message: judged.tocsinCpuMsPerDelivery,
      raw_cpu_ms_per_message: judged.plainCpuMsPerDelivery,
      cpu_ratio: judged.cpuRatio,
      warnings,
      pass: judged.pass,
      node_options: values['node-options'] ?? null,
      worker_node_options: values['worker-node-options'] ?? null,
    };
    console.log(`email bench: ${recipients} recipients, ${done.bytes}-byte PGP/MIME messages, ${CONCURRENCY} pooled SMTP connections per tocsin process and for nodemailer${values['node-options'] ? `; tocsin NODE_OPTIONS=${values['node-options']}` : ''}${values['worker-node-options'] ? `; workers' NODE_OPTIONS=${values['worker-node-options']}` : ''}`);
    console.log(`  enrolment (one import): ${enrolSeconds.toFixed(1)} s`);
    console.log(`  tocsin (signed):    ${Math.round(signedRate)} messages/s (${seconds.toFixed(2)} s from submission to the last message; ${processesName(workers)})`);
    for (const line of processLines(processes)) console.log(line);
    console.log(`  tocsin CPU:         ${tocsinCpuSeconds.toFixed(1)} s; warnings: ${warnings.length === 0 ? 'none' : warnings.slice(0, 5).join(' | ')}`);
    console.log(`  nodemailer (raw):   ${Math.round(rawRate)} messages/s (same size, same connections), CPU ${result.raw_cpu_ms_per_message.toFixed(3)} ms per message`);
    for (const line of targetLines('messages', TARGET_PER_SECOND, signedRate, judged, processes, 'raw nodemailer')) console.log(line);
    console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  } finally {
    await tocsin?.stop();
    await stopSink(sink);
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix);
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
