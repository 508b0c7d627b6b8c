import { BODY_LIMIT_BYTES } from '../../src/http/json-body';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { fuzz, type Rng } from '../support/fuzz';
import { DEEP, fieldsOf, randomBody, randomJson, withInvalidUtf8 } from '../support/hostile-inputs';
import { send, startHostileRig, type Answer, type HostileRig } from '../support/hostile-rig';
import type { Receiver } from '../support/webhook-receiver';
import { ADMIN_TOKEN } from '../support/tocsin-harness';

/**
 * Hostile input to the deliveries admin API of a real tocsin holding one accepted advisory with
 * a dead letter (a partner that answered 410), a delivered webhook and a delivered email, and one
 * held advisory. Every hostile replay or listing is refused with a 4xx naming the field, and
 * afterwards no delivery state changed, no job was queued, the settled mark is byte for byte the
 * same and no partner got another request. Many requests would replay the dead letter were their
 * one flaw ignored.
 */
describe('hostile input to the deliveries admin API', () => {
  let rig: HostileRig;
  let gone: Receiver;
  let goneId: string;
  let advisory: string;
  let heldId: string;
  let delivered: { webhook: string; email: string };
  const ADMIN = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    rig = await startHostileRig({ TOCSIN_REQUIRE_SIGNATURES: 'critical:2' });
    ({ receiver: gone, id: goneId } = await rig.addReceiver(() => ({ status: 410 })));
    advisory = uniqueId('DLQ');
    heldId = uniqueId('HELD');
    for (const [id, severity, status] of [[advisory, 'high', 'accepted'], [heldId, 'critical', 'awaiting_signatures']] as const) {
      const document = documentText(sampleAdvisory({ id, severity }));
      const r = await rig.tocsin.call('POST', '/v1/advisories', { document, signatures: [await rig.publisher.sign(document)] });
      if (r.json?.status !== status) throw new Error(`${id}: ${r.status} ${r.text}`);
    }
    await Promise.all([rig.receiver.waitFor(1), gone.waitFor(1), rig.smtp.waitFor(1)]);
    const states = await eventually(async () => {
      const r = await rig.tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`);
      return r.json.summary.failed === 1 && r.json.summary.delivered === 2 ? (r.json.deliveries as { recipient: string; channel: string; state: string }[]) : undefined;
    }, 30_000, 'one dead letter and two deliveries');
    const find = (channel: string, state: string) => states.find((d) => d.channel === channel && d.state === state)!.recipient;
    delivered = { webhook: find('webhook', 'delivered'), email: find('email', 'delivered') };
    expect(find('webhook', 'failed')).toBe(goneId);
    await rig.rebaseline();
  });
  afterAll(() => rig?.close());

  const url = (p: string) => `${rig.tocsin.url}${p}`;
  const replay = (body: Buffer | string) => send(url('/v1/deliveries/replay'), 'POST', body, ADMIN);
  const list = (query: string) => send(url(`/v1/deliveries${query}`), 'GET', undefined, { authorization: ADMIN.authorization });

  async function expectHarmless(answer: Answer, what: string, statuses?: readonly number[]) {
    rig.refused(answer, what, statuses);
    await rig.unchanged(what);
  }

  /** A valid replay of the dead letter: what every case below spoils in one place. */
  const valid = () => ({ advisory, revision: 1, channel: 'webhook', recipients: [goneId] });

  describe('POST /v1/deliveries/replay', () => {
    it('refuses random bytes, JSON-ish soup and random JSON values', async () => {
      // Without `all_failed` among the keys: {"all_failed": true} is a valid request.
      await fuzz('replay: random bodies', 200, async (rng, i) => {
        await expectHarmless(await replay(randomBody(rng, i, ['advisory', 'revision', 'channel', 'recipients'])), `random replay body ${i}`);
      });
    });

    it('refuses a valid replay truncated at every cut point', async () => {
      const whole = Buffer.from(JSON.stringify(valid()));
      for (let cut = 0; cut < whole.length; cut++) {
        await expectHarmless(await replay(whole.subarray(0, cut)), `replay cut at byte ${cut} of ${whole.length}`, [400]);
      }
    });

    it('refuses a wrong type or value in every field, naming it', async () => {
      const wrong: Record<string, unknown[]> = {
        advisory: [null, 7, true, [], {}, '', [advisory], `${advisory} `, 'a'.repeat(129), '../held'],
        revision: [null, '1', 0, -1, 1.5, 1e308, true, [1], {}],
        channel: [null, 7, '', 'Webhook', 'sms', ['webhook'], 'webhook ', '__proto__'],
        recipients: [null, goneId, [], [7], [null], [''], ['r'.repeat(201)], Array.from({ length: 1001 }, () => goneId), {}],
      };
      for (const [field, values] of Object.entries(wrong)) {
        for (const value of values) {
          const answer = await replay(JSON.stringify({ ...valid(), [field]: value }));
          const what = `${field} = ${JSON.stringify(value).slice(0, 60)}`;
          await expectHarmless(answer, what, [400]);
          expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: expect.arrayContaining([expect.stringMatching(new RegExp(`^${field}`))]) });
        }
      }
      for (const value of [false, 'true', 1, null, [true], {}]) {
        const answer = await replay(JSON.stringify({ all_failed: value }));
        await expectHarmless(answer, `all_failed = ${JSON.stringify(value)}`, [400]);
        expect(fieldsOf(answer)).toContain('all_failed');
      }
      const both = await replay(JSON.stringify({ ...valid(), all_failed: true }));
      await expectHarmless(both, 'advisory and all_failed together', [400]);
      expect(fieldsOf(both)).toEqual(['all_failed']);
      for (const field of ['revision', 'recipients'] as const) {
        const alone = await replay(JSON.stringify({ all_failed: true, [field]: valid()[field] }));
        await expectHarmless(alone, `all_failed with ${field}`, [400]);
        expect(fieldsOf(alone)).toContain(field);
      }
    });

    it('refuses unknown fields, naming each', async () => {
      for (const extra of ['state', 'all_Failed', 'recipient', 'force', '__proto__', 'constructor']) {
        const answer = await replay(`${JSON.stringify(valid()).slice(0, -1)},${JSON.stringify(extra)}:true}`);
        await expectHarmless(answer, `replay with ${extra}`, [400]);
        expect(fieldsOf(answer)).toEqual([extra]);
      }
    });

    it('refuses huge, deeply nested and non-UTF-8 bodies', async () => {
      await expectHarmless(await replay(JSON.stringify({ ...valid(), recipients: [goneId, 'r'.repeat(BODY_LIMIT_BYTES)] })), 'replay over 1 MiB', [413]);
      await expectHarmless(await replay(DEEP.arrays), 'body of 100,000 nested arrays', [400]);
      await expectHarmless(await replay(DEEP.objects), 'body of 100,000 nested objects', [400]);
      await expectHarmless(await replay(`{"advisory":"${advisory}","recipients":${DEEP.arrays}}`), 'recipients of 100,000 nested arrays', [400]);
      await fuzz('replay: invalid UTF-8', 40, async (rng, i) => {
        const { body, what } = withInvalidUtf8(rng, Buffer.from(JSON.stringify(valid())));
        await expectHarmless(await replay(body), `${what} (case ${i})`, [400]);
      });
    });

    it('replays nothing for filters naming unknown advisories, revisions, channels or recipients', async () => {
      const cases: [string, Record<string, unknown>, number, string | null][] = [
        ['an unknown advisory', { advisory: 'NOPE-2026-0001' }, 404, null],
        ['the held advisory', { advisory: heldId }, 404, null],
        ['the held advisory with the dead letter', { advisory: heldId, recipients: [goneId] }, 404, null],
        ['an unknown revision', { ...valid(), revision: 2 }, 404, null],
        ['the largest revision', { ...valid(), revision: 1_000_000 }, 404, null],
        ['an unknown recipient', { advisory, recipients: ['rcpt_nobody'] }, 404, 'recipients.0'],
        ['the dead letter and an unknown recipient', { advisory, recipients: [goneId, 'rcpt_nobody'] }, 404, 'recipients.1'],
        ['the dead letter over the wrong channel', { ...valid(), channel: 'email' }, 404, 'recipients.0'],
        ['the dead letter over a channel it has no recipients on', { ...valid(), channel: 'slack' }, 404, 'recipients.0'],
        ['a delivered webhook', { advisory, recipients: [delivered.webhook] }, 409, 'recipients.0'],
        ['a delivered email', { advisory, recipients: [delivered.email] }, 409, 'recipients.0'],
        ['the dead letter and a delivered webhook', { advisory, recipients: [goneId, delivered.webhook] }, 409, 'recipients.1'],
        ['a recipient named like a prototype key', { advisory, recipients: ['__proto__', 'constructor', 'toString'] }, 404, 'recipients.0'],
      ];
      for (const [what, body, status, field] of cases) {
        const answer = await replay(JSON.stringify(body));
        await expectHarmless(answer, what, [status]);
        if (field) expect({ what, fields: fieldsOf(answer) }).toEqual({ what, fields: expect.arrayContaining([field]) });
        else expect({ what, message: JSON.parse(answer.body).error.message }).toEqual({ what, message: expect.stringContaining(String(body.advisory)) });
      }
      // Selections that match no dead letter are not errors: 202, nothing replayed, nothing changed.
      for (const body of [{ advisory, channel: 'slack' }, { advisory, channel: 'email' }, { all_failed: true, channel: 'mastodon' }]) {
        const answer = await replay(JSON.stringify(body));
        expect({ body, status: answer.status, outcome: JSON.parse(answer.body) }).toEqual({ body, status: 202, outcome: { replayed: [], skipped: [] } });
        await rig.unchanged(`replay of ${JSON.stringify(body)}`);
      }
    });

    it('refuses every replay without the admin token', async () => {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `Bearer ${ADMIN_TOKEN}x`]) {
        const answer = await send(url('/v1/deliveries/replay'), 'POST', JSON.stringify(valid()), { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) });
        await expectHarmless(answer, `replay with authorization ${String(authorization)}`, [401]);
      }
    });
  });

  describe('GET /v1/deliveries', () => {
    /** One parameter that makes the query wrong: unknown, repeated, malformed or naming nothing known. */
    function poison(rng: Rng): string {
      return rng.pick([
        `state=${rng.pick(['delivered', 'pending', 'retrying', 'FAILED', 'failed%20', '', '%00', 'failed%00', '__proto__'])}`,
        'state=failed&state=failed',
        `channel=${rng.pick(['sms', 'Webhook', '', 'webhook,email', '%ff', 'toString'])}`,
        'channel=webhook&channel=email',
        `revision=${rng.pick(['2', '0', '-1', '1.5', 'abc', '', '1e999'])}`,
        `advisory=${rng.pick(['', '%20', 'a'.repeat(129), '..%2F..%2Fheld', `${advisory}%00`, 'NOPE-1', heldId, '-x'])}`,
        `advisory=${advisory}&revision=${rng.pick(['2', '0', 'x', '1.5', '1000000'])}`,
        `${rng.pick(['chanel', 'State', 'state[]', 'advisory[x]', '__proto__', 'constructor', 'limit', 'offset'])}=${rng.pick(['1', 'failed', 'webhook', ''])}`,
        `advisory=${advisory}&advisory=${advisory}`,
      ]);
    }
    const fair = (rng: Rng): string => rng.pick(['state=failed', 'channel=webhook', 'channel=email', `advisory=${advisory}`, '']);

    it('refuses a query with one wrong parameter among fair ones, naming it', async () => {
      await fuzz('deliveries: odd queries', 200, async (rng, i) => {
        const parts = [poison(rng), ...Array.from({ length: rng.int(0, 3) }, () => fair(rng))].filter(Boolean);
        for (let k = parts.length - 1; k > 0; k--) {
          const j = rng.int(0, k);
          [parts[k], parts[j]] = [parts[j]!, parts[k]!];
        }
        const query = `?${parts.join('&')}`;
        const answer = await list(query);
        await expectHarmless(answer, `GET /v1/deliveries${query} (case ${i})`, [400, 404]);
        if (answer.status === 400) expect({ query, named: fieldsOf(answer).length > 0 }).toEqual({ query, named: true });
      });
    });

    it('lists the dead letter for fair queries, and random JSON in the query is refused', async () => {
      const fairList = await list(`?state=failed&advisory=${advisory}&channel=webhook&revision=1`);
      expect(fairList.status).toBe(200);
      expect(JSON.parse(fairList.body)).toMatchObject({ count: 1, deliveries: [expect.objectContaining({ recipient: goneId })] });
      await fuzz('deliveries: JSON in the query', 60, async (rng, i) => {
        const query = `?state=${encodeURIComponent(JSON.stringify(randomJson(rng, ['state', 'advisory'])))}`;
        await expectHarmless(await list(query), `query ${query.slice(0, 100)} (case ${i})`, [400]);
      });
    });
  });

  // Last: the valid replay is accepted, the partner is asked again, and the rig notices.
  it('replays the dead letter for a request without a flaw, and the rig notices', async () => {
    const answer = await replay(JSON.stringify(valid()));
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body).replayed).toEqual([expect.objectContaining({ recipient: goneId, replay: 1 })]);
    await gone.waitFor(2);
    await expect(rig.unchanged('after a legitimate replay')).rejects.toThrow(/changed|broadcast/);
  });
});
