import { callApi } from '../../src/cli/api-client';
import { createViewBudget, type ViewBudgets } from '../../src/http/view-budget';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * A revision's delivery list holds a state per recipient while it is written, and anyone may ask
 * for it: the API bounds how many recipients its lists hold at once, the public's apart from the
 * admin's, and turns away with 503 whoever waited too long for room. Here the budget is 2
 * recipients and the revision has 3, so that one list fills it.
 */
describe('the deliveries read within its memory budget', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  const budgets: ViewBudgets = { public: createViewBudget({ recipients: 2, waitMs: 300 }), admin: createViewBudget({ recipients: 2, waitMs: 300 }) };
  /** How many public reads were turned away. */
  let turnedAway = 0;
  const counted: ViewBudgets = {
    ...budgets,
    public: { reserve: (n) => budgets.public.reserve(n).catch((err: unknown) => ((turnedAway += 1), Promise.reject(err))) },
  };
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], viewBudgets: counted }));

  let advisory: string;
  beforeAll(async () => {
    for (const n of [1, 2, 3]) await tocsin.addWebhook(receiver.url(`/hook-${n}`));
    const document = documentText(sampleAdvisory({ id: uniqueId('BUDGET') }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    advisory = answer.json.id as string;
    await eventually(async () => (await tocsin.admin('GET', `/v1/advisories/${advisory}/deliveries`)).json?.summary?.delivered === 3, 10_000, 'all delivered');
  });

  it('answers 503 with Retry-After while the public budget is held, and never holds back an admin', async () => {
    const held = await budgets.public.reserve(1);
    try {
      const turnedAway = await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`);
      expect(turnedAway.status).toBe(503);
      expect(turnedAway.headers.get('retry-after')).toBe('5');
      expect(turnedAway.json.error).toEqual({ code: 'busy', message: expect.stringMatching(/too many delivery lists/) });
      const admin = await tocsin.admin('GET', `/v1/advisories/${advisory}/deliveries`);
      expect(admin.status).toBe(200);
      expect(admin.json.summary).toMatchObject({ delivered: 3 });
    } finally {
      held();
    }
    const served = await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`);
    expect(served.status).toBe(200);
    expect(served.json.deliveries).toHaveLength(3);
  });

  it('gives its room back once each answer is written, whether whole or cut short by the client', async () => {
    await Promise.all(Array.from({ length: 4 }, () => tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`)));
    // A client that goes away before reading its answer.
    const leaving = new AbortController();
    const response = await fetch(`${tocsin.url}/v1/advisories/${advisory}/deliveries`, { signal: leaving.signal });
    leaving.abort();
    await response.body?.cancel().catch(() => undefined);
    // Nothing is left held: the whole budget is free at once (this would wait 300 ms and fail otherwise).
    await eventually(async () => {
      const release = await budgets.public.reserve(2).catch(() => null);
      release?.();
      return release !== null;
    }, 5_000, 'the budget free again');
    (await budgets.admin.reserve(2))();
  });

  it("the CLI's reads wait as Retry-After says and ask again, rather than fail", async () => {
    const held = await budgets.public.reserve(1);
    const before = turnedAway;
    const reading = callApi({ url: tocsin.url }, 'GET', `/v1/advisories/${advisory}/deliveries`, { showRefusal: () => undefined });
    await eventually(async () => turnedAway > before, 5_000, 'the first read turned away');
    held();
    const answer = (await reading) as { summary: { delivered: number } };
    expect(answer.summary.delivered).toBe(3);
  });
});
