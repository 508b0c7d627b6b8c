import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { CLI, runCli, type CliResult } from '../support/cli';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { ADMIN_TOKEN, startTocsin } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Children still running when a test ends (it failed): stopped, so that none outlives its test. */
const running = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** The built CLI as a child whose output can be read while it runs, and signalled. */
function startCli(args: string[], env: Record<string, string>) {
  const child = track(spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } }));
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited: Promise<CliResult> = once(child, 'close').then(([code]) => ({ code: code as number | null, ...out }));
  return { child, out, exited };
}

/** A partner that answers nothing until the test lets it: a broadcast that stays in flight. */
async function startHeldPartner() {
  const held: http.ServerResponse[] = [];
  let open = false;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (open ? res.writeHead(204).end() : held.push(res)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    held: () => held.length,
    release() {
      open = true;
      for (const res of held.splice(0)) res.writeHead(204).end();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `publish --wait`, `deliveries watch`: the progress of a broadcast from a terminal, and its exit code. */
describe('tocsin publish --wait and deliveries watch', () => {
  let dir: string;
  const publisher = useGpgPublisher('wait@example.org');
  let ok: Receiver;
  let gone: Receiver;
  let failing: Receiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-wait-'));
    ok = await startReceiver();
    gone = await startReceiver(() => ({ status: 410 }));
    failing = await startReceiver(() => ({ status: 500 }));
  });
  // Hooks run in the order they are declared: the partners go before tocsin closes, the directory after.
  afterAll(async () => {
    await ok?.close();
    await gone?.close();
    await failing?.close();
  });
  // Retries ten minutes apart: a delivery that failed once stays "waiting for a retry" through each test.
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_RETRY_BASE_MS: '600000', TOCSIN_RETRY_MAX_MS: '600000' } }));
  beforeAll(() => {
    env = { TOCSIN_URL: tocsin.url };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A signed advisory on disk: its file and signature file. */
  async function signedAdvisory(prefix: string, fields: Record<string, unknown> = {}): Promise<{ id: string; file: string; sig: string }> {
    const id = uniqueId(prefix);
    const file = path.join(dir, `${id}.json`);
    const document = documentText(sampleAdvisory({ id, ...fields }));
    await writeFile(file, document);
    await writeFile(`${file}.asc`, await publisher.sign(document));
    return { id, file, sig: `${file}.asc` };
  }

  /** Each test its own audience: recipients enrolled for it and removed after it. */
  async function withRecipients<T>(urls: string[], run: (ids: string[]) => Promise<T>): Promise<T> {
    const ids = [];
    for (const u of urls) ids.push((await tocsin.addWebhook(u)).id);
    try {
      return await run(ids);
    } finally {
      for (const id of ids) await tocsin.admin('DELETE', `/v1/recipients/${id}`);
    }
  }

  it('exits 0 once every recipient got the notice, with the server from TOCSIN_URL', async () => {
    await withRecipients([ok.url('/a'), ok.url('/b')], async () => {
      const a = await signedAdvisory('WAITOK');
      const r = await runCli(['publish', a.file, '--sig', a.sig, '--wait'], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`accepted ${a.id} revision 1`);
      expect(r.stdout).toMatch(new RegExp(`^\\[\\d+:\\d\\d\\] ${a.id} revision 1: webhook 2/2 delivered, 0 retrying, 0 failed, 0 pending \\(\\d+\\.\\d/s\\)$`, 'm'));
      expect(r.stdout.trim().split('\n').at(-1)).toBe('delivered to all 2 recipients');
      expect(ok.requests.filter((q) => q.body.includes(a.id))).toHaveLength(2);
    });
  });

  it('follows a TLP:AMBER advisory, which the public read does not show, to its end: the document\'s SHA-256 proves the publisher holds it', async () => {
    const enrolled = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: ok.url('/amber'), tlp: 'AMBER' });
    expect(enrolled.status).toBe(201);
    try {
      const a = await signedAdvisory('WAITAMBER', { tlp: 'AMBER' });
      const r = await runCli(['publish', a.file, '--sig', a.sig, '--wait'], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').at(-1)).toBe('delivered to all 1 recipient');
      // To anyone without the document it does not exist.
      expect((await tocsin.call('GET', `/v1/advisories/${a.id}/deliveries?revision=1`)).status).toBe(404);
      expect((await tocsin.call('GET', `/v1/advisories/${a.id}/deliveries?revision=1&sha256=${'0'.repeat(64)}`)).status).toBe(404);
    } finally {
      await tocsin.admin('DELETE', `/v1/recipients/${enrolled.json.id as string}`);
    }
  });

  it('exits 3 naming each recipient that failed or waits for a retry, and deliveries watch says the same later', async () => {
    await withRecipients([ok.url('/c'), gone.url('/retired'), failing.url('/down')], async ([okId, goneId, failingId]) => {
      const a = await signedAdvisory('WAITBAD');
      const r = await runCli(['publish', a.file, '--sig', a.sig, '--wait', '--url', tocsin.url]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('not delivered to 2 of 3 recipients');
      expect(r.stderr).toMatch(new RegExp(`^  ${goneId}  webhook  failed after 1 attempt: HTTP 410$`, 'm'));
      // The first attempt made, the next one due in ten minutes: --wait does not wait for it.
      expect(r.stderr).toMatch(new RegExp(`^  ${failingId}  webhook  retrying after 1 attempt, next attempt \\S+: HTTP 500$`, 'm'));
      expect(r.stderr).not.toContain(okId);

      // Later, for the advisory already sent: the same verdict, and the API's answer for scripts.
      const watched = await runCli(['deliveries', 'watch', a.id, '--json'], env);
      expect(watched.code).toBe(3);
      const answer = JSON.parse(watched.stdout) as { id: string; summary_by_channel: Record<string, Record<string, number>> };
      expect(answer.id).toBe(a.id);
      expect(answer.summary_by_channel).toEqual({ webhook: { delivered: 1, retrying: 1, failed: 1, pending: 0 } });
      expect(watched.stderr).toContain(goneId);
      expect(watched.stderr).toContain(failingId);
      expect(watched.stderr).toMatch(/webhook 1\/3 delivered, 1 retrying, 1 failed, 0 pending/);
    });
  });

  it('off a terminal, writes a progress line every --interval while deliveries are in flight, then the result', async () => {
    const partner = await startHeldPartner();
    try {
      await withRecipients([partner.url], async () => {
        const a = await signedAdvisory('WAITLINES');
        const cli = startCli(['publish', a.file, '--sig', a.sig, '--wait', '--interval', '0.2'], env);
        const inFlight = new RegExp(`^\\[\\d+:\\d\\d\\] ${a.id} revision 1: webhook 0/1 delivered, 0 retrying, 0 failed, 1 pending \\(0\\.0/s\\)$`, 'gm');
        // Nothing changes while the partner holds the request: the lines come from the interval alone.
        await eventually(async () => partner.held() === 1 && (cli.out.stdout.match(inFlight) ?? []).length >= 3, 20_000, 'three progress lines while in flight');
        partner.release();
        const r = await cli.exited;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^\\[\\d+:\\d\\d\\] ${a.id} revision 1: webhook 1/1 delivered, 0 retrying, 0 failed, 0 pending`, 'm'));
        expect(r.stdout.trim().split('\n').at(-1)).toBe('delivered to all 1 recipient');
      });
    } finally {
      await partner.close();
    }
  });

  it('on a terminal, redraws the progress in place', async () => {
    const partner = await startHeldPartner();
    try {
      await withRecipients([partner.url], async () => {
        const a = await signedAdvisory('WAITTTY');
        // `script` gives the CLI a pseudo-terminal, as an operator's shell does.
        const command = [process.execPath, CLI, 'publish', a.file, '--sig', a.sig, '--wait'].join(' ');
        const child = track(spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' } }));
        let output = '';
        child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
        const exited = once(child, 'close');
        // Polled every second: a second frame drawn over the first before the partner answers.
        await eventually(async () => partner.held() === 1 && output.includes('\x1b[2F'), 20_000, 'a redrawn frame');
        partner.release();
        const [code] = await exited;
        expect(code).toBe(0);
        // Escape made visible: <ESC>[2F moves up over the two lines drawn, <ESC>[2K clears one.
        const shown = output.replaceAll('\x1b', '<ESC>').replaceAll('\r', '');
        expect(shown).toContain(`<ESC>[2K${a.id} revision 1, 0:0`);
        expect(shown).toMatch(/<ESC>\[2K {2}webhook {3}0\/1 delivered, 0 retrying, 0 failed, 1 pending {2}0\.0\/s/);
        expect(shown).toMatch(/<ESC>\[2F<ESC>\[2K.*\n<ESC>\[2K {2}webhook {3}1\/1 delivered/);
        // No progress line is written for a log: the frame is the display.
        expect(output).not.toMatch(/^\[\d+:\d\d\]/m);
      });
    } finally {
      await partner.close();
    }
  });

  it('leaves on Ctrl-C saying the broadcast continues, which it does', async () => {
    const partner = await startHeldPartner();
    try {
      await withRecipients([partner.url], async ([recipient]) => {
        const a = await signedAdvisory('WAITINT');
        expect((await runCli(['publish', a.file, '--sig', a.sig], env)).code).toBe(0);
        const cli = startCli(['deliveries', 'watch', a.id, '--interval', '0.2'], env);
        await eventually(async () => partner.held() === 1 && cli.out.stdout.includes('1 pending'), 20_000, 'the watch under way');
        cli.child.kill('SIGINT');
        const r = await cli.exited;
        expect(r.code).toBe(130);
        expect(r.stderr).toContain('interrupted: the broadcast continues on the server');
        expect(r.stderr).toContain(`tocsin deliveries watch ${a.id} --revision 1`);
        partner.release();
        await eventually(async () => {
          const d = await tocsin.call('GET', `/v1/advisories/${a.id}/deliveries`);
          return d.json.deliveries.find((x: { recipient: string; state: string }) => x.recipient === recipient)?.state === 'delivered';
        }, 20_000, 'delivered after the watch left');
      });
    } finally {
      await partner.close();
    }
  });

  it('exits 4 at once when the two-person rule holds the advisory: there is nothing to follow yet', async () => {
    const strict = await startTocsin({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_REQUIRE_SIGNATURES: 'all:2' } });
    try {
      const a = await signedAdvisory('WAITHELD');
      const r = await runCli(['publish', a.file, '--sig', a.sig, '--wait', '--url', strict.url]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`${a.id} revision 1 is held by the two-person rule: 1 more signature(s) needed`);
      expect(r.stdout).toBe('');
    } finally {
      await strict.close();
    }
  });

  it('--json prints the submission and the final deliveries, the progress on stderr', async () => {
    await withRecipients([ok.url('/json')], async ([recipient]) => {
      const a = await signedAdvisory('WAITJSON');
      const r = await runCli(['publish', a.file, '--sig', a.sig, '--wait', '--json'], env);
      expect(r.code).toBe(0);
      const answer = JSON.parse(r.stdout) as { submission: Record<string, unknown>; deliveries: Record<string, any> };
      expect(answer.submission).toMatchObject({ id: a.id, revision: 1, status: 'accepted' });
      expect(answer.deliveries).toMatchObject({ id: a.id, revision: 1, summary: { delivered: 1, pending: 0 }, summary_by_channel: { webhook: { delivered: 1 } } });
      expect(answer.deliveries.deliveries).toEqual([expect.objectContaining({ recipient, channel: 'webhook', state: 'delivered' })]);
      expect(r.stderr).toContain('webhook 1/1 delivered');

      // Published again: the server answers "duplicate", and --wait follows the deliveries it has.
      const again = await runCli(['publish', a.file, '--sig', a.sig, '--wait'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`${a.id} revision 1 was accepted before`);
    });
  });

  it('under an embargo: the held-back recipients show as scheduled with the release time, and the wait ends with the audience', async () => {
    const partner = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: ok.url('/distros'), groups: ['distros'] });
    expect(partner.status).toBe(201);
    await withRecipients([ok.url('/public')], async ([publicId]) => {
      try {
        const id = uniqueId('WAITEMB');
        const until = new Date(Date.now() + 120_000).toISOString();
        const file = path.join(dir, `${id}.json`);
        const document = documentText(sampleAdvisory({ id, embargo_until: until, audience: ['distros'] }));
        await writeFile(file, document);
        await writeFile(`${file}.asc`, await publisher.sign(document));
        const releaseAt = new Date(until).toISOString();

        // The publisher needs no admin token: the document's SHA-256 opens the read.
        const r = await runCli(['publish', file, '--sig', `${file}.asc`, '--wait'], env);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^\\[\\d+:\\d\\d\\] ${id} revision 1: webhook 1/1 delivered, 0 retrying, 0 failed, 0 pending \\(\\d+\\.\\d/s\\), 1 scheduled for ${releaseAt} \\(embargo\\)$`, 'm'));
        expect(r.stdout.trim().split('\n').at(-1)).toBe(`delivered to all 1 recipient of the embargo's audience; 1 scheduled for ${releaseAt} (embargo)`);
        expect(ok.requests.filter((q) => q.path === '/public' && q.body.includes(id))).toHaveLength(0);

        const watched = await runCli(['deliveries', 'watch', id, '--json'], { ...env, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN });
        expect(watched.code).toBe(0);
        const answer = JSON.parse(watched.stdout) as { scheduled: { release_at: string; count: number; recipients: { recipient: string }[] } };
        expect(answer.scheduled).toMatchObject({ release_at: releaseAt, count: 1, by_channel: { webhook: 1 } });
        expect(answer.scheduled.recipients.map((x) => x.recipient)).toEqual([publicId]);

        // Without the admin token or the document there is nothing to follow: it is not public yet.
        const blind = await runCli(['deliveries', 'watch', id], env);
        expect(blind.code).toBe(1);
      } finally {
        await tocsin.admin('DELETE', `/v1/recipients/${partner.json.id as string}`);
      }
    });
  });
});
