import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Node's parser errors worth their own status; anything else it refuses is a 400. */
const statusFor: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'request headers are over 16 KiB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request did not arrive in time'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'too_large', 'chunk extensions are too large'],
};

/**
 * Answers requests that Node's HTTP parser refuses before express sees them (both
 * Content-Length and Transfer-Encoding, conflicting lengths, oversized headers, bytes that are not
 * HTTP) with the same JSON error shape as every other error, instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // As Node's own handler does: write only when no answer to this socket has begun, so an
    // in-flight response is never corrupted.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] = statusFor[err.code ?? ''] ?? [400, 'malformed_request', 'the request is not well-formed HTTP/1.1'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** A request whose `Expect` is anything but 100-continue gets 417 in the JSON error shape, not Node's empty 417. */
export function answerUnmetExpectations(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ error: { code: 'expectation_failed', message: `cannot meet the expectation ${JSON.stringify(req.headers.expect ?? '')}` } });
    res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', Connection: 'close' });
    res.end(body);
  });
}
