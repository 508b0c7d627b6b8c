import { Agent, request } from 'undici';
import { generateWebhookSecret, signStandardWebhook } from '../../src/channels/standard-webhooks';
import { mapWithConcurrency } from './bounded';
import { wallClockMs } from './wall-clock';

export interface PlainClientOptions {
  urls: readonly string[];
  /** The exact bytes tocsin sent, so both sides move the same payload. */
  body: string;
  webhookId: string;
  userAgent: string;
  concurrency: number;
  timeoutMs: number;
}

export interface PlainClientResult {
  startedAt: number;
  finishedAt: number;
  succeeded: number;
  failed: number;
  firstError: string | null;
}

/**
 * The yardstick: the same POSTs to the same origins with the same concurrency, straight from a
 * loop with no queue, no Redis and no state. Per request it does what tocsin's webhook channel does
 * on the wire (URL parse, Standard Webhooks HMAC, POST, drain the answer); the gap to tocsin is
 * what the queue costs.
 */
export async function runPlainClient(options: PlainClientOptions): Promise<PlainClientResult> {
  // Secrets differ per recipient in tocsin too, and the HMAC key is decoded per request there.
  const secrets = options.urls.map(() => generateWebhookSecret());
  // A fresh agent, so no socket is reused from earlier, with tocsin's keep-alive settings. One
  // connection per origin, because each origin gets exactly one request: a default Agent would make
  // an undici Pool per origin, whose queue alone preallocates 2048 slots, and the yardstick would
  // then carry a cost that a plain client need not pay (about 20% of its rate here).
  const agent = new Agent({
    connections: 1,
    connect: { timeout: Math.min(options.timeoutMs, 5_000) },
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
  });
  let succeeded = 0;
  let failed = 0;
  let firstError: string | null = null;
  const startedAt = wallClockMs();
  try {
    await mapWithConcurrency(options.urls, options.concurrency, async (target, index) => {
      const timestamp = Math.floor(Date.now() / 1000);
      try {
        const res = await request(new URL(target), {
          method: 'POST',
          dispatcher: agent,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          headers: {
            'content-type': 'application/json',
            'user-agent': options.userAgent,
            'webhook-id': options.webhookId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signStandardWebhook(secrets[index] as string, options.webhookId, timestamp, options.body),
          },
          body: options.body,
        });
        await res.body.dump({ limit: 64 * 1024 });
        if (res.statusCode >= 200 && res.statusCode < 300) succeeded += 1;
        else throw new Error(`HTTP ${res.statusCode}`);
      } catch (err) {
        failed += 1;
        firstError ??= `${target}: ${(err as Error).message}`;
      }
    });
    return { startedAt, finishedAt: wallClockMs(), succeeded, failed, firstError };
  } finally {
    await agent.close();
  }
}
