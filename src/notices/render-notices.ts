import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import type { ChannelName } from '../channels/channel-names';
import type { Audience } from '../storage/advisory-archive';
import { renderSlackNotice } from './slack-notice';
import { renderMastodonNotice } from './mastodon-notice';
import { renderEmailNotice } from './email-notice';
import { renderWebhookNotice } from './webhook-notice';
import type { NoticeRenderer, RenderContext } from './render-context';

/** One renderer per channel; a channel without one cannot be queued. */
export const noticeRenderers: Partial<Record<ChannelName, NoticeRenderer>> = {
  webhook: renderWebhookNotice,
  slack: renderSlackNotice,
  mastodon: renderMastodonNotice,
  email: renderEmailNotice,
};

/** Renders the notices of the channels that have recipients in this revision's audience. */
export async function renderNotices(archived: ArchivedAdvisory, audience: Audience, ctx: RenderContext): Promise<Map<ChannelName, Notice>> {
  const out = new Map<ChannelName, Notice>();
  for (const [channel, ids] of Object.entries(audience) as [ChannelName, string[]][]) {
    if (ids.length === 0) continue;
    const render = noticeRenderers[channel];
    if (!render) throw new Error(`no notice renderer for the ${channel} channel`);
    out.set(channel, await render(archived, ctx));
  }
  return out;
}

/** Where the shipped templates are: config.ts reads it from here. */
export { defaultTemplatesDir } from './notice-templates';
