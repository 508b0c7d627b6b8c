import type { Notice } from '../../src/channels/channel';
import { TransientDeliveryError } from '../../src/channels/delivery-errors';
import { createEmailChannel, type EmailTarget } from '../../src/channels/email';
import { contractNotice } from '../contract/contract-notice';
import { startSilentPeer, type SilentPeer } from '../support/silent-peer';
import { startSmtpSink, type SinkScript, type SmtpSink } from '../support/smtp-sink';

const FROM = 'ACME Security <security@acme.example>';
const COOLDOWN_MS = 60_000;

/**
 * Relays with a memory, against real SMTP servers on loopback: a relay that just failed is tried
 * last for a cool-down, so a dead first relay costs one attempt, not one per message.
 */
describe('email relay health memory', () => {
  let notice: Notice;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    notice = await contractNotice('email');
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function sink(script?: SinkScript): Promise<SmtpSink> {
    const s = await startSmtpSink(script);
    closers.push(() => s.close());
    return s;
  }
  async function silent(): Promise<SilentPeer> {
    const p = await startSilentPeer('hang');
    closers.push(() => p.close());
    return p;
  }
  function channel(urls: string[], clock: { t: number }, timeoutMs = 5_000) {
    const c = createEmailChannel({ smtpUrls: urls, from: FROM, publicUrl: 'http://127.0.0.1:1', concurrency: 4, timeoutMs, relayCooldownMs: COOLDOWN_MS, relayMaxCooldownMs: 4 * COOLDOWN_MS, now: () => clock.t });
    closers.push(() => c.close());
    return c;
  }
  const to = (i: number): EmailTarget => ({ id: `rcpt_${i}`, type: 'email', address: `ops${i}@example.org`, unsubscribe_token: `t${i}` });
  const send = (c: ReturnType<typeof channel>, i: number) => c.send(notice, to(i), new AbortController().signal);

  it('tries a relay that refused at the greeting last until its cool-down ends, then probes it, and uses it again once it is back', async () => {
    let refusing = true;
    const first = await sink({ onConnect: () => (refusing ? { code: 421, message: '4.3.2 Service not available' } : null) });
    const second = await sink();
    const clock = { t: 1_000_000 };
    const c = channel([first.url, second.url], clock);

    const details: string[] = [];
    for (let i = 0; i < 30; i++) details.push((await send(c, i)).detail);
    expect(second.mails).toHaveLength(30);
    expect(details.every((d) => d.startsWith('relay 2'))).toBe(true);
    // One message met the refusal; the 29 after it went straight to the second relay.
    expect(first.connections()).toBe(1);

    // After the cool-down one message tries the first relay again; it still refuses, and rests twice as long.
    clock.t += COOLDOWN_MS;
    await send(c, 30);
    expect(first.connections()).toBe(2);
    clock.t += COOLDOWN_MS;
    await send(c, 31);
    expect(first.connections()).toBe(2);
    clock.t += COOLDOWN_MS;
    refusing = false;
    expect((await send(c, 32)).detail).toMatch(/^relay 1/);
    expect((await send(c, 33)).detail).toMatch(/^relay 1/);
    expect(first.mails).toHaveLength(2);
    expect(second.mails).toHaveLength(32);
  });

  it('waits on a relay that accepts but never greets only once, within the timeout', async () => {
    const hung = await silent();
    const good = await sink();
    const clock = { t: 1_000_000 };
    const timeoutMs = 500;
    const c = channel([`smtp://127.0.0.1:${hung.port}?ignoreTLS=true`, good.url], clock, timeoutMs);

    let started = Date.now();
    expect((await send(c, 0)).detail).toMatch(/^relay 2/);
    const firstMs = Date.now() - started;
    expect(firstMs).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(firstMs).toBeLessThan(timeoutMs + 2_000);

    started = Date.now();
    for (let i = 1; i <= 20; i++) expect((await send(c, i)).detail).toMatch(/^relay 2/);
    // Twenty messages in well under one timeout each: none waited on the silent relay.
    expect(Date.now() - started).toBeLessThan(20 * timeoutMs);
    expect(hung.connections()).toBe(1);
    expect(good.mails).toHaveLength(21);
  });

  it('still tries a resting relay when no other relay takes the message', async () => {
    const only = await sink({ onConnect: () => ({ code: 421, message: '4.3.2 Service not available' }) });
    const clock = { t: 1_000_000 };
    const c = channel([only.url], clock);
    for (let i = 0; i < 3; i++) await expect(send(c, i)).rejects.toBeInstanceOf(TransientDeliveryError);
    expect(only.connections()).toBe(3);
  });

  it('gives up on a silent relay with a transient failure within the timeout', async () => {
    const hung = await silent();
    const clock = { t: 1_000_000 };
    const c = channel([`smtp://127.0.0.1:${hung.port}?ignoreTLS=true`], clock, 400);
    const started = Date.now();
    const err = await send(c, 0).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as Error).message).toMatch(/no relay took the message: relay 1/);
    expect(Date.now() - started).toBeLessThan(400 + 2_000);
  });
});
