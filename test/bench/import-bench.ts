import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { bodyToRow, EXPORT_CSV_COLUMNS } from '../../src/recipients/recipient-csv';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { createBenchPublisher } from './bench-publisher';
import { BENCH_REDIS_URL, startTocsinRun, type TocsinRun } from './tocsin-run';

/**
 * `npm run bench -- --mode import [--recipients N] [--bad B] [--cpu-prof DIR] [--node-options OPTS]`: the time and memory of importing
 * a list through POST /v1/recipients/import into a `tocsin start` of its own: NDJSON with B bad
 * lines all or nothing (refused), then with skip_invalid, then the same recipients again as CSV
 * (all updates), then a body of 60 MiB that holds no recipient, to show that the body is read
 * as a stream: the API's resident set must not grow by anything like the body's size.
 */
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const log = (line: string) => console.log(line);

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { recipients: { type: 'string' }, bad: { type: 'string' }, 'cpu-prof': { type: 'string' }, 'node-options': { type: 'string' } },
  strict: true,
});
const recipients = Number(values.recipients ?? 100_000);
const bad = Number(values.bad ?? 5);
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** The i-th recipient's body: webhooks on distinct loopback URLs (private targets are allowed in the bench), every tenth with routing fields. */
function body(i: number): Record<string, unknown> {
  return {
    type: 'webhook',
    url: `http://127.0.${(i >> 8) & 255}.${i & 255}:9/hook/${i}`,
    ...(i % 10 === 0 ? { groups: ['distros'], tlp: 'AMBER', filter: { products: ['acme-server'], min_severity: 'high' } } : {}),
  };
}

/** Writes the list, `bad` lines spread through it refused by the server (a URL that is not http). */
async function writeList(file: string, format: 'ndjson' | 'csv'): Promise<void> {
  const out = createWriteStream(file);
  const badEvery = Math.floor(recipients / (bad + 1));
  if (format === 'csv') out.write(`${[...EXPORT_CSV_COLUMNS, 'secret'].join(',')}\n`);
  for (let i = 0; i < recipients; i++) {
    const b = bad > 0 && i > 0 && i % badEvery === 0 && i / badEvery <= bad ? { ...body(i), url: `ftp://bad/${i}` } : body(i);
    const line = format === 'csv' ? `${bodyToRow(b)},${SECRET}\n` : `${JSON.stringify({ ...b, secret: SECRET })}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

/** Writes `bytes` of lines of spaces: blank lines, each read and skipped. */
async function writePadding(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = `${' '.repeat(1023)}\n`.repeat(1024);
  for (let sent = 0; sent < bytes; sent += chunk.length) if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  out.end();
  await finished(out);
}

async function post(apiUrl: string, token: string, file: string, type: string, query: string) {
  const started = performance.now();
  const res = await fetch(`${apiUrl}/v1/recipients/import${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  const answer = (await res.json()) as { imported?: number; updated?: number; rejected?: unknown[]; error?: { rejected?: unknown[] } };
  return { status: res.status, seconds: (performance.now() - started) / 1000, answer };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tocsin-import-bench-'));
  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  const token = randomBytes(16).toString('hex');
  let run: TocsinRun | undefined;
  try {
    const ndjson = path.join(dir, 'list.ndjson');
    const csv = path.join(dir, 'list.csv');
    const padding = path.join(dir, 'padding.ndjson');
    await writeList(ndjson, 'ndjson');
    await writeList(csv, 'csv');
    await writePadding(padding, 60 * 1024 * 1024);
    const publisher = await createBenchPublisher();
    run = await startTocsinRun({ publisherKey: publisher.armoredPublicKey, adminToken: token, prefix, workers: 0, channel: 'webhook', env: {}, cpuProfileDir: values['cpu-prof'], nodeOptions: values['node-options'], receipts: true });
    const tocsin = run.processes[0]!;
    const rssIdle = await tocsin.rssBytes();
    log(`tocsin idle: RSS ${mib(rssIdle)}; list ${recipients} lines with ${bad} bad: NDJSON ${mib((await stat(ndjson)).size)}, CSV ${mib((await stat(csv)).size)}`);
    const results: Record<string, unknown> = { recipients, bad, rssIdleBytes: rssIdle };

    const padded = await post(run.url, token, padding, 'application/x-ndjson', '');
    const rssAfterPadding = await tocsin.peakRssBytes();
    log(`60 MiB of blank lines: ${padded.status} in ${padded.seconds.toFixed(2)} s; peak RSS ${mib(rssAfterPadding)} (grew ${mib(rssAfterPadding - rssIdle)} over idle)`);
    results.padding = { status: padded.status, seconds: padded.seconds, peakRssBytes: rssAfterPadding };

    for (const [name, file, type, query] of [
      ['ndjson all-or-nothing', ndjson, 'application/x-ndjson', ''],
      ['ndjson skip_invalid', ndjson, 'application/x-ndjson', '?skip_invalid=true'],
      ['csv skip_invalid (all updates)', csv, 'text/csv', '?skip_invalid=true'],
    ] as const) {
      const r = await post(run.url, token, file, type, query);
      const rejected = (r.answer.rejected ?? r.answer.error?.rejected ?? []).length;
      const peak = await tocsin.peakRssBytes();
      log(`${name}: ${r.status} in ${r.seconds.toFixed(2)} s: imported ${r.answer.imported ?? 0}, updated ${r.answer.updated ?? 0}, rejected ${rejected}; peak RSS so far ${mib(peak)}; RSS now ${mib(await tocsin.rssBytes())}`);
      results[name] = { status: r.status, seconds: r.seconds, imported: r.answer.imported ?? 0, updated: r.answer.updated ?? 0, rejected, peakRssBytes: peak };
    }
    console.log(`BENCH_RESULT ${JSON.stringify(results)}`);
  } finally {
    await run?.stop();
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix);
    await rm(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
