import { Webhook } from 'standardwebhooks';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { gpgVerify, sqVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver, type Script } from '../support/webhook-receiver';

/** Signed advisories in, signed webhooks out: real gpg, real Redis, real HTTP partners on loopback. */
describe('webhook delivery', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const receivers: Receiver[] = [];
  // Before tocsin's own (hooks run in the order they are declared): the partners go first.
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));

  async function receiver(script?: Script): Promise<Receiver> {
    const r = await startReceiver(script);
    receivers.push(r);
    return r;
  }

  /** Publishes a fresh gpg-signed advisory; resolves to its document text and API answer. */
  async function publish(overrides: Record<string, unknown> = {}) {
    const document = documentText(sampleAdvisory({ id: uniqueId(), ...overrides }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    return { document, id: answer.json.id as string, answer };
  }

  async function deliveryOf(id: string, recipient: string) {
    const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
    return (r.json.deliveries as { recipient: string; state: string; attempts: number; last_error?: string }[]).find((d) => d.recipient === recipient);
  }

  it('delivers to every partner a body whose OpenPGP signature gpg and sq accept, with a Standard Webhooks HMAC', async () => {
    const [a, b] = [await receiver(), await receiver()];
    const ra = await tocsin.addWebhook(a.url());
    const rb = await tocsin.addWebhook(b.url());
    const { document, id } = await publish();
    await Promise.all([a.waitFor(1), b.waitFor(1)]);

    const key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    for (const [r, rcpt] of [[a, ra], [b, rb]] as const) {
      const req = r.requests[0]!;
      // Transport: the official standardwebhooks package verifies the HMAC headers.
      const verified = new Webhook(rcpt.secret).verify(req.body, {
        'webhook-id': req.headers['webhook-id'] as string,
        'webhook-timestamp': req.headers['webhook-timestamp'] as string,
        'webhook-signature': req.headers['webhook-signature'] as string,
      }) as WebhookBody;
      expect(verified.document).toBe(document);
      expect(verified.id).toBe(id);
      expect(verified.signer_fingerprint).toBe(tocsin.api.broadcaster.fingerprint);

      // Authorship: independent implementations check tocsin's signature over the exact text.
      const gpg = await gpgVerify(key, verified.document, verified.signature);
      expect(gpg).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
      const sq = await sqVerify(key, verified.document, verified.signature);
      expect(sq.ok).toBe(true);
      // ...and the publisher's own gpg signature travels along, verifiable with the publisher's key.
      expect((await gpgVerify(publisher.armoredPublicKey, verified.document, verified.publisher_signatures[0]!)).ok).toBe(true);
    }
    // One broadcaster signature per advisory, not one per recipient.
    expect(JSON.parse(a.requests[0]!.body).signature).toBe(JSON.parse(b.requests[0]!.body).signature);
    expect(a.requests[0]!.body).toBe(b.requests[0]!.body);

    await eventually(async () => (await deliveryOf(id, ra.id))?.state === 'delivered' && (await deliveryOf(id, rb.id))?.state === 'delivered', 10_000, 'delivered state');
  });

  it('gpg and sq reject the signature once the document changes by one byte', async () => {
    const r = await receiver();
    await tocsin.addWebhook(r.url());
    await publish();
    await r.waitFor(1);
    const body = JSON.parse(r.requests[0]!.body) as WebhookBody;
    const key = (await tocsin.call('GET', '/v1/keys/broadcaster.asc')).text;
    const tampered = body.document.replace('critical', 'critica1');
    expect((await gpgVerify(key, tampered, body.signature)).ok).toBe(false);
    expect((await sqVerify(key, tampered, body.signature)).ok).toBe(false);
  });

  it('retries a partner that fails twice, delivering once more with the same webhook-id', async () => {
    const flaky = await receiver((n) => ({ status: n < 2 ? 503 : 200 }));
    const rcpt = await tocsin.addWebhook(flaky.url());
    const { id } = await publish();
    await flaky.waitFor(3, 20_000);
    const done = await eventually(async () => {
      const d = await deliveryOf(id, rcpt.id);
      return d?.state === 'delivered' ? d : undefined;
    }, 10_000, 'delivered after retries');
    expect(done.attempts).toBe(3);
    expect(flaky.requests).toHaveLength(3);
    const ids = new Set(flaky.requests.map((q) => q.headers['webhook-id']));
    expect(ids.size).toBe(1);
    // Each attempt is freshly timestamped and signed, so a partner's replay window accepts it.
    for (const q of flaky.requests) {
      expect(() => new Webhook(rcpt.secret).verify(q.body, q.headers as Record<string, string>)).not.toThrow();
    }
  });

  it('stops at once on 410 Gone', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const rcpt = await tocsin.addWebhook(gone.url());
    const { id } = await publish();
    await gone.waitFor(1);
    const d = await eventually(async () => {
      const s = await deliveryOf(id, rcpt.id);
      return s?.state === 'failed' ? s : undefined;
    }, 10_000, 'failed state');
    expect(d.attempts).toBe(1);
    expect(d.last_error).toMatch(/410/);
    expect(gone.requests).toHaveLength(1);
  });

  it('honours Retry-After on 429', async () => {
    const limited = await receiver((n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 204 }));
    await tocsin.addWebhook(limited.url());
    await publish();
    await limited.waitFor(2, 15_000);
    const gap = limited.requests[1]!.at - limited.requests[0]!.at;
    // The retry schedule here is 100-400 ms, so only Retry-After explains a wait of a second.
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('does not follow redirects', async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 307, headers: { Location: elsewhere.url('/stolen') } }));
    const rcpt = await tocsin.addWebhook(redirecting.url());
    const { id } = await publish();
    await redirecting.waitFor(2, 15_000);
    const d = await eventually(async () => {
      const s = await deliveryOf(id, rcpt.id);
      return s?.last_error ? s : undefined;
    });
    expect(d.last_error).toMatch(/redirects are not followed/);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('reports every recipient of an advisory, pending ones included', async () => {
    const r = await receiver();
    await tocsin.addWebhook(r.url());
    const { id } = await publish();
    const deliveries = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
    expect(deliveries.status).toBe(200);
    const total = Object.values(deliveries.json.summary as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe(deliveries.json.deliveries.length);
    // Everyone enrolled when the advisory was accepted is in its audience.
    const enrolled = (await tocsin.admin('GET', '/v1/recipients')).json.recipients.length;
    expect(total).toBe(enrolled);
  });
});
