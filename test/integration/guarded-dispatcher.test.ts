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

  // Through the resolver seam, as a hostile DNS answer would give them: refused at lookup, before any connection.
  it.each(['::ffff:0:7f00:1', '64:ff9b:1::a00:1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '::10.0.0.1'])('refuses a name that resolves to %s', async (address) => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: false, connectTimeoutMs: 2_000, resolveHost: async () => [{ address, family: 6 }] });
    try {
      const err = await request('http://partner.test:8080/x', { method: 'POST', body: '{}', dispatcher }).then(() => null, (e: unknown) => e);
      expect(findForbidden(err)).toMatchObject({ host: 'partner.test', address });
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
