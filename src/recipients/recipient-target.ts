import { SLACK_API_URL } from './build-recipient';
import type { ImportLine, Recipient } from './recipient';

/** A URL as the client connects to it: `HTTP://Example.org:80/a` and `http://example.org/a` are one target. */
function sameUrl(raw: string): string {
  try {
    return new URL(raw).href;
  } catch {
    return raw;
  }
}

/**
 * Where a recipient's notices go, as one string: two recipients with the same key would receive
 * every notice twice, so an import updates the one that exists instead of adding another. A
 * webhook is its URL; an email its address, without regard to case; a Slack channel its id at
 * its API; a Mastodon recipient its instance (one broadcaster account per instance: a new
 * access token replaces the old one).
 */
export function targetKey(r: Recipient | ImportLine): string {
  switch (r.type) {
    case 'webhook':
      return `webhook ${sameUrl(r.url)}`;
    case 'email':
      return `email ${r.address.toLowerCase()}`;
    case 'slack':
      return `slack ${r.channel_id} ${sameUrl((r.api_url ?? SLACK_API_URL).replace(/\/?$/, '/'))}`;
    case 'mastodon':
      return `mastodon ${sameUrl(r.instance_url.replace(/\/+$/, ''))}`;
  }
}
