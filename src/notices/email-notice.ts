import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import { signDetached } from '../pgp/detached';
import { renderTemplate } from '../templates/render-template';
import { inlineMarks, withHtmlMarks, withMarkLines } from './notice-marks';
import { readNoticeTemplate } from './notice-templates';
import { buildNoticeContent, templateFor, type NoticeContent } from './notice-view';
import { buildSignedBody, buildSignedEntity, micalgOf } from './pgp-mime';
import type { RenderContext } from './render-context';
import { messageIdFor } from './webhook-notice';

/**
 * The email notice: a complete RFC 3156 multipart/signed body, signed once per revision. A worker
 * only puts each recipient's own header lines in front of `body`.
 */
export interface EmailPayload {
  /** Value of the top-level Content-Type header: multipart/signed with micalg, protocol, boundary. */
  contentType: string;
  /** Everything after the top-level headers, CRLF line endings, 7-bit. */
  body: string;
  /**
   * Unencoded; the worker encodes it for the header. Outside the signature, as headers always are,
   * so every mark in it is repeated at the top of the signed text. See {@link emailSubject}.
   */
  subject: string;
  /** Set on a drill: the worker puts the recipient's acknowledgement link beside the signed body. */
  drill?: true;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
const plainText = (s: string) => s.replace(/\r\n?/g, '\n');

export async function renderEmailNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const content = buildNoticeContent(archived, ctx);
  const [textTemplate, htmlTemplate] = await Promise.all([
    readNoticeTemplate(ctx.templatesDir, templateFor('email.txt', content.form)),
    readNoticeTemplate(ctx.templatesDir, templateFor('email.html', content.form)),
  ]);
  // TLP 2.0: the label in the subject line and in the body, before the information itself.
  const text = withMarkLines(renderTemplate(textTemplate, content.view, plainText), content.marks, plainText);
  const html = withHtmlMarks(renderTemplate(htmlTemplate, content.view, escapeHtml), content.marks, escapeHtml);
  const entity = buildSignedEntity(text, html);
  const signature = await signDetached(Buffer.from(entity, 'utf8'), ctx.broadcaster.signingKeys);
  const { contentType, body } = buildSignedBody(entity, signature, await micalgOf(signature));
  const { record } = archived;
  const payload: EmailPayload = { contentType, body, subject: emailSubject(content), ...(record.kind === 'drill' ? { drill: true as const } : {}) };
  return { ref: { id: record.id, revision: record.revision }, messageId: messageIdFor(archived), payload: JSON.stringify(payload), acceptedAt: record.accepted_at };
}

/**
 * `TLP:AMBER [EMBARGOED until 2026-12-09 14:00 UTC] [UPDATED] [CRITICAL] ACME-2026-0001 revision 2: <title>`,
 * the marks present only when they apply (the label always); a retraction:
 * `TLP:CLEAR [WITHDRAWN] ACME-2026-0001: <title> (retraction RET-1 revision 1)`. The severity a
 * retraction's record holds is the withdrawn advisory's, and is not shown as the retraction's.
 * A status update: `TLP:CLEAR [STATUS: identified] mail-relay revision 2: <title>`.
 * A drill: `[DRILL] No action needed TLP:CLEAR drill_...: <title>`.
 */
export function emailSubject(content: NoticeContent): string {
  const { doc, marks } = content;
  const marked = inlineMarks(marks);
  if (content.form === 'drill') return `${marked} ${doc.id}: ${doc.title}`;
  if (content.form === 'retraction') return `${marked} ${content.doc.retracts}: ${doc.title} (retraction ${doc.id} revision ${doc.revision})`;
  if (content.form === 'status') return `${marked} ${doc.id} revision ${doc.revision}: ${doc.title}`;
  return `${marked} [${content.doc.severity.toUpperCase()}] ${doc.id} revision ${doc.revision}: ${doc.title}`;
}
