import pino from 'pino';
import { createDrillSchedule, nextOccurrence, scheduledDrillId } from '../../src/drills/drill-schedule';
import { eventually } from '../support/eventually';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const silent = pino({ level: 'silent' });

describe('the drill schedule, on an injected clock', () => {
  it('starts the drill of an occurrence once tocsin\'s clock reaches it, not before, and then waits for the next', async () => {
    // Tocsin's clock 150 ms before midnight UTC, whatever the machine's says.
    const offset = Date.parse('2026-12-03T00:00:00Z') - 150 - Date.now();
    const now = () => new Date(Date.now() + offset);
    const started: { occurrence: Date; at: Date }[] = [];
    const schedule = createDrillSchedule({ expression: '0 0 * * *', log: silent, now, startDrill: async (occurrence) => void started.push({ occurrence, at: now() }) });
    schedule.start();
    try {
      await eventually(async () => started.length === 1 || undefined, 5_000, 'the midnight drill');
      expect(started[0]!.occurrence.toISOString()).toBe('2026-12-03T00:00:00.000Z');
      expect(started[0]!.at.getTime()).toBeGreaterThanOrEqual(Date.parse('2026-12-03T00:00:00Z'));
      expect(nextOccurrence('0 0 * * *', started[0]!.occurrence).toISOString()).toBe('2026-12-04T00:00:00.000Z');
    } finally {
      await schedule.close();
    }
    expect(started).toHaveLength(1);
  });

  it('names each occurrence\'s drill the same in every process', () => {
    const at = new Date('2026-12-03T00:00:00Z');
    expect(scheduledDrillId(at)).toBe(scheduledDrillId(new Date(at)));
    expect(scheduledDrillId(at)).toMatch(/^drill_[0-9a-f]{24}$/);
    expect(scheduledDrillId(at)).not.toBe(scheduledDrillId(new Date(at.getTime() + 1000)));
  });
});

describe('TOCSIN_DRILL_SCHEDULE, through the running service', () => {
  let tocsin: Tocsin;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    // Every second: a short real delay stands for the monthly drill.
    tocsin = await startTocsin({ env: { TOCSIN_DRILL_SCHEDULE: '* * * * * *' } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await receiver?.close();
  });

  it('runs drills by itself, delivered as drills, each listed with its report kept', async () => {
    await tocsin.addWebhook(receiver.url('/partner'));
    const body = await eventually(async () => {
      const hit = receiver.requests.map((r) => JSON.parse(r.body) as { type: string; id: string; document: string }).find((b) => b.type === 'drill.published');
      return hit;
    }, 10_000, 'a scheduled drill at the partner');
    const published = new Date((JSON.parse(body.document) as { published: string }).published);
    expect(body.id).toBe(scheduledDrillId(published));

    const list = await tocsin.admin('GET', '/v1/drills');
    expect(list.status).toBe(200);
    expect((list.json.drills as { id: string }[]).map((d) => d.id)).toContain(body.id);
    const report = await tocsin.admin('GET', `/v1/drills/${body.id}`);
    expect(report.status).toBe(200);
    expect((await tocsin.call('GET', '/v1/drills')).status).toBe(401);
  });
});
