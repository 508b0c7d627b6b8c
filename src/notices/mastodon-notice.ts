import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import { signCleartext } from '../pgp/detached';
import { renderTemplate, type TemplateView } from '../templates/render-template';
import { escapeSignedValue, escapeSummaryValue, tidyLines } from './mastodon-text';
import { buildNoticeView } from './notice-view';
import type { RenderContext } from './render-context';
import { messageIdFor } from './webhook-notice';

/**
 * What the Mastodon channel posts, for every account alike. The split into statuses happens at
 * send time, per instance limit, without touching these strings: `cleartext` is signed once here.
 */
export interface MastodonNoticePayload {
  /** The content warning of every status: severity, kind and id. */
  spoiler_text: string;
  /** Readable summary, neutralised; not signed, it points at what is. */
  summary: string;
  /** The text inside the signature, neutralised before signing so it is exactly what is posted. */
  signed_text: string;
  /** `-----BEGIN PGP SIGNED MESSAGE-----` block over `signed_text`, without a final newline. */
  cleartext: string;
}

async function template(ctx: RenderContext, name: string): Promise<string> {
  return readFile(path.join(ctx.templatesDir, name), 'utf8');
}

/**
 * Signs a cleartext block rather than a detached signature: OpenPGP canonicalises line endings
 * and trailing blanks of cleartext, which is what a round trip through Mastodon's HTML and a
 * reader's copy and paste may change, and `gpg --verify` takes the block as one pasted file.
 */
export async function renderMastodonNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const base = buildNoticeView(archived, ctx);
  const view: TemplateView = { ...base, kind_lower: String(base.kind_label).toLowerCase() };
  const signedText = tidyLines(renderTemplate(await template(ctx, 'mastodon-signed.txt'), view, escapeSignedValue), true);
  if (!/^Advisory: \S+ revision \d+$/m.test(signedText) || !/^Title: .+$/m.test(signedText)) {
    throw new Error('templates/mastodon-signed.txt must keep the "Advisory: ID revision N" and "Title: ..." lines');
  }
  const payload: MastodonNoticePayload = {
    spoiler_text: tidyLines(renderTemplate(await template(ctx, 'mastodon-cw.txt'), view, escapeSignedValue), true).replace(/\n/g, ' '),
    summary: tidyLines(renderTemplate(await template(ctx, 'mastodon.txt'), view, escapeSummaryValue), false),
    signed_text: signedText,
    // openpgp.js writes the signed lines with CRLF; cleartext signatures do not see line endings.
    cleartext: (await signCleartext(signedText, ctx.broadcaster.signingKeys)).replace(/\r\n/g, '\n').trimEnd(),
  };
  return {
    ref: { id: archived.record.id, revision: archived.record.revision },
    messageId: messageIdFor(archived),
    payload: JSON.stringify(payload),
    acceptedAt: archived.record.accepted_at,
  };
}
