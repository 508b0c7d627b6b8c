import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  loopbackAddress,
  PORTS_PER_ADDRESS,
  type AddressAssignment,
  type DriverMessage,
  type PhaseStats,
  type ReceiverMessage,
} from './receiver-protocol';

/**
 * Recipients per receiver process. Each holds a listening socket per recipient plus, briefly, an
 * accepted connection per recipient; 5,000 of each stays well inside ulimit -n 20000.
 */
const RECIPIENTS_PER_PROCESS = 5_000;
const BIND_TIMEOUT_MS = 120_000;
const ASK_TIMEOUT_MS = 10_000;

type Reply<T extends ReceiverMessage['type']> = Extract<ReceiverMessage, { type: T }>;
/** A driver message before it is numbered (Omit over each member of the union, not the union). */
type Unnumbered<M> = M extends unknown ? Omit<M, 'seq'> : never;
type Question = Unnumbered<DriverMessage>;

/** One receiver child and a request/answer channel to it. */
class ReceiverChild {
  private seq = 0;
  private readonly waiting = new Map<number, { answer: (m: ReceiverMessage) => void; fail: (e: Error) => void }>();
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: ReceiverMessage) => {
      this.waiting.get(m.seq)?.answer(m);
      this.waiting.delete(m.seq);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const w of this.waiting.values()) w.fail(new Error(`receiver ${child.pid} exited (${signal ?? code})`));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  ask<T extends ReceiverMessage['type']>(message: Question, expect: T, timeoutMs = ASK_TIMEOUT_MS): Promise<Reply<T>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new Error(`receiver ${this.child.pid} did not answer ${message.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(seq, {
        answer: (m) => {
          clearTimeout(timer);
          if (m.type === expect) resolve(m as Reply<T>);
          else reject(new Error(`receiver ${this.child.pid}: ${m.type === 'failed' ? m.message : `unexpected ${m.type}`}`));
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...message, seq } as DriverMessage);
    });
  }
}

export interface LoopbackReceivers {
  /** urls[i] is recipient i's endpoint, each on its own origin. */
  urls: string[];
  pids: number[];
  /** Resets every counter: what follows is a new measurement. */
  startPhase(name: string): Promise<void>;
  stats(): Promise<PhaseStats>;
  close(): Promise<void>;
}

/** Splits `total` recipients into whole addresses of PORTS_PER_ADDRESS, then into processes. */
function plan(total: number): AddressAssignment[][] {
  const addresses: AddressAssignment[] = [];
  for (let first = 0, slot = 0; first < total; first += PORTS_PER_ADDRESS, slot++) {
    addresses.push({ host: loopbackAddress(slot), firstIndex: first, count: Math.min(PORTS_PER_ADDRESS, total - first) });
  }
  const processes = Math.ceil(total / RECIPIENTS_PER_PROCESS);
  const perProcess = Math.ceil(addresses.length / processes);
  return Array.from({ length: processes }, (_, p) => addresses.slice(p * perProcess, (p + 1) * perProcess)).filter((a) => a.length > 0);
}

function merge(all: PhaseStats[]): PhaseStats {
  const min = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x === null ? m : m === null ? x : Math.min(m, x)), null);
  const max = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x === null ? m : m === null ? x : Math.max(m, x)), null);
  const sum = (f: (s: PhaseStats) => number) => all.reduce((n, s) => n + f(s), 0);
  return {
    requests: sum((s) => s.requests),
    distinct: sum((s) => s.distinct),
    duplicates: sum((s) => s.duplicates),
    misrouted: sum((s) => s.misrouted),
    serverErrors: sum((s) => s.serverErrors),
    firstAt: min(all.map((s) => s.firstAt)),
    lastAt: max(all.map((s) => s.lastAt)),
    minBodyBytes: min(all.map((s) => s.minBodyBytes)),
    maxBodyBytes: max(all.map((s) => s.maxBodyBytes)),
    sample: all.find((s) => s.sample)?.sample ?? null,
    cpuSeconds: sum((s) => s.cpuSeconds),
  };
}

export async function startLoopbackReceivers(total: number): Promise<LoopbackReceivers> {
  const children: ReceiverChild[] = [];
  const close = async () => {
    for (const c of children) c.child.kill('SIGTERM');
    await Promise.race([Promise.all(children.map((c) => c.exited)), new Promise((r) => setTimeout(r, 5_000))]);
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  };
  try {
    const urls = new Array<string>(total);
    await Promise.all(
      plan(total).map(async (assignments) => {
        // execArgv: [] so that a profiler flag meant for the driver does not land here.
        const child = new ReceiverChild(fork(path.join(__dirname, 'receiver-process.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
        children.push(child);
        const bound = await child.ask({ cmd: 'bind', total, assignments }, 'bound', BIND_TIMEOUT_MS);
        for (const [index, url] of bound.urls) urls[index] = url;
      }),
    );
    const origins = new Set(urls.map((u) => new URL(u).origin));
    if (origins.size !== total) throw new Error(`receivers gave ${origins.size} distinct origins for ${total} recipients`);
    return {
      urls,
      pids: children.map((c) => c.child.pid ?? -1),
      async startPhase(name) {
        await Promise.all(children.map((c) => c.ask({ cmd: 'phase', name }, 'phase-started')));
      },
      async stats() {
        return merge(await Promise.all(children.map(async (c) => (await c.ask({ cmd: 'stats' }, 'stats')).stats)));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
