/**
 * Where a subscriber's links lead, relative to TOCSIN_PUBLIC_URL. Apart, importing nothing, so
 * that the email channel (every notice's manage link) and the API's pages agree on them.
 */

/** The confirmation link of a pending subscription. */
export const confirmPath = (token: string) => `/v1/subscriptions/confirm/${token}`;

/** The page where a subscriber changes their filter; the token is their unsubscribe token. */
export const managePath = (token: string) => `/subscribe?manage=${encodeURIComponent(token)}`;
