import { PermanentDeliveryError } from '../../src/channels/delivery-errors';
import { createWebhookChannel } from '../../src/channels/webhook';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * The address guard at connection time: even a recipient enrolled earlier (or a name that now
 * resolves elsewhere) cannot make tocsin connect to a private address.
 */
describe('webhook channel address guard', () => {
  let target: Receiver;
  const channel = createWebhookChannel({ timeoutMs: 2_000, allowPrivateTargets: false, userAgent: 'test', resolveHost: systemResolveHost });
  const notice = { ref: { id: 'X-1', revision: 1 }, messageId: 'msg_test', payload: '{}', acceptedAt: new Date().toISOString() };
  const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

  beforeAll(async () => {
    target = await startReceiver();
  });
  afterAll(async () => {
    await channel.close();
    await target.close();
  });

  it.each(['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]'])('refuses %s permanently and sends nothing', async (host) => {
    const port = new URL(target.url()).port;
    const send = channel.send(notice, { id: 'r', type: 'webhook', url: `http://${host}:${port}/hook`, secret }, new AbortController().signal);
    await expect(send).rejects.toBeInstanceOf(PermanentDeliveryError);
    expect(target.requests).toHaveLength(0);
  });
});
