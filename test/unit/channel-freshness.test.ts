import { staleChannelWarnings, type LastDeliveries } from '../../src/drills/channel-freshness';

describe('stale channel warnings', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  const DAY = 86_400_000;
  const none: LastDeliveries = { webhook: null, email: null, slack: null, mastodon: null };
  const counts = { webhook: 2, email: 1, slack: 0, mastodon: 0 };

  it('warns about a channel with recipients and no delivery within the days, and only about those', () => {
    const last: LastDeliveries = { ...none, webhook: now.getTime() - 35 * DAY, email: now.getTime() - 35 * DAY - 1 };
    const warnings = staleChannelWarnings(last, counts, now, 35);
    expect(Object.keys(warnings)).toEqual(['channel_email']);
    expect(warnings.channel_email).toContain('since 2026-10-28T11:59:59.999Z');
    expect(warnings.channel_email).toContain('tocsin drill --channels email');
  });

  it('counts a channel never delivered on as stale, unless it has no recipients', () => {
    expect(Object.keys(staleChannelWarnings(none, counts, now, 35))).toEqual(['channel_webhook', 'channel_email']);
    expect(staleChannelWarnings(none, { webhook: 0, email: 0, slack: 0, mastodon: 0 }, now, 35)).toEqual({});
  });
});
