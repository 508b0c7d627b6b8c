import { createServer, type Server, type Socket } from 'node:net';
import { CLIENT_COMMAND_TIMEOUT_MS, connectRedis, createRedis } from '../../src/runtime/redis-connection';

/**
 * A "Redis" on loopback that completes the client's handshake (INFO for the ready check, PING)
 * and then reads every command without ever answering: a wedged server, or one behind a proxy
 * that lost its upstream.
 */
async function wedgedRedis(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let handshake = true;
    socket.on('data', (chunk) => {
      // Each command's name, in order (RESP arrays of bulk strings); answered until the PING.
      for (const word of chunk.toString('latin1').split('\r\n').map((w) => w.toLowerCase())) {
        if (!handshake) return;
        if (word === 'hello') socket.write('%1\r\n+server\r\n+redis\r\n');
        else if (word === 'setinfo') socket.write('+OK\r\n');
        else if (word === 'info') socket.write('$9\r\nloading:0\r\n');
        else if (word === 'ping') {
          socket.write('+PONG\r\n');
          handshake = false;
        }
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("the API's Redis connection", () => {
  it('gives up on a command Redis never answers, after its deadline, instead of waiting for ever', async () => {
    const wedged = await wedgedRedis();
    const redis = createRedis(wedged.url, 'client');
    redis.on('error', () => undefined);
    try {
      await connectRedis(redis, wedged.url);
      const started = Date.now();
      const outcome = await Promise.race([
        redis.get('tocsin-test:anything').then(
          () => 'answered',
          (err: Error) => err.message,
        ),
        // Bounded, so that the test fails rather than hangs when the deadline is missing.
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), CLIENT_COMMAND_TIMEOUT_MS * 3).unref()),
      ]);
      expect(outcome).toMatch(/timed out/i);
      expect(Date.now() - started).toBeGreaterThanOrEqual(CLIENT_COMMAND_TIMEOUT_MS - 50);
    } finally {
      redis.disconnect();
      await wedged.close();
    }
  });
});
