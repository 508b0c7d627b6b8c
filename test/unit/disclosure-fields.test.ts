import { advisoryDocumentSchema, bulletinDocumentSchema } from '../../src/advisory/schema';
import { createRecipientSchema, type Recipient } from '../../src/recipients/recipient';
import { receives, matchesFilter } from '../../src/release/routing';
import { fieldProblems } from '../../src/util/zod-fields';
import { sampleAdvisory } from '../support/advisory-fixture';

const problems = (doc: Record<string, unknown>) => {
  const parsed = advisoryDocumentSchema.safeParse(doc);
  return parsed.success ? [] : fieldProblems(parsed.error, 'document');
};
const fieldsOf = (doc: Record<string, unknown>) => problems(doc).map((p) => p.field);

describe('the disclosure fields of a document', () => {
  it('takes each TLP 2.0 label a broadcaster may carry, and refuses RED by name', () => {
    for (const tlp of ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT']) expect(problems(sampleAdvisory({ tlp }))).toEqual([]);
    const red = problems(sampleAdvisory({ tlp: 'RED' }));
    expect(red).toEqual([{ field: 'document.tlp', message: expect.stringContaining('TLP:RED is for named people') }]);
    expect(fieldsOf(sampleAdvisory({ tlp: 'amber' }))).toEqual(['document.tlp']);
    expect(fieldsOf(sampleAdvisory({ tlp: 'WHITE' }))).toEqual(['document.tlp']);
  });

  it('asks for an audience with an embargo, and an embargo with an audience', () => {
    const until = '2026-12-09T14:00:00Z';
    expect(problems(sampleAdvisory({ embargo_until: until, audience: ['distros'] }))).toEqual([]);
    expect(problems(sampleAdvisory({ embargo_until: until }))).toEqual([{ field: 'document.audience', message: expect.stringContaining('required with embargo_until') }]);
    expect(fieldsOf(sampleAdvisory({ audience: ['distros'] }))).toEqual(['document.audience']);
    expect(fieldsOf(sampleAdvisory({ embargo_until: until, audience: [] }))).toEqual(['document.audience']);
    expect(fieldsOf(sampleAdvisory({ embargo_until: until, audience: ['distros', 'distros'] }))).toEqual(['document.audience']);
    expect(fieldsOf(sampleAdvisory({ embargo_until: until, audience: ['Distros'] }))).toEqual(['document.audience.0']);
  });

  it('wants an RFC 3339 embargo end with an offset', () => {
    for (const bad of ['2026-12-09 14:00', '2026-12-09T14:00:00', 'tomorrow', 1765288800]) {
      expect(fieldsOf(sampleAdvisory({ embargo_until: bad, audience: ['distros'] }))).toEqual(['document.embargo_until']);
    }
    expect(problems(sampleAdvisory({ embargo_until: '2026-12-09T15:00:00+01:00', audience: ['distros'] }))).toEqual([]);
  });

  it('takes a retraction of exactly its fields, and refuses any other', () => {
    const retraction = { id: 'ACME-2026-0002', revision: 1, kind: 'retraction', retracts: 'ACME-2026-0001', title: 'Withdrawn: not a vulnerability', summary: 'The report was wrong.', published: '2026-11-25T12:00:00Z' };
    expect(problems(retraction)).toEqual([]);
    expect(fieldsOf({ ...retraction, severity: 'high' })).toEqual(['document.severity']);
    expect(fieldsOf({ ...retraction, tlp: 'CLEAR' })).toEqual(['document.tlp']);
    const { retracts: _, ...without } = retraction;
    expect(fieldsOf(without)).toEqual(['document.retracts']);
    expect(bulletinDocumentSchema.safeParse(retraction).success).toBe(false);
  });
});

describe('the routing fields of a recipient', () => {
  const webhook = { type: 'webhook', url: 'https://partner.example/hook' };
  const fields = (body: Record<string, unknown>) => {
    const parsed = createRecipientSchema.safeParse(body);
    return parsed.success ? [] : fieldProblems(parsed.error).map((p) => p.field);
  };

  it('takes groups, a TLP clearance and a filter on every channel', () => {
    expect(fields({ ...webhook, groups: ['distros', 'cloud'], tlp: 'AMBER+STRICT', filter: { products: ['acme-server'], min_severity: 'high', kinds: ['advisory'] } })).toEqual([]);
    expect(fields({ type: 'email', address: 'sec@example.org', tlp: 'GREEN' })).toEqual([]);
    expect(fields({ ...webhook, tlp: 'RED' })).toEqual(['tlp']);
    expect(fields({ ...webhook, groups: ['Distros'] })).toEqual(['groups.0']);
    expect(fields({ ...webhook, filter: { min_severity: 'urgent' } })).toEqual(['filter.min_severity']);
    expect(fields({ ...webhook, filter: { kinds: ['retraction'] } })).toEqual(['filter.kinds.0']);
    expect(fields({ ...webhook, filter: { vendor: 'x' } })).toEqual(['filter.vendor']);
  });

  it('keeps Mastodon, which is public, at TLP:CLEAR', () => {
    const mastodon = { type: 'mastodon', instance_url: 'https://social.example', access_token: 'token-123456' };
    expect(fields({ ...mastodon, tlp: 'CLEAR' })).toEqual([]);
    expect(fields({ ...mastodon, tlp: 'GREEN' })).toEqual(['tlp']);
  });
});

describe('who receives a revision', () => {
  const doc = (over: Record<string, unknown> = {}) => bulletinDocumentSchema.parse(sampleAdvisory({ affected: [{ product: 'Acme-Server', versions: '<2.3.1', purl: 'pkg:npm/acme-server@2.3.0' }], ...over }));
  const recipient = (over: Partial<Recipient> = {}): Recipient =>
    ({ id: 'rcpt_1', created_at: '2026-11-24T00:00:00Z', type: 'webhook', url: 'https://p.example/', secret: 'whsec_x', ...over }) as Recipient;

  it('sends each label only to recipients cleared for it', () => {
    const order = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const;
    for (const [i, label] of order.entries()) {
      for (const [j, cleared] of order.entries()) {
        expect(receives(recipient({ tlp: cleared }), doc({ tlp: label }), { embargoed: false })).toBe(j >= i);
      }
    }
    expect(receives(recipient({}), doc({ tlp: 'GREEN' }), { embargoed: false })).toBe(false);
    expect(receives(recipient({}), doc(), { embargoed: false })).toBe(true);
  });

  it('never sends a labelled advisory to Mastodon, whatever its stored clearance', () => {
    const mastodon = recipient({ type: 'mastodon', tlp: 'AMBER' } as Partial<Recipient>);
    expect(receives(mastodon, doc({ tlp: 'GREEN' }), { embargoed: false })).toBe(false);
    expect(receives(mastodon, doc(), { embargoed: false })).toBe(true);
  });

  it('never posts an embargoed advisory to Mastodon, even one in the audience groups', () => {
    const embargoed = doc({ embargo_until: '2026-12-09T14:00:00Z', audience: ['distros'] });
    const mastodon = recipient({ type: 'mastodon', groups: ['distros'] } as Partial<Recipient>);
    expect(receives(mastodon, embargoed, { embargoed: true })).toBe(false);
    expect(receives(mastodon, embargoed, { embargoed: false })).toBe(true);
  });

  it('during an embargo, sends only to the audience groups', () => {
    const embargoed = doc({ embargo_until: '2026-12-09T14:00:00Z', audience: ['distros'] });
    expect(receives(recipient({ groups: ['distros'] }), embargoed, { embargoed: true })).toBe(true);
    expect(receives(recipient({ groups: ['cloud'] }), embargoed, { embargoed: true })).toBe(false);
    expect(receives(recipient({}), embargoed, { embargoed: true })).toBe(false);
    expect(receives(recipient({}), embargoed, { embargoed: false })).toBe(true);
  });

  it('applies each part of a filter', () => {
    const d = doc({ severity: 'high', kind: 'advisory' });
    expect(matchesFilter({ products: ['acme-server'] }, d)).toBe(true);
    expect(matchesFilter({ products: ['pkg:npm/acme-server'] }, d)).toBe(true);
    expect(matchesFilter({ products: ['pkg:npm/acme'] }, d)).toBe(false);
    expect(matchesFilter({ products: ['other'] }, d)).toBe(false);
    expect(matchesFilter({ min_severity: 'high' }, d)).toBe(true);
    expect(matchesFilter({ min_severity: 'critical' }, d)).toBe(false);
    expect(matchesFilter({ min_severity: 'none' }, d)).toBe(true);
    expect(matchesFilter({ kinds: ['mitigation'] }, d)).toBe(false);
    expect(matchesFilter({ kinds: ['advisory', 'mitigation'], min_severity: 'low', products: ['ACME-SERVER'] }, d)).toBe(true);
  });
});
