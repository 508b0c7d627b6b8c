import type { Channel, Notice } from '../../src/channels/channel';
import { PermanentDeliveryError, RateLimitedError } from '../../src/channels/delivery-errors';
import { describeFailure, failureOf } from '../../src/delivery/public-delivery-view';
import type { Recipient } from '../../src/recipients/recipient';

/** How the fake peer behind a channel should answer the next send. */
export type PeerMode = 'accept' | 'outage' | 'refuse' | 'rate-limit';

/**
 * What a channel's contract test needs: the channel wired to a real loopback peer, a recipient on
 * that peer, a notice of the channel's format, and a way to make the peer misbehave.
 */
export interface ChannelFixture {
  channel: Channel<Recipient>;
  recipient: Recipient;
  notice: Notice;
  /** Sets how the peer answers from now on. `rate-limit` must ask for a wait of `rateLimitSeconds`. */
  setMode(mode: PeerMode): void;
  /** How many messages the peer has accepted so far. */
  accepted(): number;
  /**
   * The wait the peer asks for when rate-limiting; null for a protocol with no way to say how
   * long (SMTP's 421/450/451), where "slow down" must simply be retryable.
   */
  rateLimitSeconds: number | null;
  close(): Promise<void>;
}

/**
 * The promises every channel makes to the queue, whatever it talks to: one attempt per send,
 * success reported, outages retryable, refusals permanent, rate limits with the peer's wait.
 * Each channel's contract test calls this with its own fixture.
 */
export function channelContract(name: string, makeFixture: () => Promise<ChannelFixture>): void {
  describe(`channel contract: ${name}`, () => {
    let f: ChannelFixture;
    const signal = () => new AbortController().signal;

    beforeEach(async () => {
      f = await makeFixture();
    });
    afterEach(() => f.close());

    it('delivers once and reports a receipt', async () => {
      const receipt = await f.channel.send(f.notice, f.recipient, signal());
      expect(typeof receipt.detail).toBe('string');
      expect(f.accepted()).toBe(1);
    });

    it('throws a retryable error when the peer is down, without retrying by itself', async () => {
      f.setMode('outage');
      const err = await f.channel.send(f.notice, f.recipient, signal()).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(PermanentDeliveryError);
      expect(f.accepted()).toBe(0);
      f.setMode('accept');
      await f.channel.send(f.notice, f.recipient, signal());
      expect(f.accepted()).toBe(1);
    });

    it('throws PermanentDeliveryError when the peer refuses for good', async () => {
      f.setMode('refuse');
      await expect(f.channel.send(f.notice, f.recipient, signal())).rejects.toBeInstanceOf(PermanentDeliveryError);
      expect(f.accepted()).toBe(0);
    });

    it("treats a rate limit as retryable, carrying the peer's wait where the protocol has one", async () => {
      f.setMode('rate-limit');
      const err = await f.channel.send(f.notice, f.recipient, signal()).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(PermanentDeliveryError);
      if (f.rateLimitSeconds === null) return;
      expect(err).toBeInstanceOf(RateLimitedError);
      const wait = (err as RateLimitedError).retryAfterMs;
      expect(wait).toBeGreaterThan((f.rateLimitSeconds - 1) * 1000);
      expect(wait).toBeLessThanOrEqual(f.rateLimitSeconds * 1000 + 1000);
    });

    it('names the host a recipient maps to (its origin, no path, no secret), or none for email, which picks relays itself', () => {
      const destination = f.channel.destination(f.recipient);
      if (f.recipient.type === 'email') expect(destination).toBeNull();
      else expect(destination).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    it('types every failure for the public delivery read, naming nothing of the recipient', async () => {
      // Everything a recipient record holds that could identify it, its URL's host and port included.
      const { id: _id, type: _type, created_at: _at, ...fields } = f.recipient as unknown as Record<string, string>;
      const secrets = Object.values(fields).flatMap((v) => {
        const url = URL.canParse(v) ? new URL(v) : null;
        return url ? [v, url.host, url.hostname, url.port].filter(Boolean) : [v, ...v.split('@')];
      });
      for (const mode of ['outage', 'refuse', 'rate-limit'] as const) {
        f.setMode(mode);
        const err = await f.channel.send(f.notice, f.recipient, signal()).then(() => null, (e: unknown) => e);
        const failure = failureOf(err);
        expect(failure.kind).not.toBe('unclassified');
        const shown = describeFailure(failure);
        for (const secret of secrets) expect(shown).not.toContain(secret);
      }
    });

    it('refuses a recipient of another channel without contacting the peer', async () => {
      const other: Recipient =
        f.recipient.type === 'email'
          ? { id: 'rcpt_x', type: 'webhook', url: 'http://127.0.0.1:9/', secret: 'whsec_x', created_at: '' }
          : { id: 'rcpt_x', type: 'email', address: 'x@example.org', unsubscribe_token: 't', created_at: '' };
      await expect(f.channel.send(f.notice, other, signal())).rejects.toBeInstanceOf(PermanentDeliveryError);
      expect(f.accepted()).toBe(0);
    });
  });
}
