import { freePort } from '../support/free-port';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { gpgVerify, sqVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { hashFromValidSig, readHeaders, readSignedMessage } from '../support/mime-reader';
import { startSmtpSink, type ReceivedMail, type SinkScript, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const FROM = 'ACME Security <security@acme.example>';


/** Signed advisories in, PGP/MIME email out: real gpg and sq, real Redis, real SMTP servers on loopback. */
describe('email delivery', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let dir: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-email-'));
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await rm(dir, { recursive: true, force: true });
  });

  async function sink(script?: SinkScript): Promise<SmtpSink> {
    const s = await startSmtpSink(script);
    closers.push(() => s.close());
    return s;
  }

  async function tocsinWith(relays: string[]): Promise<Tocsin> {
    const t = await startTocsin({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_SMTP_URLS: relays.join(','), TOCSIN_MAIL_FROM: FROM } });
    closers.push(() => t.close());
    return t;
  }

  async function addEmail(tocsin: Tocsin, address: string): Promise<string> {
    const r = await tocsin.admin('POST', '/v1/recipients', { type: 'email', address });
    expect(r.status).toBe(201);
    expect(r.json.unsubscribe_token).toBeUndefined();
    return r.json.id as string;
  }

  async function publish(tocsin: Tocsin, overrides: Record<string, unknown> = {}): Promise<string> {
    const document = documentText(sampleAdvisory({ id: uniqueId('MAIL'), ...overrides }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return answer.json.id as string;
  }

  /** The admin read: which relay answered and what it said are not public. */
  async function deliveryOf(tocsin: Tocsin, id: string, recipient: string) {
    const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
    return (r.json.deliveries as { recipient: string; state: string; attempts: number; last_error?: string; detail?: string }[]).find((d) => d.recipient === recipient);
  }

  async function mailTo(s: SmtpSink, address: string, advisoryId: string): Promise<ReceivedMail> {
    return eventually(async () => s.mails.find((m) => m.to.includes(address) && m.raw.includes(advisoryId)), 15_000, `mail to ${address}`);
  }

  describe('through one relay', () => {
    let relay: SmtpSink;
    let tocsin: Tocsin;
    let key: string;
    const failingOnce = new Set<string>();

    beforeAll(async () => {
      relay = await sink({
        onRcptTo: (address) => (address.startsWith('nobody@') ? { code: 550, message: '5.1.1 mailbox unavailable' } : null),
        onData: (to) => {
          const flaky = to.find((a) => a.startsWith('flaky@'));
          if (!flaky || failingOnce.has(flaky)) return null;
          failingOnce.add(flaky);
          return { code: 451, message: '4.3.0 try again later' };
        },
      });
      tocsin = await tocsinWith([relay.url]);
      key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    });

    it('sends a PGP/MIME message whose signed part gpg, sq and `tocsin verify` accept, signed once for all recipients', async () => {
      const ra = await addEmail(tocsin, 'ops-a@example.org');
      const rb = await addEmail(tocsin, 'ops-b@example.org');
      const id = await publish(tocsin);
      const [a, b] = [await mailTo(relay, 'ops-a@example.org', id), await mailTo(relay, 'ops-b@example.org', id)];

      // Relays may only carry 7-bit text unchanged.
      expect([...a.raw].every((byte) => byte < 128)).toBe(true);
      expect(a.from).toBe('security@acme.example');
      const ma = readSignedMessage(a.raw);
      const mb = readSignedMessage(b.raw);
      const contentType = ma.headers.get('content-type')!;
      expect(contentType).toMatch(/^multipart\/signed;/);
      expect(contentType).toContain('protocol="application/pgp-signature"');

      const gpg = await gpgVerify(key, ma.signedPart, ma.signature);
      expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
      expect((await sqVerify(key, ma.signedPart, ma.signature)).ok).toBe(true);
      // micalg names the hash the signature actually used, as gpg reads it from the packet.
      expect(contentType).toContain(`micalg=pgp-${hashFromValidSig(gpg.output)}`);

      // The signed part is canonical MIME: CRLF only, a readable text part first.
      const signed = ma.signedPart.toString('utf8');
      expect(signed).not.toMatch(/[^\r]\n/);
      expect(signed).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary="/);
      expect(signed).toContain('Content-Type: text/plain; charset=utf-8');
      expect(signed).toContain('Content-Type: text/html; charset=utf-8');
      expect(signed).toContain(`Advisory: ${id} revision 1\r\n`);
      expect(signed).toContain('Title: Remote code execution in acme-server\r\n');
      expect(signed).toContain(tocsin.api.broadcaster.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
      expect(signed).toContain('/v1/keys/broadcaster.asc');

      // One rendering and one signature per advisory: both recipients got the same signed bytes.
      expect(mb.signedPart.equals(ma.signedPart)).toBe(true);
      expect(mb.signature).toBe(ma.signature);

      // Per-recipient headers sit outside the signature.
      expect(ma.headers.get('to')).toBe('ops-a@example.org');
      expect(ma.headers.get('from')).toBe(FROM);
      expect(ma.headers.get('mime-version')).toBe('1.0');
      expect(ma.headers.get('message-id')).toMatch(new RegExp(`^<msg_[0-9a-f]{32}\\.${ra}@acme\\.example>$`));
      expect(mb.headers.get('message-id')).toContain(`.${rb}@`);
      expect(ma.headers.get('subject')).toBe(`TLP:CLEAR [CRITICAL] ${id} revision 1: Remote code execution in acme-server`);
      expect(ma.headers.get('list-unsubscribe')).toMatch(/^<http:\/\/localhost:\d+\/v1\/unsubscribe\/[A-Za-z0-9_-]{32}>$/);
      expect(ma.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(ma.headers.get('list-unsubscribe')).not.toBe(mb.headers.get('list-unsubscribe'));

      // The reader's path: save the message as .eml and run `tocsin verify` on it.
      const eml = path.join(dir, `${id}.eml`);
      const keyFile = path.join(dir, 'broadcaster.asc');
      await writeFile(eml, a.raw);
      await writeFile(keyFile, key);
      const ok = await runCli(['verify', eml, '--key', keyFile]);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('OK: good signature on the email (.eml)');
      expect(ok.stdout).toContain(`advisory: ${id} revision 1`);
      expect(ok.stdout).toContain('title: Remote code execution in acme-server');

      // A mail client that saves with LF line endings still gets a verdict.
      const lf = path.join(dir, `${id}-lf.eml`);
      await writeFile(lf, a.raw.toString('utf8').replace(/\r\n/g, '\n'));
      expect((await runCli(['verify', lf, '--key', keyFile])).code).toBe(0);

      // One changed byte in the signed text, and gpg, sq and `tocsin verify` all refuse it.
      const tamperedPart = Buffer.from(signed.replace('Severity: critical', 'Severity: low     '));
      expect((await gpgVerify(key, tamperedPart, ma.signature)).ok).toBe(false);
      expect((await sqVerify(key, tamperedPart, ma.signature)).ok).toBe(false);
      const tampered = path.join(dir, `${id}-tampered.eml`);
      await writeFile(tampered, a.raw.toString('utf8').replace('Severity: critical', 'Severity: critica1'));
      const bad = await runCli(['verify', tampered, '--key', keyFile]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/BAD/);

      await eventually(async () => (await deliveryOf(tocsin, id, ra))?.state === 'delivered', 10_000, 'delivered state');
    });

    it('escapes HTML in the HTML part and quoted-printable-encodes text that is not plain ASCII, still verifiable', async () => {
      await addEmail(tocsin, 'html@example.org');
      const title = 'Überlauf in <parser> & "friends" beim Öffnen';
      const id = await publish(tocsin, { title, summary: `${'A very long line of summary text that must be wrapped. '.repeat(30)}\nFrom here on, a line that mbox tools would mangle.` });
      const m = readSignedMessage((await mailTo(relay, 'html@example.org', id)).raw);
      const signed = m.signedPart.toString('utf8');
      expect(signed).toContain('Content-Transfer-Encoding: quoted-printable');
      expect(signed.split('\r\n').filter((line) => line.length > 76)).toEqual([]);
      expect(signed).toContain('=46rom here on');
      const [textPart, htmlPart] = signed.split('Content-Type: text/html') as [string, string];
      expect(textPart).toContain('<parser> & "friends"');
      expect(htmlPart).toContain('&lt;parser&gt; &amp; &quot;friends&quot;');
      expect(htmlPart).not.toContain('<parser>');
      expect((await gpgVerify(key, m.signedPart, m.signature)).ok).toBe(true);
      expect((await sqVerify(key, m.signedPart, m.signature)).ok).toBe(true);
      // The subject is an RFC 2047 encoded word, since headers are 7-bit too.
      expect(m.headers.get('subject')).toMatch(/=\?UTF-8\?Q\?/);
    });

    it('marks a recipient the server refuses with 550 failed at once, without retrying', async () => {
      const rid = await addEmail(tocsin, 'nobody@example.org');
      const id = await publish(tocsin);
      const d = await eventually(async () => {
        const s = await deliveryOf(tocsin, id, rid);
        return s?.state === 'failed' ? s : undefined;
      }, 10_000, 'failed state');
      expect(d.attempts).toBe(1);
      expect(d.last_error).toMatch(/550/);
      expect(relay.mails.filter((m) => m.to.includes('nobody@example.org'))).toHaveLength(0);
    });

    it('retries after a 451 with the same Message-ID', async () => {
      const rid = await addEmail(tocsin, 'flaky@example.org');
      const id = await publish(tocsin);
      const accepted = await mailTo(relay, 'flaky@example.org', id);
      const refused = relay.refused.find((m) => m.to.includes('flaky@example.org') && m.raw.includes(id));
      expect(refused).toBeDefined();
      const first = readHeaders(refused!.raw.toString('latin1')).get('message-id');
      const second = readHeaders(accepted.raw.toString('latin1')).get('message-id');
      expect(first).toMatch(new RegExp(`\\.${rid}@acme\\.example>$`));
      expect(second).toBe(first);
      const d = await eventually(async () => {
        const s = await deliveryOf(tocsin, id, rid);
        return s?.state === 'delivered' ? s : undefined;
      }, 10_000, 'delivered after a retry');
      expect(d.attempts).toBe(2);
    });

    it('honours one-click unsubscribe (RFC 8058); GET only shows a button', async () => {
      const rid = await addEmail(tocsin, 'leaving@example.org');
      const id = await publish(tocsin);
      const m = readSignedMessage((await mailTo(relay, 'leaving@example.org', id)).raw);
      const link = new URL(m.headers.get('list-unsubscribe')!.replace(/^<|>$/g, ''));
      const enrolled = async () => ((await tocsin.admin('GET', '/v1/recipients')).json.recipients as { id: string }[]).some((r) => r.id === rid);

      const page = await tocsin.call('GET', link.pathname);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<form method="post">');
      expect(await enrolled()).toBe(true);

      const post = (p: string) =>
        tocsin.call('POST', p, 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' });
      const done = await post(link.pathname);
      expect(done.status).toBe(200);
      expect(done.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(done.text).toContain('leaving@example.org');
      expect(await enrolled()).toBe(false);

      expect((await post(link.pathname)).status).toBe(404);
      expect((await post('/v1/unsubscribe/not-a-token')).status).toBe(404);
      expect((await tocsin.call('GET', '/v1/unsubscribe/not-a-token')).status).toBe(404);

      // The next advisory does not go to the address any more.
      const next = await publish(tocsin);
      const deliveries = (await tocsin.call('GET', `/v1/advisories/${next}/deliveries`)).json.deliveries as { recipient: string }[];
      expect(deliveries.map((d) => d.recipient)).not.toContain(rid);
    });
  });

  describe('through several relays', () => {
    it('falls back to the next relay when the first is down and the second refuses us', async () => {
      const refusing = await sink({ onConnect: () => ({ code: 554, message: 'no service for you' }) });
      const good = await sink();
      const tocsin = await tocsinWith([`smtp://127.0.0.1:${await freePort()}?ignoreTLS=true`, refusing.url, good.url]);
      const rid = await addEmail(tocsin, 'ops@example.org');
      const id = await publish(tocsin);
      const mail = await mailTo(good, 'ops@example.org', id);
      expect(refusing.connections()).toBeGreaterThan(0);
      expect(refusing.mails).toHaveLength(0);
      const key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
      const m = readSignedMessage(mail.raw);
      expect((await gpgVerify(key, m.signedPart, m.signature)).ok).toBe(true);
      const d = await eventually(async () => {
        const s = await deliveryOf(tocsin, id, rid);
        return s?.state === 'delivered' ? s : undefined;
      }, 10_000, 'delivered');
      // Choosing a route is not a retry: the first attempt succeeded, through relay 3.
      expect(d.attempts).toBe(1);
      expect(d.detail).toMatch(/^relay 3/);
    });

    it('retries later, as a transient failure, when every relay is down', async () => {
      const tocsin = await tocsinWith([`smtp://127.0.0.1:${await freePort()}?ignoreTLS=true`, `smtp://127.0.0.1:${await freePort()}?ignoreTLS=true`]);
      const rid = await addEmail(tocsin, 'ops@example.org');
      const id = await publish(tocsin);
      const d = await eventually(async () => {
        const s = await deliveryOf(tocsin, id, rid);
        return s && s.attempts >= 2 ? s : undefined;
      }, 15_000, 'a second attempt');
      expect(d.state).toBe('retrying');
      expect(d.last_error).toMatch(/no relay took the message: relay 1 .*; relay 2 /);
    });
  });
});
