import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SilentPeer {
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** HTTP requests begun on them (request lines seen), for an HTTP client. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * A dead host on 127.0.0.1 that a test can count: it accepts every connection and then either
 * says nothing at all, ever (`hang`: no HTTP answer, no SMTP greeting), or drops it at once
 * (`reset`). Both are what a crashed or wedged partner looks like from outside.
 */
export async function startSilentPeer(mode: 'hang' | 'reset' = 'hang'): Promise<SilentPeer> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    if (mode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      requests += (chunk.toString('latin1').match(/^(?:POST|GET|PUT) \/\S* HTTP\/1\.1\r$/gm) ?? []).length;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    requests: () => requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
