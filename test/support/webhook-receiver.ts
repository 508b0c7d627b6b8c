import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCountWaiter } from './count-waiter';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
}

/** Decides the answer to the n-th request (0-based) at a path. Default: 204. */
export type Script = (n: number, req: ReceivedRequest) => ScriptedAnswer;

/**
 * A real HTTP partner on loopback that records every request and can be told to fail, rate-limit
 * or redirect. Waiting is event-driven: `waitFor` resolves when the count is reached, or rejects
 * at its deadline.
 */
export async function startReceiver(script: Script = () => ({ status: 204 })) {
  const requests: ReceivedRequest[] = [];
  const arrivals = createCountWaiter(() => requests.length, 'receiver requests');
  const perPath = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(received);
      const n = perPath.get(received.path) ?? 0;
      perPath.set(received.path, n + 1);
      const answer = script(n, received);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end();
      arrivals.notify();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p = '/hook') => `http://127.0.0.1:${port}${p}`,
    requests,
    waitFor: (count: number, timeoutMs = 30_000) => arrivals.waitFor(count, timeoutMs),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
