import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import { signDetached } from '../pgp/detached';
import { renderTemplate } from '../templates/render-template';
import { buildNoticeView } from './notice-view';
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
  /** Unencoded; the worker encodes it for the header. Outside the signature, as headers always are. */
  subject: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
const plainText = (s: string) => s.replace(/\r\n?/g, '\n');

export async function renderEmailNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const view = buildNoticeView(archived, ctx);
  const [textTemplate, htmlTemplate] = await Promise.all([
    readFile(path.join(ctx.templatesDir, 'email.txt'), 'utf8'),
    readFile(path.join(ctx.templatesDir, 'email.html'), 'utf8'),
  ]);
  const entity = buildSignedEntity(renderTemplate(textTemplate, view, plainText), renderTemplate(htmlTemplate, view, escapeHtml));
  const signature = await signDetached(Buffer.from(entity, 'utf8'), ctx.broadcaster.signingKeys);
  const { contentType, body } = buildSignedBody(entity, signature, await micalgOf(signature));
  const { record } = archived;
  const payload: EmailPayload = {
    contentType,
    body,
    subject: `[${record.severity.toUpperCase()}] ${record.id} revision ${record.revision}: ${record.title}`,
  };
  return { ref: { id: record.id, revision: record.revision }, messageId: messageIdFor(archived), payload: JSON.stringify(payload), acceptedAt: record.accepted_at };
}
