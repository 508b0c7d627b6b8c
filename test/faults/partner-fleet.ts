import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createCountWaiter } from '../support/count-waiter';

/** How a partner endpoint answers. */
export type PartnerKind =
  /** 204 every time. */
  | { kind: 'ok' }
  /** 410 Gone: tocsin must mark it failed and stop at once. */
  | { kind: 'gone' }
  /** 500 for the first `failures` requests of each advisory, then 204. */
  | { kind: 'flaky'; failures: number };

export interface Partner {
  path: string;
  url: string;
  secret: string;
  behaviour: PartnerKind;
}

/** Every request one partner received for one advisory, in order. */
export interface Received {
  webhookIds: string[];
  statuses: number[];
  /** When each request arrived (epoch ms). */
  times: number[];
}

/**
 * Many webhook partners spread over several loopback servers, one path each. Every request is
 * recorded by advisory and path with its `webhook-id` and the answer given, and its Standard
 * Webhooks HMAC is checked with the official package against that partner's own secret.
 */
export async function startPartnerFleet(behaviours: readonly PartnerKind[], servers: number) {
  const byPath = new Map<string, { secret: string; behaviour: PartnerKind; verifier: Webhook }>();
  const received = new Map<string, Map<string, Received>>();
  const arrivals = new Map<string, ReturnType<typeof createCountWaiter>>();
  const counts = new Map<string, number>();
  const forged: string[] = [];
  const samples = new Map<string, string>();
  const unknown: string[] = [];
  /** Partners whose answers wait (see `hold`), until `released` resolves. */
  let held: { matches: (path: string) => boolean; released: Promise<void> } | null = null;

  const arrivalsOf = (advisory: string) => {
    let w = arrivals.get(advisory);
    if (!w) {
      w = createCountWaiter(() => counts.get(advisory) ?? 0, `requests for ${advisory}`);
      arrivals.set(advisory, w);
    }
    return w;
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      const partner = byPath.get(path);
      if (!partner) {
        unknown.push(path);
        res.writeHead(404).end();
        return;
      }
      let advisory = '?';
      try {
        partner.verifier.verify(body, req.headers as Record<string, string>);
        const notice = JSON.parse(body) as { id: string; signature: string };
        advisory = notice.id;
        // One body per distinct broadcaster signature (a Redis that lost the notice re-signs it).
        if (!samples.has(`${advisory}\n${notice.signature}`)) samples.set(`${advisory}\n${notice.signature}`, body);
      } catch (err) {
        forged.push(`${path}: ${(err as Error).message}`);
      }
      let perAdvisory = received.get(advisory);
      if (!perAdvisory) received.set(advisory, (perAdvisory = new Map()));
      let mine = perAdvisory.get(path);
      if (!mine) perAdvisory.set(path, (mine = { webhookIds: [], statuses: [], times: [] }));
      const b = partner.behaviour;
      const status = b.kind === 'gone' ? 410 : b.kind === 'flaky' && mine.statuses.length < b.failures ? 500 : 204;
      mine.webhookIds.push(String(req.headers['webhook-id']));
      mine.statuses.push(status);
      mine.times.push(Date.now());
      counts.set(advisory, (counts.get(advisory) ?? 0) + 1);
      const answer = () => res.writeHead(status).end();
      // Recorded on arrival; a held partner answers only once released.
      if (held?.matches(path)) void held.released.then(answer);
      else answer();
      arrivalsOf(advisory).notify();
    });
  };

  const listening: { server: http.Server; port: number }[] = [];
  for (let i = 0; i < servers; i++) {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    listening.push({ server, port: (server.address() as AddressInfo).port });
  }

  const partners: Partner[] = behaviours.map((behaviour, i) => {
    const { port } = listening[i % servers] as { port: number };
    const path = `/partner/${i}`;
    const secret = `whsec_${Buffer.from(`fault-suite-secret-${i}-`.padEnd(32, 'x')).toString('base64')}`;
    byPath.set(path, { secret, behaviour, verifier: new Webhook(secret) });
    return { path, url: `http://127.0.0.1:${port}${path}`, secret, behaviour };
  });

  return {
    partners,
    /** Requests for `advisory`, by partner path. */
    received: (advisory: string): Map<string, Received> => received.get(advisory) ?? new Map(),
    /** How many requests (any answer, any advisory) arrived in [from, to). */
    countBetween: (from: number, to: number) => {
      let n = 0;
      for (const perAdvisory of received.values()) for (const r of perAdvisory.values()) n += r.times.filter((t) => t >= from && t < to).length;
      return n;
    },
    /** How many requests (any answer) arrived for `advisory`. */
    count: (advisory: string) => counts.get(advisory) ?? 0,
    /** Resolves once `n` requests for `advisory` have arrived. */
    waitFor: (advisory: string, n: number, timeoutMs: number) => arrivalsOf(advisory).waitFor(n, timeoutMs),
    /** One received body per advisory and broadcaster signature. */
    samples: () => [...samples.values()],
    /**
     * From now on, the partners `which` picks record each request as it arrives but hold its
     * answer, so the sender's request stays in flight, until the function returned is called
     * (which answers them all). One hold at a time.
     */
    hold(which: (partner: Partner) => boolean): () => void {
      if (held) throw new Error('the fleet already holds some partners');
      const paths = new Set(partners.filter(which).map((p) => p.path));
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      held = { matches: (path) => paths.has(path), released };
      return () => {
        held = null;
        release();
      };
    },
    /** Requests whose HMAC did not verify or whose body was not a notice. */
    forged,
    /** Requests to a path no partner enrolled. */
    unknown,
    async close() {
      await Promise.all(
        listening.map(({ server }) => {
          server.closeAllConnections();
          return new Promise<void>((resolve) => server.close(() => resolve()));
        }),
      );
    },
  };
}
export type PartnerFleet = Awaited<ReturnType<typeof startPartnerFleet>>;
