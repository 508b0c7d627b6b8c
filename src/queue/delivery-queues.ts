import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { channelNames, type ChannelName } from '../channels/channel-names';
import type { DeliveryJobData, DeliveryJobName } from './jobs';

export type DeliveryQueue = Queue<DeliveryJobData<DeliveryJobName>, unknown, DeliveryJobName>;
export type DeliveryQueues = Record<ChannelName, DeliveryQueue>;

/** One BullMQ queue per channel, so that one dead channel never slows another. */
export function createDeliveryQueues(connection: Redis, prefix: string): DeliveryQueues {
  return Object.fromEntries(
    channelNames.map((name) => [name, new Queue(name, { connection, prefix }) as DeliveryQueue]),
  ) as DeliveryQueues;
}
