import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import { signCleartext } from '../pgp/detached';
import { renderTemplate, type TemplateView } from '../templates/render-template';
import { escapeSignedValue, escapeSummaryValue, tidyLines } from './mastodon-text';
import { inlineMarks, withMarkLines, type NoticeMarks } from './notice-marks';
import { readNoticeTemplate } from './notice-templates';
import { buildNoticeContent, templateFor } from './notice-view';
import type { RenderContext } from './render-context';
import { messageIdFor } from './webhook-notice';

/**
 * What the Mastodon channel posts, for every account alike. The split into statuses happens at
 * send time, per instance limit, without touching these strings: `cleartext` is signed once here.
 */
export interface MastodonNoticePayload {
  /** The content warning of every status: severity, kind and id; `UPDATED` or `WITHDRAWN` in front when so; `DRILL` alone on a drill. */
  spoiler_text: string;
  /** Readable summary, neutralised; not signed, it points at what is. */
  summary: string;
  /** The text inside the signature, neutralised before signing so it is exactly what is posted. */
  signed_text: string;
  /** `-----BEGIN PGP SIGNED MESSAGE-----` block over `signed_text`, without a final newline. */
  cleartext: string;
}

function template(ctx: RenderContext, name: string): Promise<string> {
  return readNoticeTemplate(ctx.templatesDir, name);
}

/**
 * Signs a cleartext block rather than a detached signature: OpenPGP canonicalises line endings
 * and trailing blanks of cleartext, which is what a round trip through Mastodon's HTML and a
 * reader's copy and paste may change, and `gpg --verify` takes the block as one pasted file.
 *
 * The marks open the summary (on one line, to spend few characters of the first status) and the
 * signed text. Routing sends Mastodon CLEAR advisories only, but the label is shown all the same.
 */
export async function renderMastodonNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const { form, marks, view: base } = buildNoticeContent(archived, ctx);
  const view: TemplateView = { ...base, kind_lower: String(base.kind_label).toLowerCase() };
  const rendered = tidyLines(renderTemplate(await template(ctx, templateFor('mastodon-signed.txt', form)), view, escapeSignedValue), true);
  if (!/^Advisory: \S+ revision \d+$/m.test(rendered) || !/^Title: .+$/m.test(rendered)) {
    throw new Error(`templates/${templateFor('mastodon-signed.txt', form)} must keep the "Advisory: ID revision N" and "Title: ..." lines`);
  }
  // Blank lines would not survive Mastodon: the marks end where "Advisory:" begins.
  const signedText = tidyLines(withMarkLines(rendered, marks, escapeSignedValue), true);
  const cw = tidyLines(renderTemplate(await template(ctx, templateFor('mastodon-cw.txt', form)), view, escapeSignedValue), true).replace(/\n/g, ' ');
  const summary = tidyLines(renderTemplate(await template(ctx, templateFor('mastodon.txt', form)), view, escapeSummaryValue), false);
  const payload: MastodonNoticePayload = {
    // A drill's warning is the one word, so that nobody opens it expecting an advisory.
    spoiler_text: marks.drill ? 'DRILL' : cwMark(marks) + cw,
    summary: `${escapeSummaryValue(inlineMarks(marks))}\n${summary}`,
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

/**
 * What a reader sees before opening the content warning, in front of the template's: that the
 * post updates or withdraws an advisory (`UPDATED CRITICAL security advisory ACME-1`,
 * `WITHDRAWN advisory ACME-1`, `STATUS identified: incident mail-relay`).
 */
function cwMark(marks: NoticeMarks): string {
  const words = [...(marks.update ? ['UPDATED'] : []), ...(marks.retracts !== undefined ? ['WITHDRAWN'] : []), ...(marks.state !== undefined ? [`STATUS ${marks.state}:`] : [])];
  return words.map((w) => `${w} `).join('');
}
