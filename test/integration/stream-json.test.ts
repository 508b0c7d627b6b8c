import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { streamJson } from '../../src/http/stream-json';
import type { Recipient } from '../../src/recipients/recipient';

async function* directory(n: number): AsyncGenerator<Recipient> {
  for (let i = 0; i < n; i++) {
    yield { id: `rcpt_${String(i).padStart(20, '0')}`, type: 'webhook', url: `https://partner-${i}.example/${'p'.repeat(200)}`, secret: 'whsec_x', created_at: '2026-01-01T00:00:00.000Z' };
  }
}

/** GET /v1/recipients (and a revision's deliveries) write their list a piece at a time, waiting for a slow reader. */
describe('streaming a JSON list', () => {
  it('waits for a slow reader without piling up listeners, and sends the whole body', async () => {
    let listeners: { close: number; drain: number } | undefined;
    const app = express();
    app.get('/', (_req, res, next) => {
      const before = { close: res.listenerCount('close'), drain: res.listenerCount('drain') };
      streamJson(res, 200, {}, { before: { count: 5_000 }, key: 'recipients', items: directory(5_000), after: { more: false } })
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
      const all: Recipient[] = [];
      for await (const r of directory(5_000)) all.push(r);
      // Byte for byte what res.json would have sent, the list between the fields around it.
      expect(body).toBe(JSON.stringify({ count: 5_000, recipients: all, more: false }));
      expect(listeners).toEqual({ close: 0, drain: 0 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('frames the list as res.json would, with no field around it, or no item in it', async () => {
    const app = express();
    app.get('/:case', (req, res, next) => {
      const body = req.params.case === 'bare' ? { before: {}, key: 'list', items: [] } : { before: { a: 1 }, key: 'list', items: [{ x: 'é' }], after: {} };
      streamJson(res, 200, {}, body).catch(next);
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await (await fetch(`${base}/bare`)).text()).toBe(JSON.stringify({ list: [] }));
      expect(await (await fetch(`${base}/fields`)).text()).toBe(JSON.stringify({ a: 1, list: [{ x: 'é' }] }));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
