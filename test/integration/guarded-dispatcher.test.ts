import { request } from 'undici';
import { createGuardedDispatcher, ForbiddenAddressError } from '../../src/net/guarded-dispatcher';
import { systemResolveHost } from '../../src/net/resolve-host';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** Walks an error's causes: undici may wrap what the connector reported. */
function findForbidden(err: unknown): ForbiddenAddressError | undefined {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof ForbiddenAddressError) return e;
  return undefined;
}

/**
 * The one address guard every outbound channel (webhook, Slack, Mastodon) connects through: IP
 * literals are checked at connect time, names at lookup, so no caller can forget either.
 */
describe('guarded dispatcher', () => {
  let target: Receiver;
  beforeAll(async () => {
    target = await startReceiver();
  });
  afterAll(() => target.close());

  it.each(['127.0.0.1', '[::ffff:127.0.0.1]', 'localhost'])('refuses to connect to %s and sends nothing', async (host) => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: false, connectTimeoutMs: 2_000, resolveHost: systemResolveHost });
    try {
      const port = new URL(target.url()).port;
      const err = await request(`http://${host}:${port}/x`, { method: 'POST', body: '{}', dispatcher }).then(() => null, (e: unknown) => e);
      expect(findForbidden(err)).toBeInstanceOf(ForbiddenAddressError);
      expect(target.requests).toHaveLength(0);
    } finally {
      await dispatcher.close();
    }
  });

  it('connects when private targets are allowed', async () => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: true, connectTimeoutMs: 2_000, resolveHost: systemResolveHost });
    try {
      const r = await request(target.url('/ok'), { method: 'POST', body: '{}', dispatcher });
      await r.body.dump();
      expect(r.statusCode).toBe(204);
      expect(target.requests.map((q) => q.path)).toEqual(['/ok']);
    } finally {
      await dispatcher.close();
    }
  });
});
