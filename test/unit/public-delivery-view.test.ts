import { DestinationUnavailableError, PermanentDeliveryError, RateLimitedError, TransientDeliveryError } from '../../src/channels/delivery-errors';
import { CircuitOpenError } from '../../src/delivery/circuit-breaker';
import type { DeliveryState } from '../../src/delivery/delivery-status';
import { describeFailure, failureOf, publicDeliveryView } from '../../src/delivery/public-delivery-view';
import type { DeliveryFailure } from '../../src/channels/delivery-failure';
import { ForbiddenAddressError } from '../../src/net/guarded-dispatcher';

/** What a partner's failure text can carry, and none of which the public view may show. */
const HOSTILE = [
  'http://[2001:db8::dead:beef]:8443/hooks/acme?token=s3cr3t',
  '[fe80::1%eth0]:443',
  '2001:db8::1',
  '::ffff:10.1.2.3',
  'https://ops:hunter2@partner.example:9443/alerts',
  'smtp://relay-user:relay-pass@mx.partner.example:2525',
  'xn--bcher-kva.example',
  'http://xn--80ak6aa92e.com/phish',
  'alerts+tocsin-critical@partner.example',
  '"quoted local"+tag@[192.0.2.7]',
  '192.0.2.7:25',
  '10.0.0.5',
  'mx1.partner.example ESMTP Postfix (Debian/GNU)',
  'C0SECRET42',
  'xoxb-1234-5678-abcdefghijkl',
];

/** Every piece of `s` that would identify a partner, if it were present. */
function leaks(text: string): string[] {
  return HOSTILE.filter((h) => text.includes(h)).concat(
    [/\d+\.\d+\.\d+\.\d+/, /[0-9a-f]*:[0-9a-f]*:[0-9a-f]*/i, /@/, /\/\//, /xn--/, /xox[bp]-/, /\.example/, /:\d{2,5}\b/].filter((re) => re.test(text)).map(String),
  );
}

const state = (over: Partial<DeliveryState>): DeliveryState => ({ state: 'failed', attempts: 3, updated_at: '2026-11-24T20:00:00.000Z', ...over });

describe('public delivery view', () => {
  it('never shows the stored free text, whatever it holds: only the failure summary', () => {
    for (const text of HOSTILE) {
      const shown = publicDeliveryView(state({ last_error: `ECONNREFUSED: connect ECONNREFUSED ${text}`, failure: { kind: 'connection_refused' } }));
      expect(shown.last_error).toBe('connection refused');
      // The time stamp aside (it has colons of its own), nothing of the stored text is left.
      expect(leaks(JSON.stringify({ ...shown, updated_at: undefined }))).toEqual([]);
    }
  });

  it('drops `detail`, keeps the fields tocsin chooses', () => {
    const full = state({
      state: 'retrying',
      detail: 'relay 2 (smtp://127.0.0.1:2525): 250 2.0.0 Ok: queued as 4XyZ for alerts+tocsin@partner.example',
      last_error: 'relay 1 (smtp://mx.partner.example:25): connect ECONNREFUSED 192.0.2.7:25',
      failure: { kind: 'no_mail_relay' },
      next_attempt_at: '2026-11-24T20:01:00.000Z',
      replays: 1,
      replayed_at: '2026-11-24T19:59:00.000Z',
    });
    expect(publicDeliveryView(full)).toEqual({
      state: 'retrying',
      attempts: 3,
      updated_at: '2026-11-24T20:00:00.000Z',
      last_error: 'no mail relay took the message',
      next_attempt_at: '2026-11-24T20:01:00.000Z',
      replays: 1,
      replayed_at: '2026-11-24T19:59:00.000Z',
    });
    expect(publicDeliveryView(state({ state: 'delivered', attempts: 1, detail: 'posted to C0SECRET42 at ts 1.2' }))).toEqual({
      state: 'delivered',
      attempts: 1,
      updated_at: '2026-11-24T20:00:00.000Z',
    });
  });

  it('shows a state written before failures were recorded (no `failure`) as not public', () => {
    for (const text of HOSTILE) {
      const shown = publicDeliveryView(state({ last_error: text }));
      expect(shown.last_error).toBe('failed (the reason is not public)');
    }
  });

  it('checks a stored failure again: hostile codes, statuses and unknown kinds show nothing of themselves', () => {
    const stored: unknown[] = [
      ...HOSTILE.map((code) => ({ kind: 'platform_error', code })),
      ...HOSTILE.map((status) => ({ kind: 'http_status', status })),
      ...HOSTILE.map((code) => ({ kind: 'mail_rejected', code })),
      ...HOSTILE.map((kind) => ({ kind })),
      { kind: 'http_status', status: 8443 },
      { kind: 'http_status', status: 503.5 },
      { kind: 'rate_limited', status: -1 },
      { kind: 'redirect', status: '302 https://ops:pw@partner.example/' },
      { kind: 'platform_error', code: 'Channel_Not_Found' },
      { kind: 'platform_error', code: 'x'.repeat(65) },
      { kind: 'platform_error' },
      null,
      'connection refused to 10.0.0.5',
      42,
      [],
    ];
    for (const failure of stored) {
      const text = describeFailure(failure);
      expect(leaks(text)).toEqual([]);
      expect(text).not.toMatch(/8443|503\.5|-1|Channel_Not_Found|xxxx/);
    }
    expect(describeFailure({ kind: 'http_status', status: 8443 })).toBe('HTTP error');
    expect(describeFailure({ kind: 'platform_error', code: 'channel_not_found' })).toBe('platform error: channel_not_found');
    expect(describeFailure({ kind: 'mail_rejected', code: 550 })).toBe('rejected by the mail server (550)');
  });

  it('describes every kind in a few words of its own', () => {
    const all: DeliveryFailure[] = [
      { kind: 'http_status', status: 503 },
      { kind: 'redirect', status: 302 },
      { kind: 'rate_limited', status: 429 },
      { kind: 'rate_limited' },
      { kind: 'timed_out' },
      { kind: 'connection_refused' },
      { kind: 'connection_reset' },
      { kind: 'dns_failed' },
      { kind: 'tls_failed' },
      { kind: 'unreachable' },
      { kind: 'address_forbidden' },
      { kind: 'circuit_open' },
      { kind: 'mail_rejected', code: 550 },
      { kind: 'mail_rejected' },
      { kind: 'no_mail_relay' },
      { kind: 'platform_error', code: 'not_in_channel' },
      { kind: 'too_long' },
      { kind: 'recipient_removed' },
      { kind: 'cancelled' },
      { kind: 'unclassified' },
    ];
    const texts = all.map(describeFailure);
    expect(new Set(texts).size).toBe(all.length);
    for (const t of texts) expect(leaks(t)).toEqual([]);
  });
});

describe('failureOf', () => {
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('takes the failure a channel attached, never reading a message', () => {
    const err = new DestinationUnavailableError('HTTP 503 from https://ops:pw@partner.example:9443/', { failure: { kind: 'http_status', status: 503 } });
    expect(failureOf(err)).toEqual({ kind: 'http_status', status: 503 });
  });

  it('reads socket codes off the causes, however deep, and the classes it knows', () => {
    const refused = new DestinationUnavailableError('ECONNREFUSED: connect ECONNREFUSED [2001:db8::1]:8443', {
      cause: new TypeError('fetch failed', { cause: errno('ECONNREFUSED', 'connect ECONNREFUSED [2001:db8::1]:8443') }),
    });
    expect(failureOf(refused)).toEqual({ kind: 'connection_refused' });
    expect(failureOf(new TransientDeliveryError('x', { cause: errno('ENOTFOUND', 'getaddrinfo ENOTFOUND xn--bcher-kva.example') }))).toEqual({ kind: 'dns_failed' });
    expect(failureOf(errno('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error (attempted address: 10.0.0.5:443)'))).toEqual({ kind: 'timed_out' });
    expect(failureOf(errno('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: partner.example"))).toEqual({ kind: 'tls_failed' });
    expect(failureOf(errno('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'))).toEqual({ kind: 'tls_failed' });
    expect(failureOf(new TransientDeliveryError('x', { cause: new ForbiddenAddressError('internal.partner.example', '10.0.0.5') }))).toEqual({ kind: 'address_forbidden' });
    expect(failureOf(new CircuitOpenError('not attempted: circuit open (last failure: connect ECONNREFUSED 192.0.2.7:25)', 1000))).toEqual({ kind: 'circuit_open' });
    expect(failureOf(new RateLimitedError('HTTP 429 from partner.example', 5000))).toEqual({ kind: 'rate_limited' });
    // The Slack client keeps the socket error as `original`, not `cause`.
    expect(failureOf(Object.assign(new Error('A request error occurred: connect ECONNRESET 10.0.0.5:443'), { original: errno('ECONNRESET', 'read ECONNRESET') }))).toEqual({ kind: 'connection_reset' });
  });

  it('calls anything else unclassified, codes it does not know included', () => {
    expect(failureOf(new Error('TypeError: cannot read property of undefined at https://partner.example'))).toEqual({ kind: 'unclassified' });
    expect(failureOf(new PermanentDeliveryError('alerts+tag@partner.example', { cause: errno('https://evil.example', 'x') }))).toEqual({ kind: 'unclassified' });
    expect(failureOf('a string thrown')).toEqual({ kind: 'unclassified' });
    expect(failureOf(undefined)).toEqual({ kind: 'unclassified' });
    // A cycle of causes ends.
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(failureOf(a)).toEqual({ kind: 'unclassified' });
  });
});
