import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { streamRecipients } from '../../src/http/stream-recipients';
import type { Recipient } from '../../src/recipients/recipient';

async function* directory(n: number): AsyncGenerator<Recipient> {
  for (let i = 0; i < n; i++) {
    yield { id: `rcpt_${String(i).padStart(20, '0')}`, type: 'webhook', url: `https://partner-${i}.example/${'p'.repeat(200)}`, secret: 'whsec_x', created_at: '2026-01-01T00:00:00.000Z' };
  }
}

/** GET /v1/recipients writes the directory a piece at a time, waiting for a slow reader. */
describe('streaming the recipient list', () => {
  it('waits for a slow reader without piling up listeners, and sends the whole body', async () => {
    let listeners: { close: number; drain: number } | undefined;
    const app = express();
    app.get('/', (_req, res, next) => {
      const before = { close: res.listenerCount('close'), drain: res.listenerCount('drain') };
      streamRecipients(directory(5_000), res)
        .then(() => (listeners = { close: res.listenerCount('close') - before.close, drain: res.listenerCount('drain') - before.drain }))
        .catch(next);
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, (res) => {
          const chunks: Buffer[] = [];
          // Read a little, then stop a while: the server's writes fill the socket and must wait.
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        });
      });
      expect((JSON.parse(body) as { recipients: unknown[] }).recipients).toHaveLength(5_000);
      expect(listeners).toEqual({ close: 0, drain: 0 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
