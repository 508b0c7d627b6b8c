import { createServer, type RequestListener, type Server } from 'node:http';
import { errorCode, StartupError } from './startup-error';

/**
 * Starts an HTTP server on port and host, or throws a {@link StartupError} saying why it cannot
 * and what to change. (Express 5's app.listen hands a listen error to its callback as if it were
 * the listening event, so the server would look started with no address.)
 */
export async function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = createServer(handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new StartupError(listenProblem(err, port, host), { cause: err });
  }
  return server;
}

function listenProblem(err: unknown, port: number, host: string): string {
  const where = `${host}:${port}`;
  switch (errorCode(err)) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is in use (another tocsin?): stop what holds it, or set PORT to a free port`;
    case 'EACCES':
      return `cannot listen on ${where}: not allowed to bind this port (EACCES): set PORT above 1023, or give the process the right to bind it`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${host} is not an address of this machine: set TOCSIN_HOST to one of its addresses, or 0.0.0.0`;
    default:
      return `cannot listen on ${where} (${errorCode(err)}): ${(err as Error).message}`;
  }
}
