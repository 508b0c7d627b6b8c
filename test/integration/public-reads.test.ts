import { randomBytes } from 'node:crypto';
import type { AdvisoryRecord } from '../../src/advisory/record';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { parsePrometheus, sampleValue } from '../support/prometheus-parser';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A title and summary found nowhere else, so that either appearing anywhere is a leak. */
const secretText = (what: string) => {
  const tag = randomBytes(4).toString('hex');
  return { title: `${what} title ${tag}`, summary: `${what} summary ${tag}` };
};

/** An id no archive holds, of the same length as `id` (so that answers can be compared byte for byte). */
const unknownLike = (id: string) => `${id.slice(0, -1)}${id.endsWith('Z') ? 'Y' : 'Z'}`;

/**
 * The running service's public reads (no admin token) answer a revision under embargo or above
 * TLP:CLEAR exactly as one that does not exist, on every route that names advisories; /metrics
 * labels and info-level log lines of the API and the workers never carry their title, summary,
 * or (in /metrics) id. An admin sees everything. GREEN and AMBER advisories go through intake
 * and reach a partner cleared for them; the embargoed ones are archived directly, as the release
 * step will, since intake does not take embargoes yet.
 */
describe('public reads of advisories the public may not see', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let partner: Receiver;
  const lines: LogLine[] = [];
  const clear = { id: uniqueId('CLEAR'), ...secretText('clear') };
  const green = { id: uniqueId('GREEN'), ...secretText('green') };
  const amber = { id: uniqueId('AMBER'), ...secretText('amber') };
  const embargoed = { id: uniqueId('EMB'), ...secretText('embargoed') };
  const partial = { id: uniqueId('PARTIAL'), ...secretText('embargoed update') };
  const hidden = [green, amber, embargoed];

  const publish = async (fields: Record<string, unknown>) => {
    const document = documentText(sampleAdvisory(fields));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
  };

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    partner = await startReceiver();
    tocsin = await startTocsin({
      publishers: [publisher.armoredPublicKey],
      env: { LOG_LEVEL: 'info' },
      logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
    });
    const enrolled = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: partner.url('/amber'), tlp: 'AMBER', groups: ['distros'] });
    expect(enrolled.status).toBe(201);
    const partnerId = enrolled.json.id as string;
    await publish({ id: clear.id, title: clear.title, summary: clear.summary });
    await publish({ id: green.id, title: green.title, summary: green.summary, tlp: 'GREEN' });
    await publish({ id: amber.id, title: amber.title, summary: amber.summary, tlp: 'AMBER' });
    await publish({ id: partial.id, title: 'A public first revision' });

    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const original = (await archive.get({ id: clear.id, revision: 1 }))!;
    const embargo_until = new Date(Date.now() + 3_600_000).toISOString();
    const storeEmbargoed = async (id: string, revision: number, title: string, summary: string) => {
      const document = documentText(sampleAdvisory({ id, revision, title, summary, embargo_until, audience: ['distros'] }));
      const record: AdvisoryRecord = { ...original.record, id, revision, title, accepted_at: new Date().toISOString(), embargo_until, audience: ['distros'] };
      // Sent to the partner in the embargo's audience, as the release step will.
      await archive.store({ ...original, record, document }, { webhook: [partnerId] });
    };
    await storeEmbargoed(embargoed.id, 1, embargoed.title, embargoed.summary);
    await storeEmbargoed(partial.id, 2, partial.title, partial.summary);
    await tocsin.api.reconcile();

    // The partner got CLEAR, GREEN, AMBER, both revisions of PARTIAL and the embargoed one.
    await eventually(async () => (partner.requests.length >= 6 ? true : undefined), 20_000, 'the partner\'s deliveries');
  });
  afterAll(async () => {
    await tocsin?.close();
    await partner?.close();
    await publisher?.dispose();
  });

  /** Status, headers (but the date) and body of a public read, with `id` written as ID. */
  async function answer(path: string, id: string) {
    const r = await tocsin.call('GET', path);
    const headers = [...r.headers].filter(([name]) => name !== 'date');
    return { status: r.status, headers, body: r.text.split(id).join('ID') };
  }

  it('answers GET /v1/advisories/:id (latest, ?revision=1) and /:id/deliveries for each as for an unknown id: same status, headers and body', async () => {
    for (const { id } of hidden) {
      const unknown = unknownLike(id);
      for (const suffix of ['', '?revision=1', '/deliveries', '/deliveries?revision=1']) {
        const seen = await answer(`/v1/advisories/${id}${suffix}`, id);
        expect({ id, suffix, ...seen }).toEqual({ id, suffix, ...(await answer(`/v1/advisories/${unknown}${suffix}`, unknown)) });
        expect(seen.status).toBe(404);
      }
    }
  });

  it('shows the deliveries of one to whoever gives its signed document\'s SHA-256 (the publisher\'s publish --wait), and to nobody else', async () => {
    for (const { id } of hidden) {
      const sha256 = (await tocsin.admin('GET', `/v1/advisories/${id}`)).json.sha256 as string;
      const proven = await tocsin.call('GET', `/v1/advisories/${id}/deliveries?revision=1&sha256=${sha256}`);
      expect({ id, status: proven.status, view: proven.json.view }).toEqual({ id, status: 200, view: 'public' });
      const wrong = `${sha256.slice(0, -1)}${sha256.endsWith('0') ? '1' : '0'}`;
      const unknown = unknownLike(id);
      expect(await answer(`/v1/advisories/${id}/deliveries?revision=1&sha256=${wrong}`, id)).toEqual(await answer(`/v1/advisories/${unknown}/deliveries?revision=1&sha256=${wrong}`, unknown));
      // The proof opens the deliveries read only, never the document.
      expect((await tocsin.call('GET', `/v1/advisories/${id}?sha256=${sha256}`)).status).toBe(404);
    }
    const malformed = await tocsin.call('GET', `/v1/advisories/${amber.id}/deliveries?sha256=XYZ`);
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.fields[0].field).toBe('sha256');
  });

  it('shows the public revision of an advisory whose update is under embargo, and answers for the update as for a revision that does not exist', async () => {
    const latest = await tocsin.call('GET', `/v1/advisories/${partial.id}`);
    expect(latest.status).toBe(200);
    expect(latest.json).toMatchObject({ revision: 1, revisions: [1] });
    expect(latest.text).not.toContain(partial.title);
    const none = await answer(`/v1/advisories/${partial.id}?revision=3`, partial.id);
    expect(await answer(`/v1/advisories/${partial.id}?revision=2`, partial.id)).toEqual({ ...none, body: none.body.replace('revision 3', 'revision 2') });
    expect((await tocsin.call('GET', `/v1/advisories/${partial.id}/deliveries?revision=2`)).status).toBe(404);
  });

  it('leaves them out of the public list, and shows an admin all of them', async () => {
    const list = await tocsin.call('GET', '/v1/advisories');
    expect(list.status).toBe(200);
    const ids = (list.json.advisories as { id: string; revision: number }[]).map((a) => `${a.id}/${a.revision}`);
    expect(ids.sort()).toEqual([`${clear.id}/1`, `${partial.id}/1`].sort());
    for (const h of [...hidden, partial]) expect(list.text).not.toContain(h.title);

    const all = await tocsin.admin('GET', '/v1/advisories');
    expect((all.json.advisories as { id: string }[]).map((a) => a.id).sort()).toEqual([clear.id, green.id, amber.id, embargoed.id, partial.id].sort());
    for (const { id, title } of hidden) {
      const one = await tocsin.admin('GET', `/v1/advisories/${id}`);
      expect({ id, status: one.status, title: one.json.title }).toEqual({ id, status: 200, title });
      expect((await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`)).status).toBe(200);
    }
    expect((await tocsin.admin('GET', `/v1/advisories/${partial.id}`)).json).toMatchObject({ revision: 2, revisions: [1, 2] });
  });

  it('names no advisory the public may not see in any /metrics label', async () => {
    // All six deliveries counted: the gauges of every delivered revision are in Redis.
    const text = await eventually(async () => {
      const r = await tocsin.call('GET', '/metrics');
      return sampleValue(parsePrometheus(r.text), 'tocsin_deliveries_total', { channel: 'webhook', outcome: 'delivered' }) === 6 ? r.text : undefined;
    }, 10_000, 'six deliveries counted');
    expect(text).toContain(`advisory="${clear.id}"`);
    const labels = [...parsePrometheus(text).values()].flatMap((f) => f.samples.flatMap((s) => Object.values(s.labels)));
    // PARTIAL's id is public (its first revision is): only its embargoed revision must not show.
    expect(text).not.toMatch(new RegExp(`advisory="${partial.id}",revision="2"`));
    for (const h of [...hidden, partial]) {
      for (const leak of [...(h === partial ? [] : [h.id]), h.title, h.summary]) expect({ leak, inLabels: labels.some((l) => l.includes(leak)), inText: text.includes(leak) }).toEqual({ leak, inLabels: false, inText: false });
    }
  });

  it('writes no title or summary to info-level log lines of the API and the workers (ids only, for operators)', async () => {
    const info = lines.filter((l) => l.level >= 30);
    // The AMBER and the embargoed advisories were delivered, and that was logged, by id.
    expect(info.some((l) => l.msg === 'advisory accepted and archived' && l.advisory === amber.id)).toBe(true);
    for (const { id } of [amber, embargoed]) expect({ id, logged: info.some((l) => l.msg === 'delivered' && JSON.stringify(l).includes(id)) }).toEqual({ id, logged: true });
    const text = info.map((l) => JSON.stringify(l)).join('\n');
    for (const h of [clear, ...hidden, partial]) {
      for (const leak of [h.title, h.summary]) expect({ leak, found: text.includes(leak) }).toEqual({ leak, found: false });
    }
  });
});
