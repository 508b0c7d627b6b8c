import type { AdvisoryRef } from '../advisory/record';
import type { ChannelName } from '../channels/channel-names';

/**
 * A delivery job found no signed notice in Redis: Redis lost its data since the revision was
 * queued. Recovery stores the notice again from the archive, so the job waits for it rather than
 * fail.
 */
export class NoticeMissingError extends Error {
  constructor(channel: ChannelName, ref: AdvisoryRef) {
    super(`no ${channel} notice stored for ${ref.id} revision ${ref.revision} (Redis lost it? recovery stores it again)`);
    this.name = 'NoticeMissingError';
  }
}
