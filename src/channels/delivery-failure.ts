/**
 * Why a delivery attempt failed, in terms that cannot name a host, port, address, URL, account or
 * token: only a kind from a closed list, an HTTP or SMTP status number, or a platform's error code
 * (a lowercase word). Stored with each delivery state, it is what the public delivery read shows;
 * the free text in `last_error` (which may quote a partner's URL, a relay's banner, an email
 * address) is for the admin API only.
 *
 * Channels raise it, delivery states store it, the public read shows it: it lives alone and imports
 * nothing, so that none of those has to import another to name it.
 */
export type DeliveryFailure =
  | { kind: 'http_status'; status: number }
  | { kind: 'redirect'; status: number }
  | { kind: 'rate_limited'; status?: number }
  | { kind: 'timed_out' }
  | { kind: 'connection_refused' }
  | { kind: 'connection_reset' }
  | { kind: 'dns_failed' }
  | { kind: 'tls_failed' }
  | { kind: 'unreachable' }
  | { kind: 'address_forbidden' }
  | { kind: 'circuit_open' }
  | { kind: 'mail_rejected'; code?: number }
  | { kind: 'no_mail_relay' }
  | { kind: 'platform_error'; code: string }
  | { kind: 'too_long' }
  | { kind: 'recipient_removed' }
  | { kind: 'cancelled' }
  | { kind: 'unclassified' };
