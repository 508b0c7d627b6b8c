/**
 * The channels tocsin delivers over. Each has its own queue and worker pool.
 *
 * A word the whole path shares (config, queues, receipts, metrics, routes), so it lives alone and
 * imports nothing: a small module that names channels must not pull in the channel contract.
 */
export const channelNames = ['webhook', 'email', 'slack', 'mastodon'] as const;
export type ChannelName = (typeof channelNames)[number];
