import { channelNames, type ChannelName } from '../channels/channel-names';
import type { RevisionTally } from '../metrics/delivery-tally';

/** Per channel, the epoch ms of its latest successful delivery (drill or real), or null when none is known. */
export type LastDeliveries = Record<ChannelName, number | null>;

/**
 * Each channel's latest successful delivery, from the tallies of the durable receipts (see
 * metrics/delivery-tally.ts): a Redis that lost its data does not make a channel look silent.
 */
export function lastDeliveriesOf(tallies: readonly RevisionTally[]): LastDeliveries {
  const out = {} as LastDeliveries;
  for (const channel of channelNames) {
    let latest: number | null = null;
    for (const t of tallies) {
      const at = t.get(channel)?.lastDeliveredAt;
      if (at !== undefined && (latest === null || at > latest)) latest = at;
    }
    out[channel] = latest;
  }
  return out;
}

/**
 * The `/readyz` warnings of channels that have recipients and no successful delivery, drill or
 * real, within `staleDays` of `now`: a removed Slack app or a changed relay password shows here
 * before the day it matters. Keyed `channel_<name>`.
 */
export function staleChannelWarnings(last: LastDeliveries, recipients: Record<ChannelName, number>, now: Date, staleDays: number): Record<string, string> {
  const warnings: Record<string, string> = {};
  const limit = now.getTime() - staleDays * 86_400_000;
  for (const channel of channelNames) {
    if (recipients[channel] === 0) continue;
    const at = last[channel];
    if (at !== null && at >= limit) continue;
    const since = at === null ? 'no successful delivery known' : `no successful delivery since ${new Date(at).toISOString()}`;
    warnings[`channel_${channel}`] = `${since}, with ${recipients[channel]} recipient(s), over TOCSIN_CHANNEL_STALE_DAYS (${staleDays}): run tocsin drill --channels ${channel}`;
  }
  return warnings;
}
