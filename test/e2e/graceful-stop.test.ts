import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { CLI } from '../support/cli';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const RECIPIENTS = 20;

/**
 * A partner that holds every answer until released, so a test knows sends are in flight.
 * Counts requests that arrived and requests it answered.
 */
async function startGatedPartner() {
  let open: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (open = resolve));
  const arrived: string[] = [];
  const answered: string[] = [];
  const server = http.createServer((req, res) => {
    arrived.push(req.url ?? '/');
    req.resume();
    void released.then(() => {
      answered.push(req.url ?? '/');
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p: string) => `http://127.0.0.1:${port}${p}`,
    arrived,
    answered,
    release: () => open(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * On SIGTERM a `tocsin worker` finishes the job it is running (sends in flight and those queued
 * behind them), records every one, and exits 0: nothing is half-sent and forgotten, and nothing
 * is sent twice.
 */
describe('graceful stop of a worker', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let partner: Awaited<ReturnType<typeof startGatedPartner>>;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    partner = await startGatedPartner();
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false });
    for (let i = 0; i < RECIPIENTS; i++) await tocsin.addWebhook(partner.url(`/r/${i}`));
  });
  let stopWorker: () => void = () => undefined;
  afterAll(async () => {
    stopWorker();
    partner?.release();
    await partner?.close();
    await tocsin?.close();
    await publisher?.dispose();
  });

  it('finishes and records in-flight sends before exiting 0, with no duplicates', async () => {
    const worker = spawn(process.execPath, [CLI, 'worker'], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: tocsin.config.redisUrl, TOCSIN_QUEUE_PREFIX: tocsin.config.prefix, TOCSIN_ALLOW_PRIVATE_TARGETS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    worker.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = once(worker, 'exit');
    stopWorker = () => worker.kill('SIGKILL');
    await eventually(async () => logs.includes('tocsin workers started'), 15_000, 'worker started');

    const id = uniqueId('STOP');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    // Sends are out and held at the partner (at most four per origin at once; the rest queued).
    await eventually(async () => partner.arrived.length >= 1, 15_000, 'sends in flight');

    worker.kill('SIGTERM');
    await eventually(async () => logs.includes('stopping: finishing in-flight work'), 10_000, 'worker stopping');
    // The worker is stopping but still holds its sends: none was abandoned or recorded early.
    expect(worker.exitCode).toBeNull();
    expect((await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.summary.delivered).toBe(0);

    partner.release();
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const summary = (await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.summary;
    expect(summary).toEqual({ pending: 0, delivered: RECIPIENTS, retrying: 0, failed: 0 });
    expect(partner.answered).toHaveLength(RECIPIENTS);
    expect(new Set(partner.arrived).size).toBe(RECIPIENTS);
  });
});
