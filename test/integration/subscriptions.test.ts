import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, gpgVerify, type GpgPublisher } from '../support/gpg';
import { readSignedMessage } from '../support/mime-reader';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const FROM = 'ACME Security <security@acme.example>';
const HOUR_MS = 60 * 60 * 1000;

/**
 * Self-service subscribers through the running service: real Redis, a real SMTP server, real gpg.
 * The API's clock is injected, so a link can expire without waiting 48 hours.
 */
describe('subscriptions', () => {
  let publisher: GpgPublisher;
  let relay: SmtpSink;
  let tocsin: Tocsin;
  let key: string;
  let clockOffset = 0;
  let clientCount = 0;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    relay = await startSmtpSink();
    tocsin = await startTocsin({
      publishers: [publisher.armoredPublicKey],
      now: () => Date.now() + clockOffset,
      env: {
        TOCSIN_SMTP_URLS: relay.url,
        TOCSIN_MAIL_FROM: FROM,
        // The test client is on loopback: believe its X-Forwarded-For, so each test is its own client.
        TOCSIN_TRUST_PROXY: 'loopback',
        TOCSIN_SUBSCRIBE_PER_IP_PER_HOUR: '3',
        TOCSIN_SUBSCRIBE_PER_ADDRESS_PER_DAY: '2',
      },
    });
    key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
  });
  afterAll(async () => {
    await tocsin?.close();
    await relay?.close();
    await publisher?.dispose();
  });

  /** A client address of its own, so that one test's requests never spend another's limit. */
  const newClient = () => `192.0.2.${++clientCount}`;

  const subscribe = (body: unknown, client = newClient()) => tocsin.call('POST', '/v1/subscriptions', body, { 'x-forwarded-for': client });

  const mailsTo = (address: string) => relay.mails.filter((m) => m.to.includes(address));
  const mailTo = (address: string, n = 1): Promise<ReceivedMail> =>
    eventually(async () => mailsTo(address)[n - 1], 15_000, `mail ${n} to ${address}`);

  /** The signed text of a subscription mail, checked with gpg against the broadcaster key. */
  async function verifiedText(mail: ReceivedMail): Promise<string> {
    const signed = readSignedMessage(mail.raw);
    expect(signed.headers.get('content-type')).toMatch(/^multipart\/signed;.*protocol="application\/pgp-signature"/);
    const gpg = await gpgVerify(key, signed.signedPart, signed.signature);
    expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
    return signed.signedPart.toString('utf8');
  }

  const confirmPathIn = (text: string) => /\/v1\/subscriptions\/confirm\/[A-Za-z0-9_-]{20,}/.exec(text)?.[0];
  const managePathIn = (text: string) => /\/subscribe\?manage=[A-Za-z0-9_%-]{20,}/.exec(text)?.[0];

  async function publish(overrides: Record<string, unknown> = {}): Promise<string> {
    const document = documentText(sampleAdvisory({ id: uniqueId('SUB'), ...overrides }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return answer.json.id as string;
  }

  const recipientsAt = async (address: string) =>
    ((await tocsin.admin('GET', '/v1/recipients')).json.recipients as { id: string; address?: string; status: string; filter: unknown; hard_bounces?: number }[]).filter(
      (r) => r.address === address,
    );

  it('double opt-in: a signed confirmation mail, a link that works once, and notices only once confirmed', async () => {
    const witness = (await tocsin.admin('POST', '/v1/recipients', { type: 'email', address: 'witness@example.org' })).json.id as string;

    const answer = await subscribe({ address: 'alice@example.org', filter: { min_severity: 'high' } });
    expect(answer.status).toBe(202);
    const text = await verifiedText(await mailTo('alice@example.org'));
    const link = confirmPathIn(text);
    expect(link).toBeDefined();
    expect(text).toMatch(/works once, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);

    // Unconfirmed: not a recipient, so an advisory published now does not reach it.
    expect(await recipientsAt('alice@example.org')).toEqual([]);
    const before = await publish();
    await mailTo('witness@example.org');
    const deliveries = (await tocsin.admin('GET', `/v1/advisories/${before}/deliveries`)).json.deliveries as { recipient: string }[];
    expect(deliveries.map((d) => d.recipient)).toEqual([witness]);
    expect(mailsTo('alice@example.org')).toHaveLength(1);

    // GET only shows a button (mail scanners open links); the POST confirms.
    const page = await tocsin.call('GET', link!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post">');
    expect(await recipientsAt('alice@example.org')).toEqual([]);

    const confirmed = await tocsin.call('POST', link!, '', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.text).toContain('alice@example.org</b> will receive security advisories');
    expect(await recipientsAt('alice@example.org')).toMatchObject([{ status: 'active', filter: { min_severity: 'high' } }]);

    // Twice: a clear page, no trace, and still one recipient.
    for (const method of ['POST', 'GET']) {
      const again = await tocsin.call(method, link!, method === 'POST' ? '' : undefined, method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {});
      expect(again.status).toBe(410);
      expect(again.text).toContain('Already confirmed');
      expect(again.text).not.toMatch(/Error|at .*\.ts/);
    }
    expect(await recipientsAt('alice@example.org')).toHaveLength(1);

    // Now a notice arrives, with this subscriber's manage link beside the unsubscribe link.
    const after = await publish();
    const notice = await eventually(async () => mailsTo('alice@example.org').find((m) => m.raw.includes(after)), 15_000, 'notice to alice');
    expect(readSignedMessage(notice.raw).headers.get('list-help')).toMatch(/^<http:\/\/localhost:\d+\/subscribe\?manage=[A-Za-z0-9_-]+>$/);
  });

  it('two links for one address, confirmed at the same moment, make one recipient', async () => {
    await subscribe({ address: 'gina@example.org', filter: { kinds: ['advisory'] } });
    await subscribe({ address: 'gina@example.org' });
    const links = await Promise.all([1, 2].map(async (n) => confirmPathIn(await verifiedText(await mailTo('gina@example.org', n)))!));
    const answers = await Promise.all(links.map((link) => tocsin.call('POST', link, '', { 'content-type': 'application/x-www-form-urlencoded' })));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await recipientsAt('gina@example.org')).toHaveLength(1);
  });

  it('a link used after 48 hours shows an expiry page and subscribes nobody', async () => {
    expect((await subscribe({ address: 'carol@example.org' })).status).toBe(202);
    const link = confirmPathIn(await verifiedText(await mailTo('carol@example.org')))!;
    clockOffset += 48 * HOUR_MS + 1000;
    try {
      const page = await tocsin.call('GET', link);
      expect(page.status).toBe(410);
      expect(page.text).toContain('Link expired');
      const confirm = await tocsin.call('POST', link, '', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(confirm.status).toBe(410);
      expect(confirm.text).toContain('Link expired');
      expect(await recipientsAt('carol@example.org')).toEqual([]);
    } finally {
      clockOffset -= 48 * HOUR_MS + 1000;
    }
    const unknown = await tocsin.call('GET', '/v1/subscriptions/confirm/no-such-token-at-all-0123456789');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('Unknown link');
  });

  it('answers alike for a new, a pending and a subscribed address; the subscribed one is mailed its manage link', async () => {
    await subscribe({ address: 'dora@example.org' });
    const link = confirmPathIn(await verifiedText(await mailTo('dora@example.org')))!;
    await tocsin.call('POST', link, '', { 'content-type': 'application/x-www-form-urlencoded' });
    await subscribe({ address: 'pending@example.org' });
    await mailTo('pending@example.org');

    const shapes = [];
    for (const address of ['dora@example.org', 'pending@example.org', 'nobody-yet@example.org']) {
      const r = await subscribe({ address });
      shapes.push({ status: r.status, body: r.text, type: r.headers.get('content-type'), length: r.headers.get('content-length') });
    }
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    expect(shapes[0]!.status).toBe(202);

    const reminder = await verifiedText(await mailTo('dora@example.org', 2));
    expect(reminder).toContain('already subscribed');
    expect(confirmPathIn(reminder)).toBeUndefined();
    expect(managePathIn(reminder)).toBeDefined();
  });

  it('changes the filter through the emailed link, with a plain form post', async () => {
    await subscribe({ address: 'erin@example.org', filter: { min_severity: 'critical', products: ['acme-server'] } });
    await tocsin.call('POST', confirmPathIn(await verifiedText(await mailTo('erin@example.org')))!, '', { 'content-type': 'application/x-www-form-urlencoded' });
    await subscribe({ address: 'erin@example.org' });
    const manage = managePathIn(await verifiedText(await mailTo('erin@example.org', 2)))!;
    const token = decodeURIComponent(manage.split('manage=')[1]!);

    const form = await tocsin.call('GET', manage);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<option value="critical" selected>');
    expect(form.text).toContain('acme-server</textarea>');

    const body = new URLSearchParams([
      ['token', token],
      ['min_severity', 'low'],
      ['kinds', 'advisory'],
      ['products', 'acme-server\r\npkg:npm/acme-client'],
    ]).toString();
    const saved = await tocsin.call('POST', '/v1/subscriptions/manage', body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(saved.status).toBe(200);
    expect(saved.text).toContain('Saved');
    expect(await recipientsAt('erin@example.org')).toMatchObject([{ filter: { min_severity: 'low', kinds: ['advisory'], products: ['acme-server', 'pkg:npm/acme-client'] } }]);

    // JSON too; null takes everything again. A wrong token changes nothing.
    expect((await tocsin.call('POST', '/v1/subscriptions/manage', { token, filter: null })).json).toEqual({ address: 'erin@example.org', filter: null });
    expect((await tocsin.call('POST', '/v1/subscriptions/manage', { token: 'x'.repeat(32), filter: null })).status).toBe(404);
    const bad = await tocsin.call('POST', '/v1/subscriptions/manage', { token, filter: { min_severity: 'dire' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields[0].field).toBe('filter.min_severity');
  });

  it('takes the plain form from GET /subscribe, and names the field it refuses', async () => {
    const form = await tocsin.call('GET', '/subscribe');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<form method="post" action="/v1/subscriptions">');
    expect(form.text).not.toContain('<script');
    expect(form.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const client = newClient();
    const posted = await tocsin.call('POST', '/v1/subscriptions', 'address=frank%40example.org&min_severity=high&kinds=advisory&kinds=mitigation&products=', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': client,
    });
    expect(posted.status).toBe(202);
    expect(posted.headers.get('content-type')).toMatch(/^text\/html/);
    await verifiedText(await mailTo('frank@example.org'));

    const bad = await subscribe({ address: 'not an address', filter: { kinds: ['rumour'] } });
    expect(bad.status).toBe(400);
    expect((bad.json.error.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(['address', 'filter.kinds.0']);
  });

  it('limits requests per client (429 with Retry-After) and confirmation mails per address (silently)', async () => {
    const client = newClient();
    for (let i = 0; i < 3; i++) expect((await subscribe({ address: `flood-${i}@example.org` }, client)).status).toBe(202);
    const refused = await subscribe({ address: 'flood-3@example.org' }, client);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(refused.json.error.code).toBe('rate_limited');
    // Another client is not held back by the first.
    expect((await subscribe({ address: 'flood-3@example.org' })).status).toBe(202);

    // One inbox, many clients: the answer stays 202, the mail stops at the per-address limit.
    for (let i = 0; i < 4; i++) expect((await subscribe({ address: 'victim@example.org' })).status).toBe(202);
    await tocsin.api.subscriptionsIdle();
    await mailTo('victim@example.org', 2);
    expect(mailsTo('victim@example.org')).toHaveLength(2);
  });
});

describe('subscriptions without a trusted proxy', () => {
  let relay: SmtpSink;
  let tocsin: Tocsin;

  beforeAll(async () => {
    relay = await startSmtpSink();
    tocsin = await startTocsin({
      workers: false,
      env: { TOCSIN_SMTP_URLS: relay.url, TOCSIN_MAIL_FROM: FROM, TOCSIN_SUBSCRIBE_PER_IP_PER_HOUR: '2', TOCSIN_PUBLIC_URL: 'https://tocsin.example.org' },
    });
  });
  afterAll(async () => {
    await tocsin?.close();
    await relay?.close();
  });

  it('counts by the connection, whatever X-Forwarded-For claims', async () => {
    for (let i = 0; i < 2; i++) expect((await tocsin.call('POST', '/v1/subscriptions', { address: `x${i}@example.org` }, { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(202);
    const third = await tocsin.call('POST', '/v1/subscriptions', { address: 'x2@example.org' }, { 'x-forwarded-for': '198.51.100.77' });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it("links the subscribe form from the mirror's index, since TOCSIN_PUBLIC_URL says where the API is", async () => {
    await tocsin.api.mirror!.idle();
    const index = await readFile(path.join(tocsin.config.mirror.dir, 'index.html'), 'utf8');
    expect(index).toContain('<a href="https://tocsin.example.org/subscribe">subscribe by email</a>');
  });
});

describe('subscription mail when no relay takes it', () => {
  /** Per address: the answers still to give to RCPT TO before accepting, and the attempts seen. */
  const refusals = new Map<string, { code: number; left: number }>();
  const attempts = new Map<string, number>();
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  let relay: SmtpSink;
  let tocsin: Tocsin;

  beforeAll(async () => {
    relay = await startSmtpSink({
      onRcptTo(address) {
        const key = address.toLowerCase();
        attempts.set(key, (attempts.get(key) ?? 0) + 1);
        const refusal = refusals.get(key);
        if (!refusal || refusal.left === 0) return null;
        refusal.left -= 1;
        // Relays quote the address in their answer: the log must not repeat it.
        return { code: refusal.code, message: refusal.code >= 500 ? `5.1.1 <${address}>: Recipient address rejected` : `4.3.0 <${address}>: try again later` };
      },
    });
    tocsin = await startTocsin({
      workers: false,
      env: { TOCSIN_SMTP_URLS: relay.url, TOCSIN_MAIL_FROM: FROM, LOG_LEVEL: 'info' },
      // The waits of the retries in milliseconds (5, 10, 20, 40): the test waits for idle, never a fixed time.
      subscriptionMailRetry: { attempts: 5, baseDelayMs: 5 },
      logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    });
  });
  afterAll(async () => {
    await tocsin?.close();
    await relay?.close();
  });

  const subscribe = (address: string) => tocsin.call('POST', '/v1/subscriptions', { address });
  const logged = (address: string) => lines.filter((l) => JSON.stringify(l).toLowerCase().includes(address.toLowerCase()));

  it('sends the confirmation again after a wait while the relay says "later", until it takes it; the link then works', async () => {
    refusals.set('patient@example.org', { code: 451, left: 2 });
    expect((await subscribe('Patient@example.org')).status).toBe(202);
    await tocsin.api.subscriptionsIdle();
    expect(attempts.get('patient@example.org')).toBe(3);
    const mails = relay.mails.filter((m) => m.to.includes('Patient@example.org'));
    expect(mails).toHaveLength(1);
    const link = /\/v1\/subscriptions\/confirm\/[A-Za-z0-9_-]{20,}/.exec(readSignedMessage(mails[0]!.raw).signedPart.toString('utf8'))?.[0];
    const confirmed = await tocsin.call('POST', link!, '', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(confirmed.status).toBe(200);
    const retries = lines.filter((l) => l.msg.includes('sent again later'));
    expect(retries.map((l) => [l.attempt, l.retryInMs])).toEqual([
      [1, 5],
      [2, 10],
    ]);
    expect(retries[0]!.err).toContain('451');
    expect(lines.some((l) => l.msg === 'subscription mail sent after a retry' && l.attempt === 3)).toBe(true);
    expect(logged('patient@example.org')).toEqual([]);
  });

  it('gives up after five attempts, and at once when the relay refuses the address for good; never naming it', async () => {
    refusals.set('down@example.org', { code: 451, left: Infinity });
    refusals.set('unknown@example.org', { code: 550, left: Infinity });
    expect((await subscribe('down@example.org')).status).toBe(202);
    expect((await subscribe('unknown@example.org')).status).toBe(202);
    await tocsin.api.subscriptionsIdle();
    expect(attempts.get('down@example.org')).toBe(5);
    expect(attempts.get('unknown@example.org')).toBe(1);
    expect(relay.mails.filter((m) => m.to.includes('down@example.org') || m.to.includes('unknown@example.org'))).toEqual([]);
    const gaveUp = lines.filter((l) => l.msg === 'could not send a subscription mail').map((l) => l.err as string);
    expect(gaveUp).toEqual(expect.arrayContaining([expect.stringContaining('451'), expect.stringMatching(/refused for good.*550/)]));
    expect(gaveUp.join('\n')).toContain('<the address>');
    expect(logged('down@example.org')).toEqual([]);
    expect(logged('unknown@example.org')).toEqual([]);
  });
  it('stops at once with a mail waiting a minute for its next attempt: the stop gives it up, and says so', async () => {
    const stopping: typeof lines = [];
    const slow = await startTocsin({
      workers: false,
      env: { TOCSIN_SMTP_URLS: relay.url, TOCSIN_MAIL_FROM: FROM, LOG_LEVEL: 'info' },
      subscriptionMailRetry: { attempts: 5, baseDelayMs: 60_000 },
      logDestination: { write: (line: string) => void stopping.push(JSON.parse(line) as (typeof lines)[number]) },
    });
    refusals.set('stopped@example.org', { code: 451, left: Infinity });
    expect((await slow.call('POST', '/v1/subscriptions', { address: 'stopped@example.org' })).status).toBe(202);
    await eventually(async () => stopping.some((l) => l.msg.includes('sent again later')), 10_000, 'the first attempt refused');
    const started = Date.now();
    await slow.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(attempts.get('stopped@example.org')).toBe(1);
    expect(stopping.find((l) => l.msg === 'could not send a subscription mail')?.err).toMatch(/^stopping before attempt 2 of 5: /);
  });
});
