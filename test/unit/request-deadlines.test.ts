import { once } from 'node:events';
import { createRequestDeadlines, DeadlineExceededError } from '../../src/net/request-deadlines';

describe('request deadlines', () => {
  it('aborts a request still out at its deadline, with a reason that says so', async () => {
    const deadlines = createRequestDeadlines({ deadlineMs: 100, sweepMs: 10 });
    const started = Date.now();
    const d = deadlines.start();
    await once(d, 'abort');
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(d.aborted).toBe(true);
    expect(d.reason).toBeInstanceOf(DeadlineExceededError);
    expect(d.reason?.message).toBe('no complete answer within 100 ms');
    deadlines.close();
  });

  it('leaves alone a request that settled in time, however many started after it', async () => {
    const deadlines = createRequestDeadlines({ deadlineMs: 50, sweepMs: 5 });
    const settled = deadlines.start();
    const aborts: string[] = [];
    settled.on('abort', () => aborts.push('settled'));
    settled.settle();
    const late = Array.from({ length: 3000 }, () => deadlines.start());
    late.forEach((d, i) => d.on('abort', () => aborts.push(`late ${i}`)));
    await once(late.at(-1)!, 'abort');
    expect(settled.aborted).toBe(false);
    expect(aborts).toHaveLength(3000);
    expect(aborts[0]).toBe('late 0');
    deadlines.close();
  });
});
