import type { Logger } from 'pino';
import type { DeliveryObserver } from '../src/delivery/delivery-outcome';

/**
 * One log line per delivery outcome, each naming the advisory, revision, recipient (by id, never
 * its address or URL) and channel. /metrics counts the same outcomes from their receipts.
 */
export function createDeliveryObserver(log: Logger): DeliveryObserver {
  return (o) => {
    const about = { advisory: o.ref.id, revision: o.ref.revision, recipient: o.recipient, channel: o.channel, attempt: o.attempt, outcome: o.outcome };
    switch (o.outcome) {
      case 'delivered':
        log.info({ ...about, detail: o.detail }, 'delivered');
        break;
      case 'retry_scheduled':
        log.warn({ ...about, err: o.error, retry_in_ms: o.retryInMs }, 'delivery attempt failed; retry scheduled');
        break;
      case 'failed':
        log.error({ ...about, err: o.error, reason: o.reason }, 'delivery failed for good');
        break;
    }
  };
}
