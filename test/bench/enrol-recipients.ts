import { Agent, request } from 'undici';
import { mapWithConcurrency } from './bounded';

const PER_REQUEST_TIMEOUT_MS = 30_000;

/** Enrols one webhook recipient per URL through the admin API; resolves to their ids. */
export async function enrolRecipients(apiUrl: string, adminToken: string, urls: readonly string[], concurrency = 64): Promise<string[]> {
  const agent = new Agent({ connections: concurrency });
  try {
    return await mapWithConcurrency(urls, concurrency, async (url) => {
      const res = await request(`${apiUrl}/v1/recipients`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ type: 'webhook', url }),
        headersTimeout: PER_REQUEST_TIMEOUT_MS,
        bodyTimeout: PER_REQUEST_TIMEOUT_MS,
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`enrolling ${url}: HTTP ${res.statusCode} ${text}`);
      return (JSON.parse(text) as { id: string }).id;
    });
  } finally {
    await agent.close();
  }
}
