import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  /** Every complete response the server sent, in order. */
  responses: RawResponse[];
  /** All bytes received, for messages. */
  raw: string;
}

/**
 * Writes bytes to a fresh TCP connection on 127.0.0.1 exactly as given (no client library to
 * tidy malformed requests up) and reads until the server closes. `halfClose` sends FIN after the
 * bytes, for requests that would otherwise wait for body bytes that never come.
 */
export function rawExchange(port: number, bytes: Buffer | string, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from the server within ${options.timeoutMs ?? 10_000} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after the answer is fine; what arrived is judged
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      resolve({ responses: parseResponses(raw), raw: raw.toString('latin1') });
    });
    socket.write(bytes);
    if (options.halfClose) socket.end();
  });
}

function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine = '', ...lines] = raw.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = raw.subarray(end + 4, end + 4 + length).toString('utf8');
    out.push({ status, headers, body });
    at = end + 4 + length;
  }
  return out;
}

/** A request's bytes: the request line, headers as given (order and case kept), then the body. */
export function rawRequest(method: string, path: string, headers: readonly string[], body: Buffer | string = ''): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}
