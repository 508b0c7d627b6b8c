import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import * as openpgp from 'openpgp';
import { gpgVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';

/** Every answer of POST /v1/advisories, against real Redis, real gpg signatures. */
describe('POST /v1/advisories', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const outsider = useGpgPublisher('mallory@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false }));

  async function signed(doc: Record<string, unknown>) {
    const document = documentText(doc);
    return { document, signatures: [await publisher.sign(document)] };
  }

  it('accepts a gpg-signed advisory with 202, archived and queued', async () => {
    const doc = sampleAdvisory({ id: uniqueId() });
    const r = await tocsin.call('POST', '/v1/advisories', await signed(doc));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ id: doc.id, revision: 1, status: 'accepted', delivery: 'queued', publishers: [publisher.fingerprint] });
    expect(r.json.sha256).toMatch(/^[0-9a-f]{64}$/);

    const got = await tocsin.call('GET', `/v1/advisories/${doc.id as string}`);
    expect(got.status).toBe(200);
    expect(got.json.document).toBe(documentText(doc));
    expect(got.json.broadcaster_signature).toContain('BEGIN PGP SIGNATURE');
    expect(got.json.publisher_signatures).toHaveLength(1);
  });

  it('answers 200 with the same record when the identical document comes again, and does not queue it twice', async () => {
    const body = await signed(sampleAdvisory({ id: uniqueId() }));
    const first = await tocsin.call('POST', '/v1/advisories', body);
    const again = await tocsin.call('POST', '/v1/advisories', body);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json.status).toBe('duplicate');
    expect(again.json.sha256).toBe(first.json.sha256);
    expect(again.json.accepted_at).toBe(first.json.accepted_at);
  });

  it('answers 409 when the id and revision exist with other content', async () => {
    const id = uniqueId();
    expect((await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id })))).status).toBe(202);
    const changed = await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id, title: 'Something else' })));
    expect(changed.status).toBe(409);
    expect(changed.json.error).toMatchObject({ code: 'revision_conflict', expected_revision: 2 });
  });

  it('takes revision 1 first and then each one exactly one higher, so that no one can squat the revisions above: 409 naming the expected one', async () => {
    const id = uniqueId();
    const refused = async (revision: number, expected: number) => {
      const r = await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id, revision, title: `Revision ${revision}` })));
      expect({ revision, status: r.status, error: r.json.error }).toEqual({
        revision,
        status: 409,
        error: { code: 'revision_conflict', expected_revision: expected, message: expect.stringMatching(new RegExp(`(must be|publish revision) ${expected}\\b`)) },
      });
    };
    await refused(3, 1);
    expect((await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id })))).status).toBe(202);
    await refused(1_000_000, 2);
    await refused(3, 2);
    expect((await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id, revision: 2, title: 'Corrected' })))).status).toBe(202);
    await refused(1, 3);
    const latest = await tocsin.call('GET', `/v1/advisories/${id}`);
    expect(latest.json.revision).toBe(2);
    expect(latest.json.revisions).toEqual([1, 2]);
  });

  it('answers 401 for a signature by a key that is not enrolled', async () => {
    const document = documentText(sampleAdvisory({ id: uniqueId() }));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await outsider.sign(document)] });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('unauthenticated');
    expect(r.json.error.fields[0].field).toBe('signatures[0]');
    expect(r.json.error.message).toMatch(/not enrolled/);
  });

  it('answers 401 when the document changed by one byte after signing', async () => {
    const document = documentText(sampleAdvisory({ id: uniqueId() }));
    const signature = await publisher.sign(document);
    const tampered = document.replace('"critical"', '"criticaL"');
    expect(Buffer.byteLength(tampered)).toBe(Buffer.byteLength(document));
    const r = await tocsin.call('POST', '/v1/advisories', { document: tampered, signatures: [signature] });
    expect(r.status).toBe(401);
    // Even one added trailing newline is a different document.
    const appended = await tocsin.call('POST', '/v1/advisories', { document: `${document}\n`, signatures: [signature] });
    expect(appended.status).toBe(401);
  });

  it('accepts when one of several signatures is good, names the bad ones only on failure, and keeps only the good one', async () => {
    const document = documentText(sampleAdvisory({ id: uniqueId() }));
    const good = await publisher.sign(document);
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: ['not a signature', await outsider.sign(document), good, await publisher.sign(`${document} `)] });
    expect(r.status).toBe(202);
    expect(r.json.publishers).toEqual([publisher.fingerprint]);
    // Only the signature that verified is archived and shown as a publisher's.
    const shown = await tocsin.call('GET', `/v1/advisories/${r.json.id as string}`);
    expect(shown.json.publisher_signatures).toEqual([good]);
  });

  it('keeps of a block that mixes a good packet with one it cannot verify only the good packet', async () => {
    const document = documentText(sampleAdvisory({ id: uniqueId() }));
    const packetsOf = async (armored: string) => (await openpgp.unarmor(armored)).data as Uint8Array;
    const [good, foreign] = await Promise.all([publisher.sign(document), outsider.sign(document)]);
    const mixed = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat([await packetsOf(foreign), await packetsOf(good)]));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [mixed] });
    expect(r.status).toBe(202);
    const [kept, ...more] = (await tocsin.call('GET', `/v1/advisories/${r.json.id as string}`)).json.publisher_signatures as string[];
    expect(more).toEqual([]);
    // One packet, the publisher's: gpg verifies it with their key alone and exits 0 (a foreign
    // packet beside it would make gpg exit 2, "Can't check signature: No public key").
    expect((await openpgp.readSignature({ armoredSignature: kept! })).packets.map((p) => p.issuerKeyID.toHex().toUpperCase())).toEqual([publisher.fingerprint.slice(-16)]);
    expect(await gpgVerify(publisher.armoredPublicKey, document, kept!)).toMatchObject({ ok: true, fingerprint: publisher.fingerprint });
  });

  it('answers 400 naming each bad field of a signed but invalid document', async () => {
    const doc = sampleAdvisory({ id: uniqueId(), severity: 'apocalyptic', revision: 0, cves: ['CVE-26-1'] });
    delete doc.title;
    const r = await tocsin.call('POST', '/v1/advisories', await signed(doc));
    expect(r.status).toBe(400);
    const fields = (r.json.error.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['document.cves.0', 'document.revision', 'document.severity', 'document.title']);
  });

  it('answers 400 for unknown fields in the document, since a signed field must never be silently dropped', async () => {
    const r = await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ id: uniqueId(), exploited: true })));
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/exploited/);
  });

  it('answers 400 for a signed document that is not JSON', async () => {
    const document = 'this is not json\n';
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(r.status).toBe(400);
    expect(r.json.error.fields[0]).toMatchObject({ field: 'document' });
    expect(r.json.error.fields[0].message).toMatch(/not valid JSON/);
  });

  it('requires a mitigation note to name the advisory it mitigates', async () => {
    const base = { id: uniqueId(), kind: 'mitigation' };
    const missing = await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory(base)));
    expect(missing.status).toBe(400);
    expect(missing.json.error.fields.map((f: { field: string }) => f.field)).toContain('document.mitigates');
    const ok = await tocsin.call('POST', '/v1/advisories', await signed(sampleAdvisory({ ...base, mitigates: 'ACME-2026-0001' })));
    expect(ok.status).toBe(202);
  });

  it('answers 400 for malformed request JSON', async () => {
    const r = await tocsin.call('POST', '/v1/advisories', '{"document": "x", ');
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('malformed_json');
  });

  it('answers 400 naming missing envelope fields', async () => {
    const r = await tocsin.call('POST', '/v1/advisories', { document: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error.fields).toEqual([expect.objectContaining({ field: 'signatures' })]);
    const empty = await tocsin.call('POST', '/v1/advisories', { document: 'x', signatures: [] });
    expect(empty.status).toBe(400);
  });

  it('answers 413 over 1 MiB', async () => {
    const r = await tocsin.call('POST', '/v1/advisories', { document: 'x'.repeat(1024 * 1024), signatures: ['x'] });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('too_large');
  });

  it('answers 415 for a wrong content type', async () => {
    const r = await tocsin.call('POST', '/v1/advisories', undefined, { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    const form = await fetch(`${tocsin.url}/v1/advisories`, { method: 'POST', body: new URLSearchParams({ document: 'x' }) });
    expect(form.status).toBe(415);
  });

  it('reads ?revision=N in decimal digits only: 400 naming revision otherwise, on every route that takes it', async () => {
    const doc = sampleAdvisory({ id: uniqueId() });
    expect((await tocsin.call('POST', '/v1/advisories', await signed(doc))).status).toBe(202);
    const id = doc.id as string;
    expect((await tocsin.call('GET', `/v1/advisories/${id}?revision=1`)).status).toBe(200);
    expect((await tocsin.call('GET', `/v1/advisories/${id}?revision=2`)).status).toBe(404);
    for (const odd of ['1e0', '0x1', '+1', '%201', '01', '1.0', '0', '1&revision=1']) {
      for (const route of [`/v1/advisories/${id}?revision=${odd}`, `/v1/advisories/${id}/deliveries?revision=${odd}`]) {
        const r = await tocsin.call('GET', route);
        expect({ route, status: r.status, code: r.json.error?.code, field: r.json.error?.fields?.[0]?.field }).toEqual({ route, status: 400, code: 'invalid_query', field: 'revision' });
      }
      const dead = await tocsin.admin('GET', `/v1/deliveries?advisory=${id}&revision=${odd}`);
      expect({ odd, status: dead.status, field: dead.json.error?.fields?.[0]?.field }).toEqual({ odd, status: 400, field: 'revision' });
    }
  });

  it('answers 404 for an unknown advisory and lists accepted ones newest first', async () => {
    expect((await tocsin.call('GET', '/v1/advisories/NOPE-1')).status).toBe(404);
    expect((await tocsin.call('GET', '/v1/advisories/..%2F..%2Fetc')).status).toBe(404);
    const list = await tocsin.call('GET', '/v1/advisories');
    expect(list.status).toBe(200);
    const times = (list.json.advisories as { accepted_at: string }[]).map((a) => a.accepted_at);
    expect(times.length).toBeGreaterThan(0);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('serves the broadcaster public key and health endpoints', async () => {
    const key = await tocsin.call('GET', '/v1/keys/broadcaster.asc');
    expect(key.status).toBe(200);
    expect(key.headers.get('content-type')).toMatch(/application\/pgp-keys/);
    expect(key.text).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(key.headers.get('x-tocsin-fingerprint')).toBe(tocsin.api.broadcaster.fingerprint);
    expect((await tocsin.call('GET', '/healthz')).status).toBe(200);
    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('ready');
  });
});
