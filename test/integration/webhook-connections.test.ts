import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generateWebhookSecret } from '../../src/channels/standard-webhooks';
import { createWebhookChannel } from '../../src/channels/webhook';
import { CONNECTIONS_PER_ORIGIN } from '../../src/net/guarded-dispatcher';
import { systemResolveHost } from '../../src/net/resolve-host';

const notice = { ref: { id: 'LANES-1', revision: 1 }, messageId: 'msg_lanes', payload: '{"x":1}', acceptedAt: new Date().toISOString() };

/**
 * A partner host that holds every answer until told to let go, and counts the connections it
 * was opened and the requests in flight at once.
 */
async function startHoldingHost() {
  const sockets = new Set<Socket>();
  const held: http.ServerResponse[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const arrivals: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      res.on('finish', () => (inFlight -= 1));
      held.push(res);
      for (const wake of arrivals.splice(0)) wake();
    });
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    connections: () => sockets.size,
    mostInFlight: () => mostInFlight,
    /** Resolves once `n` requests are held. */
    async held(n: number) {
      while (held.length < n) await new Promise<void>((resolve) => arrivals.push(resolve));
    },
    /** Answers every held request; returns how many. */
    answerAll(): number {
      const now = held.splice(0);
      for (const res of now) res.writeHead(204).end();
      return now.length;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const target = (url: string, i: number) => ({ id: `rcp_${i}`, type: 'webhook' as const, url, secret: generateWebhookSecret() });

/**
 * Many partners can sit behind one host: they share its connections, at most four at once,
 * through single-connection lanes rather than an undici Pool per origin (whose preallocated
 * queue made a 10,000-partner fan-out peak near 580 MiB).
 */
describe('webhook connections per origin', () => {
  it('sends to many endpoints of one host over at most four connections, four at once', async () => {
    const host = await startHoldingHost();
    const channel = createWebhookChannel({ timeoutMs: 10_000, allowPrivateTargets: true, userAgent: 'tocsin-test', resolveHost: systemResolveHost });
    try {
      const signal = new AbortController().signal;
      const sends = Array.from({ length: 10 }, (_, i) => channel.send(notice, target(host.url(`/p${i}`), i), signal));
      // Four answers held at once means four connections were open together, before any answer.
      await host.held(CONNECTIONS_PER_ORIGIN);
      expect(host.connections()).toBe(CONNECTIONS_PER_ORIGIN);
      for (let answered = 0; answered < sends.length; ) {
        await host.held(1);
        answered += host.answerAll();
      }
      expect((await Promise.all(sends)).map((r) => r.detail)).toEqual(new Array(10).fill('HTTP 204'));
      expect(host.mostInFlight()).toBe(CONNECTIONS_PER_ORIGIN);
      expect(host.connections()).toBe(CONNECTIONS_PER_ORIGIN);
    } finally {
      // The host first: a request it still holds would keep the channel's close waiting.
      await host.close();
      await channel.close();
    }
  });

  it('sends one after another over the one kept-alive connection', async () => {
    const host = await startHoldingHost();
    const channel = createWebhookChannel({ timeoutMs: 10_000, allowPrivateTargets: true, userAgent: 'tocsin-test', resolveHost: systemResolveHost });
    try {
      const signal = new AbortController().signal;
      for (let i = 0; i < 3; i++) {
        const sent = channel.send(notice, target(host.url(`/q${i}`), i), signal);
        await host.held(1);
        host.answerAll();
        await expect(sent).resolves.toEqual({ detail: 'HTTP 204' });
      }
      expect(host.connections()).toBe(1);
    } finally {
      // The host first: a request it still holds would keep the channel's close waiting.
      await host.close();
      await channel.close();
    }
  });
});
