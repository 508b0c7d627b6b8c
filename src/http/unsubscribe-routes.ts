import express, { Router } from 'express';
import type { RecipientStore } from '../recipients/recipient-store';
import { managePath } from '../subscriptions/subscription-paths';
import { handle, type Reply } from './http-error';

export interface UnsubscribeRouteDeps {
  recipients: RecipientStore;
}

const notFound: Reply = { status: 404, type: 'text/plain', body: 'This unsubscribe link is unknown or was already used.\n' };

/**
 * One-click unsubscribe (RFC 8058) for email recipients, authorised by the token in the link. GET
 * only shows a button: link scanners and previews fetch URLs, and must not unsubscribe anyone.
 */
export function unsubscribeRoutes(deps: UnsubscribeRouteDeps): Router {
  const router = Router();

  router.get(
    '/:token',
    handle(async (req) => {
      const recipient = await deps.recipients.findByUnsubscribeToken(String(req.params.token));
      if (!recipient) return notFound;
      return {
        status: 200,
        type: 'text/html',
        headers: { 'Content-Security-Policy': "default-src 'none'; form-action 'self'" },
        body:
          '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body>' +
          '<p>Stop sending security advisories to this address?</p>' +
          '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">' +
          '<button type="submit">Unsubscribe</button></form>' +
          // Relative: the link stays on whichever host served this page.
          `<p>Or <a href="${managePath(recipient.unsubscribe_token)}">change which advisories you receive</a> instead.</p></body></html>\n`,
      };
    }),
  );

  // RFC 8058 bodies are form-encoded (or multipart): the token alone decides, so the body is read
  // only to drain it, never trusted.
  router.post(
    '/:token',
    express.urlencoded({ extended: false, limit: '1kb' }),
    handle(async (req) => {
      const recipient = await deps.recipients.findByUnsubscribeToken(String(req.params.token));
      if (!recipient || !(await deps.recipients.remove(recipient.id))) return notFound;
      return { status: 200, type: 'text/plain', body: `Unsubscribed: ${recipient.address} will receive no more advisories from this service.\n` };
    }),
  );

  return router;
}
