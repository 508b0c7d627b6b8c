import type { Logger } from 'pino';
import type { AdvisoryRef } from '../advisory/record';

/** Distinct warnings remembered; past this the memory starts over (and warns again). */
const MAX_REMEMBERED = 1_000;

/**
 * Warns that a channel could not look for an earlier post and sent without it, once per recipient
 * and reason: a missing scope fails the same way on every retry of every notice, and one line
 * says all an operator needs. The line names the advisory whose retry met it first.
 */
export function createLookupWarner(log: Pick<Logger, 'warn'> | undefined, channel: string) {
  const warned = new Set<string>();
  return (recipientId: string, reason: string, ref: AdvisoryRef): void => {
    const key = `${recipientId}\n${reason}`;
    if (!log || warned.has(key)) return;
    if (warned.size >= MAX_REMEMBERED) warned.clear();
    warned.add(key);
    log.warn(
      { channel, recipient: recipientId, reason, advisory: ref.id, revision: ref.revision },
      'could not look for an earlier post of a notice before retrying: posting anyway, so a duplicate is possible',
    );
  };
}
