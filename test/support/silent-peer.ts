import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SilentPeer {
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Connections still open: a trickled one stays open until the client gives up on it. */
  open(): number;
  /** HTTP requests begun on them (request lines seen), for an HTTP client. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * A peer that answers, but so slowly that no idle timeout ever fires: it sends `greeting` when a
 * connection opens (an SMTP banner), `answer` when the client's first bytes arrive (an HTTP status
 * line and headers), and then `drip`, over and over, `bytes` bytes (default one) every `everyMs`,
 * for as long as the client stays.
 */
export interface Trickle {
  greeting?: string;
  answer?: string;
  drip: string;
  everyMs: number;
  bytes?: number;
}

/**
 * A dead or wedged host on 127.0.0.1 that a test can count: it accepts every connection and then
 * either says nothing at all, ever (`hang`: no HTTP answer, no SMTP greeting), drops it at once
 * (`reset`), or trickles (see {@link Trickle}). All are what a crashed, wedged or hostile partner
 * looks like from outside.
 */
export async function startSilentPeer(mode: 'hang' | 'reset' | Trickle = 'hang'): Promise<SilentPeer> {
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
    let dripping: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      sockets.delete(socket);
      clearInterval(dripping);
    });
    socket.on('error', () => undefined);
    if (mode !== 'hang' && mode.greeting) socket.write(mode.greeting);
    socket.on('data', (chunk: Buffer) => {
      requests += (chunk.toString('latin1').match(/^(?:POST|GET|PUT) \/\S* HTTP\/1\.1\r$/gm) ?? []).length;
      if (mode === 'hang' || dripping) return;
      if (mode.answer) socket.write(mode.answer);
      const step = mode.bytes ?? 1;
      let at = 0;
      dripping = setInterval(() => {
        let piece = '';
        for (let i = 0; i < step; i++, at++) piece += mode.drip[at % mode.drip.length];
        socket.write(piece);
      }, mode.everyMs);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    open: () => sockets.size,
    requests: () => requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
