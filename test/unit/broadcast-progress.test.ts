import { formatElapsed, progressFrame, progressLine, progressStart, redraw, undelivered, type DeliveriesAnswer } from '../../src/cli/broadcast-progress';

function answer(webhook: DeliveriesAnswer['summary'], deliveries: DeliveriesAnswer['deliveries'] = []): DeliveriesAnswer {
  return { id: 'ACME-1', revision: 2, view: 'public', summary: webhook, summary_by_channel: { webhook }, deliveries };
}

describe('the progress of a broadcast, as the CLI draws it', () => {
  it('writes elapsed time as m:ss, and h:mm:ss past an hour', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(65_400)).toBe('1:05');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
  });

  it('counts the rate from what was done when watching began, not from the start of the broadcast', () => {
    const start = progressStart(answer({ pending: 60, delivered: 40, retrying: 0, failed: 0 }), 0);
    const later = answer({ pending: 0, delivered: 95, retrying: 3, failed: 2 });
    // 60 first attempts in 20 s: 3.0/s, though 100 are done in all.
    expect(progressLine(later, start, 20_000)).toBe('[0:20] ACME-1 revision 2: webhook 95/100 delivered, 3 retrying, 2 failed, 0 pending (3.0/s)');
    expect(progressFrame(later, start, 20_000)).toEqual(['ACME-1 revision 2, 0:20 elapsed', '  webhook   95/100 delivered, 3 retrying, 2 failed, 0 pending  3.0/s']);
  });

  it('redraws over exactly the lines drawn last time, clearing each', () => {
    expect(redraw(0, ['a', 'b'])).toBe('\x1b[2Ka\n\x1b[2Kb\n');
    expect(redraw(2, ['c', 'd'])).toBe('\x1b[2F\x1b[2Kc\n\x1b[2Kd\n');
  });

  it('names each delivery not delivered, with its state, attempts, next attempt and public reason', () => {
    const a = answer({ pending: 0, delivered: 1, retrying: 1, failed: 1 }, [
      { recipient: 'rcpt_ok', channel: 'webhook', state: 'delivered', attempts: 1 },
      { recipient: 'rcpt_gone', channel: 'webhook', state: 'failed', attempts: 1, last_error: 'HTTP 410' },
      { recipient: 'rcpt_down', channel: 'webhook', state: 'retrying', attempts: 2, last_error: 'timed out', next_attempt_at: '2026-12-02T10:00:00.000Z' },
    ]);
    expect(undelivered(a)).toEqual([
      '  rcpt_gone  webhook  failed after 1 attempt: HTTP 410',
      '  rcpt_down  webhook  retrying after 2 attempts, next attempt 2026-12-02T10:00:00.000Z: timed out',
    ]);
  });
});
