import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { createLogger } from '../../src/log';
import { startApi } from '../../src/runtime/start-api';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, gpgVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * The two-person rule with TOCSIN_REQUIRE_SIGNATURES=critical:2: real gpg publishers, real Redis,
 * a real webhook partner on loopback. "Nothing was sent" is proven by a positive event: a
 * reconcile pass that queues nothing, then a later advisory that does arrive.
 */
describe('two-person rule', () => {
  const alice = useGpgPublisher('alice@example.org');
  const bob = useGpgPublisher('bob@example.org');
  let partner: Receiver;
  // Hooks run in the order they are declared: the partner goes before tocsin closes.
  afterAll(async () => {
    await partner?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [alice.armoredPublicKey, bob.armoredPublicKey], env: { TOCSIN_REQUIRE_SIGNATURES: 'critical:2' } }));
  beforeAll(async () => {
    partner = await startReceiver();
    await tocsin.addWebhook(partner.url());
  });

  const bodiesFor = (id: string) => partner.requests.filter((r) => r.body.includes(id)).map((r) => JSON.parse(r.body) as WebhookBody);

  /** A medium advisory goes straight out under critical:2; once it has arrived, anything queued before it would have too. */
  async function canaryDelivered(base = tocsin.url): Promise<void> {
    const document = documentText(sampleAdvisory({ id: uniqueId('CANARY'), severity: 'medium' }));
    const r = await fetch(`${base}/v1/advisories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ document, signatures: [await alice.sign(document)] }) });
    const body = (await r.json()) as { id: string; status: string };
    expect(r.status).toBe(202);
    expect(body.status).toBe('accepted');
    await eventually(async () => bodiesFor(body.id).length === 1, 15_000, 'the canary advisory to arrive');
  }

  it('holds a critical advisory signed by one publisher, sends nothing, and sends it with both signatures once the second arrives', async () => {
    const id = uniqueId('CRIT');
    const document = documentText(sampleAdvisory({ id }));
    const held = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(held.status).toBe(202);
    expect(held.json).toMatchObject({ id, revision: 1, status: 'awaiting_signatures', required: 2, missing: 1, publishers: [alice.fingerprint] });

    expect(await tocsin.api.reconcile()).toBe(0);
    await canaryDelivered();
    expect(bodiesFor(id)).toHaveLength(0);
    // Nor is it in the static mirror, rebuilt after the canary.
    const mirrored = path.join(tocsin.config.mirror.dir, 'advisories', id, '1', `${id}.json`);
    await tocsin.api.mirror!.idle();
    await expect(readFile(mirrored, 'utf8')).rejects.toThrow(/ENOENT/);
    const shown = await tocsin.admin('GET', `/v1/advisories/${id}`);
    expect(shown.json).toMatchObject({ status: 'awaiting_signatures', missing: 1 });
    expect(shown.json.document).toBeUndefined();

    // Alice signing again, even with a fresh signature, is still one publisher.
    const again = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await alice.sign(document)] });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ status: 'awaiting_signatures', missing: 1, publishers: [alice.fingerprint] });

    const bobSignature = await bob.sign(document);
    const done = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [bobSignature] });
    expect(done.status).toBe(202);
    expect(done.json).toMatchObject({ id, revision: 1, status: 'accepted', delivery: 'queued' });
    expect([...done.json.publishers].sort()).toEqual([alice.fingerprint, bob.fingerprint].sort());
    // Accepted by its last signature, it reaches the static mirror like any other.
    await tocsin.api.mirror!.idle();
    expect(await readFile(mirrored, 'utf8')).toBe(document);

    const [body] = await eventually(async () => (bodiesFor(id).length > 0 ? bodiesFor(id) : undefined), 15_000, 'the held advisory to arrive');
    expect(body!.document).toBe(document);
    expect([...body!.publisher_fingerprints].sort()).toEqual([alice.fingerprint, bob.fingerprint].sort());
    expect(body!.publisher_signatures).toHaveLength(2);
    const verdicts = await Promise.all(
      [alice, bob].map(async (p) => (await Promise.all(body!.publisher_signatures.map((sig) => gpgVerify(p.armoredPublicKey, document, sig)))).filter((v) => v.ok).map((v) => v.fingerprint)),
    );
    expect(verdicts).toEqual([[alice.fingerprint], [bob.fingerprint]]);

    // Late signatures change nothing and send nothing again.
    const late = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [bobSignature] });
    expect(late.status).toBe(200);
    expect(late.json.status).toBe('duplicate');
    expect(await tocsin.api.reconcile()).toBe(0);
  });

  it('accepts exactly once when the last signature arrives twice at the same moment', async () => {
    const id = uniqueId('RACE');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] })).json.status).toBe('awaiting_signatures');
    const bobSignature = await bob.sign(document);
    const answers = await Promise.all([1, 2, 3].map(() => tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [bobSignature] })));
    expect(answers.map((a) => a.json.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    await eventually(async () => bodiesFor(id).length > 0, 15_000, 'delivery');
    await canaryDelivered();
    expect(bodiesFor(id)).toHaveLength(1);
  });

  it('lets the second signature arrive as a resubmission with `tocsin publish` semantics (same document to POST /v1/advisories)', async () => {
    const id = uniqueId('RESUB');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await bob.sign(document)] })).json.status).toBe('awaiting_signatures');
    const other = documentText(sampleAdvisory({ id, title: 'Not what Bob signed' }));
    const conflicting = await tocsin.call('POST', '/v1/advisories', { document: other, signatures: [await alice.sign(other)] });
    expect(conflicting.status).toBe(409);
    const second = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(second.status).toBe(202);
    expect(second.json.status).toBe('accepted');
    await eventually(async () => bodiesFor(id).length === 1, 15_000, 'delivery');
  });

  it('sends a non-critical advisory signed once straight away', async () => {
    const id = uniqueId('HIGH');
    const document = documentText(sampleAdvisory({ id, severity: 'high' }));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(r.status).toBe(202);
    expect(r.json.status).toBe('accepted');
    await eventually(async () => bodiesFor(id).length === 1, 15_000, 'delivery');
  });

  it('stops counting a publisher removed while the advisory waits', async () => {
    const id = uniqueId('REMOVED');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] })).json.missing).toBe(1);
    const carol = await createGpgPublisher('carol@example.org');
    try {
      const enrol = await tocsin.call('POST', '/v1/publishers', { key: carol.armoredPublicKey }, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-actor': 'test-admin' });
      expect(enrol.status).toBe(201);
      const removal = await tocsin.call('DELETE', `/v1/publishers/${alice.fingerprint}`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-actor': 'test-admin' });
      expect(removal.status).toBe(200);
      const r = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await carol.sign(document)] });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ status: 'awaiting_signatures', missing: 1, publishers: [carol.fingerprint] });
    } finally {
      const back = await tocsin.call('POST', '/v1/publishers', { key: alice.armoredPublicKey }, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-actor': 'test-admin' });
      expect(back.status).toBe(201);
      await carol.dispose();
    }
  });

  it('asks a revision for at least the signatures an earlier accepted revision needed: one publisher cannot withdraw a critical advisory', async () => {
    const id = uniqueId('DOWNGRADE');
    const first = documentText(sampleAdvisory({ id }));
    const accepted = await tocsin.call('POST', '/v1/advisories', { document: first, signatures: [await alice.sign(first), await bob.sign(first)] });
    expect(accepted.json).toMatchObject({ id, revision: 1, status: 'accepted' });
    await eventually(async () => bodiesFor(id).length === 1, 15_000, 'revision 1 to arrive');

    const withdrawal = documentText(sampleAdvisory({ id, revision: 2, severity: 'none', title: 'Withdrawn: no vulnerability', mitigations: [{ text: 'Re-enable the plugin loader.' }] }));
    const held = await tocsin.call('POST', '/v1/advisories', { document: withdrawal, signatures: [await alice.sign(withdrawal)] });
    expect(held.status).toBe(202);
    expect(held.json).toMatchObject({ id, revision: 2, status: 'awaiting_signatures', required: 2, missing: 1, publishers: [alice.fingerprint] });
    expect((await tocsin.admin('GET', `/v1/advisories/${id}?revision=2`)).json).toMatchObject({ status: 'awaiting_signatures', required: 2, missing: 1 });
    expect(await tocsin.api.reconcile()).toBe(0);
    await canaryDelivered();
    expect(bodiesFor(id)).toHaveLength(1);
    expect((await tocsin.call('GET', `/v1/advisories/${id}`)).json).toMatchObject({ revision: 1, severity: 'critical', revisions: [1] });

    const done = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(withdrawal)] });
    expect(done.json).toMatchObject({ id, revision: 2, status: 'accepted', severity: 'none' });
    await eventually(async () => bodiesFor(id).length === 2, 15_000, 'revision 2 to arrive with both signatures');
  });

  it('takes one revision at a time: while one waits for signatures another is refused, naming the waiting one', async () => {
    const id = uniqueId('ORDER');
    const first = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document: first, signatures: [await alice.sign(first)] })).json.status).toBe('awaiting_signatures');
    for (const revision of [2, 1_000_000]) {
      const next = documentText(sampleAdvisory({ id, revision }));
      const r = await tocsin.call('POST', '/v1/advisories', { document: next, signatures: [await alice.sign(next), await bob.sign(next)] });
      expect({ revision, status: r.status, code: r.json.error?.code, expected: r.json.error?.expected_revision }).toEqual({ revision, status: 409, code: 'revision_conflict', expected: 1 });
      expect(r.json.error.message).toMatch(new RegExp(`${id} revision 1 is waiting for signatures`));
    }
    expect((await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(first)] })).json.status).toBe('accepted');
    const second = documentText(sampleAdvisory({ id, revision: 2, title: 'Corrected' }));
    const r = await tocsin.call('POST', '/v1/advisories', { document: second, signatures: [await alice.sign(second), await bob.sign(second)] });
    expect(r.json).toMatchObject({ revision: 2, status: 'accepted' });
  });

  it('shows a held advisory only to an admin: anyone else gets exactly the answer an unknown id gets', async () => {
    const held = uniqueId('SECRET');
    const unknown = uniqueId('SECRET');
    const document = documentText(sampleAdvisory({ id: held }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] })).json.status).toBe('awaiting_signatures');
    // An accepted advisory whose revision 2 waits, beside one that has only revision 1.
    const [public1, public2] = [uniqueId('OPEN'), uniqueId('OPEN')];
    for (const id of [public1, public2]) {
      const r1 = documentText(sampleAdvisory({ id, severity: 'high' }));
      expect((await tocsin.call('POST', '/v1/advisories', { document: r1, signatures: [await alice.sign(r1)] })).json.status).toBe('accepted');
    }
    const r2 = documentText(sampleAdvisory({ id: public1, revision: 2 }));
    expect((await tocsin.call('POST', '/v1/advisories', { document: r2, signatures: [await alice.sign(r2)] })).json.status).toBe('awaiting_signatures');

    const answer = (r: { status: number; text: string }, id: string) => ({ status: r.status, body: r.text.replaceAll(id, '<ID>') });
    const sameAsUnknown = async (path: string, send: (id: string) => Promise<{ status: number; text: string }>, known: string, stranger: string) => {
      expect({ path, ...answer(await send(known), known) }).toEqual({ path, ...answer(await send(stranger), stranger) });
    };
    await sameAsUnknown('GET /:id', (id) => tocsin.call('GET', `/v1/advisories/${id}`), held, unknown);
    await sameAsUnknown('GET /:id?revision=1', (id) => tocsin.call('GET', `/v1/advisories/${id}?revision=1`), held, unknown);
    await sameAsUnknown('GET /:id?revision=2', (id) => tocsin.call('GET', `/v1/advisories/${id}?revision=2`), public1, public2);
    // Signatures that verify over nothing held: an enrolled publisher's over other bytes, an outsider's, junk.
    const other = documentText(sampleAdvisory({ id: held, title: 'Not the held one' }));
    const mallory = await createGpgPublisher('mallory@example.org');
    try {
      for (const signatures of [[await bob.sign(other)], [await mallory.sign(document)], ['not a signature']]) {
        for (const query of ['', '?revision=1', '?revision=2']) {
          const send = (id: string) => tocsin.call('POST', `/v1/advisories/${id}/signatures${query}`, { signatures });
          await sameAsUnknown(`POST /:id/signatures${query}`, send, held, unknown);
          await sameAsUnknown(`POST /:id/signatures${query} (accepted id)`, send, public1, public2);
          expect((await send(held)).status).toBe(401);
        }
      }
    } finally {
      await mallory.dispose();
    }

    // The admin sees the holds, and they are untouched.
    expect((await tocsin.admin('GET', `/v1/advisories/${held}`)).json).toMatchObject({ status: 'awaiting_signatures', missing: 1, publishers: [alice.fingerprint] });
    expect((await tocsin.admin('GET', `/v1/advisories/${public1}?revision=2`)).json).toMatchObject({ status: 'awaiting_signatures', missing: 1 });
    // A co-signer's own signature is answered with the state it changed.
    const done = await tocsin.call('POST', `/v1/advisories/${held}/signatures`, { signatures: [await bob.sign(document)] });
    expect(done.json).toMatchObject({ id: held, status: 'accepted' });
  });

  it('keeps a held advisory through an API restart, never sends it by recovery, and completes it after', async () => {
    const id = uniqueId('RESTART');
    const document = documentText(sampleAdvisory({ id }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await bob.sign(document)] })).json.status).toBe('awaiting_signatures');

    await tocsin.api.close();
    const api = await startApi(tocsin.config, createLogger('silent'));
    const base = `http://127.0.0.1:${api.port}`;
    try {
      expect(await api.reconcile()).toBe(0);
      await canaryDelivered(base);
      expect(bodiesFor(id)).toHaveLength(0);
      const shown = await (await fetch(`${base}/v1/advisories/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
      expect(shown).toMatchObject({ status: 'awaiting_signatures', missing: 1, publishers: [bob.fingerprint] });

      const done = await fetch(`${base}/v1/advisories/${id}/signatures?revision=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signatures: [await alice.sign(document)] }),
      });
      expect(done.status).toBe(202);
      expect(((await done.json()) as { status: string }).status).toBe('accepted');
      await eventually(async () => bodiesFor(id).length === 1, 15_000, 'delivery after restart');
    } finally {
      await api.close();
    }
  });
});

describe('two-person rule: expiry', () => {
  const alice = useGpgPublisher('alice@example.org');
  const bob = useGpgPublisher('bob@example.org');
  // 0.001 h = 3.6 s: long enough to be held, short enough to expire within the test.
  const tocsin = useTocsin(() => ({ publishers: [alice.armoredPublicKey, bob.armoredPublicKey], env: { TOCSIN_REQUIRE_SIGNATURES: 'all:2', TOCSIN_HOLD_HOURS: '0.001' }, workers: false }));

  it('refuses signatures after the hold expired, records it, and never queues the advisory', async () => {
    const id = uniqueId('EXPIRE');
    const document = documentText(sampleAdvisory({ id, severity: 'low' }));
    const held = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(held.json).toMatchObject({ status: 'awaiting_signatures', required: 2 });
    expect(Date.parse(held.json.expires_at) - Date.parse(held.json.received_at)).toBe(3_600);

    await eventually(async () => (await tocsin.admin('GET', `/v1/advisories/${id}`)).json.status === 'expired', 15_000, 'the hold to expire');
    // Only a co-signer learns that it expired: signatures that verify over nothing get the 401 anyone gets.
    const stranger = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(`${document} `)] });
    expect(stranger.status).toBe(401);
    expect(stranger.json.error.code).toBe('unauthenticated');
    const late = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(document)] });
    expect(late.status).toBe(410);
    expect(late.json.error.code).toBe('hold_expired');
    expect(late.json.error.message).toMatch(/submit it again as revision 1/);
    const outcome = JSON.parse(await readFile(path.join(tocsin.config.dataDir, 'held', id, '1', 'outcome.json'), 'utf8'));
    expect(outcome.state).toBe('expired');
    expect(await tocsin.api.reconcile()).toBe(0);
    expect((await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).status).toBe(404);
  });

  it('gives an expired revision its number back: the same revision can wait again, from its first signature', async () => {
    const id = uniqueId('AGAIN');
    const document = documentText(sampleAdvisory({ id, severity: 'low' }));
    const first = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(first.json).toMatchObject({ revision: 1, status: 'awaiting_signatures' });
    await eventually(async () => (await tocsin.admin('GET', `/v1/advisories/${id}`)).json.status === 'expired', 15_000, 'the hold to expire');

    // Bob submits it again: a fresh hold, counting only him, with a new expiry.
    const again = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await bob.sign(document)] });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ revision: 1, status: 'awaiting_signatures', missing: 1, publishers: [bob.fingerprint] });
    expect(Date.parse(again.json.received_at)).toBeGreaterThan(Date.parse(first.json.expires_at));
    // The expiry stays on record beside it.
    const [retired] = (await readdir(path.join(tocsin.config.dataDir, 'held', id))).filter((n) => n.startsWith('1.expired-'));
    expect(JSON.parse(await readFile(path.join(tocsin.config.dataDir, 'held', id, retired!, 'outcome.json'), 'utf8')).state).toBe('expired');

    const done = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await alice.sign(document)] });
    expect(done.status).toBe(202);
    expect(done.json).toMatchObject({ id, revision: 1, status: 'accepted' });
  });
});
