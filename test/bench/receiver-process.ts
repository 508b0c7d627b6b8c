import http from 'node:http';
import { mapWithConcurrency } from './bounded';
import { PORT_BASE, PORT_SPAN, type AddressAssignment, type DriverMessage, type PhaseStats, type ReceiverMessage } from './receiver-protocol';
import { wallClockMs } from './wall-clock';

/**
 * A receiver process: many tiny webhook endpoints, each on its own (127.0.0.x, port) origin, that
 * answer 204 at once and count what arrives. It runs apart from tocsin so that its CPU and memory
 * are not charged to tocsin.
 */

const servers: http.Server[] = [];
let counts = new Uint32Array(0);
let seenIds = new Set<string>();
let phase: Omit<PhaseStats, 'cpuSeconds' | 'serverErrors'> = emptyPhase();
let phaseCpu = process.cpuUsage();
let serverErrors = 0;

function emptyPhase(): Omit<PhaseStats, 'cpuSeconds' | 'serverErrors'> {
  return { requests: 0, distinct: 0, duplicates: 0, misrouted: 0, firstAt: null, lastAt: null, minBodyBytes: null, maxBodyBytes: null, sample: null };
}

function record(index: number, req: http.IncomingMessage, bytes: number, body: Buffer[] | null): void {
  const at = wallClockMs();
  phase.requests += 1;
  phase.firstAt ??= at;
  phase.minBodyBytes = Math.min(phase.minBodyBytes ?? bytes, bytes);
  phase.maxBodyBytes = Math.max(phase.maxBodyBytes ?? bytes, bytes);
  if (body && !phase.sample) {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    phase.sample = { headers, body: Buffer.concat(body).toString('utf8') };
  }
  const idKey = `${index} ${String(req.headers['webhook-id'])}`;
  if (seenIds.has(idKey)) phase.duplicates += 1;
  else seenIds.add(idKey);
  if (counts[index] === 0) {
    phase.distinct += 1;
    phase.lastAt = at;
  }
  counts[index] = (counts[index] ?? 0) + 1;
}

function handlerFor(index: number): http.RequestListener {
  const ownPath = `/r/${index}`;
  return (req, res) => {
    let bytes = 0;
    // Only the phase's first body is kept: holding 10,000 copies would charge the receiver, not tocsin.
    const body: Buffer[] | null = phase.sample ? null : [];
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      body?.push(chunk);
    });
    req.on('end', () => {
      if (req.url === ownPath) record(index, req, bytes, body);
      else phase.misrouted += 1;
      res.writeHead(204).end();
    });
  };
}

/** Listens on `host` at the first free port from `port` up; resolves to the port it got. */
async function listenFrom(server: http.Server, host: string, port: number): Promise<number> {
  for (let candidate = port; candidate < PORT_BASE + PORT_SPAN; candidate++) {
    const outcome = await new Promise<'ok' | 'taken'>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve('taken') : reject(err));
      server.once('error', onError);
      server.listen({ host, port: candidate, exclusive: true }, () => {
        server.off('error', onError);
        resolve('ok');
      });
    });
    if (outcome === 'ok') return candidate;
  }
  throw new Error(`no free port on ${host} in ${PORT_BASE}..${PORT_BASE + PORT_SPAN - 1}`);
}

async function bindAll(total: number, assignments: AddressAssignment[]): Promise<[number, string][]> {
  counts = new Uint32Array(total);
  const urls: [number, string][] = [];
  // Addresses in parallel, ports within one address in order, so "next free port" stays simple.
  await mapWithConcurrency(assignments, 16, async ({ host, firstIndex, count }) => {
    let port = PORT_BASE;
    for (let k = 0; k < count; k++) {
      const index = firstIndex + k;
      const server = http.createServer(handlerFor(index));
      servers.push(server);
      const got = await listenFrom(server, host, port);
      // An accept() failure (EMFILE, say) must show in the figures, not kill the receiver.
      server.on('error', () => (serverErrors += 1));
      urls.push([index, `http://${host}:${got}/r/${index}`]);
      port = got + 1;
    }
  });
  return urls;
}

function stats(): PhaseStats {
  const cpu = process.cpuUsage(phaseCpu);
  return { ...phase, serverErrors, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function reply(message: ReceiverMessage): void {
  process.send?.(message);
}

process.on('message', (message: DriverMessage) => {
  switch (message.cmd) {
    case 'bind':
      bindAll(message.total, message.assignments).then(
        (urls) => reply({ seq: message.seq, type: 'bound', urls }),
        (err: unknown) => reply({ seq: message.seq, type: 'failed', message: (err as Error).message }),
      );
      return;
    case 'phase':
      counts.fill(0);
      seenIds = new Set();
      phase = emptyPhase();
      phaseCpu = process.cpuUsage();
      serverErrors = 0;
      reply({ seq: message.seq, type: 'phase-started' });
      return;
    case 'stats':
      reply({ seq: message.seq, type: 'stats', stats: stats() });
      return;
  }
});

// The driver going away, however it went, means the run is over.
process.on('disconnect', () => {
  for (const s of servers) s.closeAllConnections();
  process.exit(0);
});
