import type { InputParser } from './signed-input';
import { parseEmailInput } from './email-input';
import { parseMastodonInput } from './mastodon-input';
import { parseSlackInput } from './slack-input';
import { parseCleartextInput, parseWebhookInput } from './webhook-input';

/** Tried in order; the first that recognises the input wins. The bare cleartext block comes last. */
export const inputParsers: readonly InputParser[] = [parseWebhookInput, parseEmailInput, parseSlackInput, parseMastodonInput, parseCleartextInput];
