import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Webhook recipients, each a distinct loopback origin. */
  recipients: number;
  /** 0: one `tocsin start`. N: one `tocsin serve` and N `tocsin worker` processes. */
  workers: number;
  /** Sends in flight at once: tocsin's TOCSIN_WEBHOOK_CONCURRENCY (per process) and the plain client's. */
  concurrency: number;
  /** Recipients per fan-out job: TOCSIN_FANOUT_BATCH_SIZE. */
  batchSize: number;
  /** When set, tocsin runs with --cpu-prof and writes its profile here. */
  cpuProfileDir: string | undefined;
  /** Extra node flags for tocsin (its NODE_OPTIONS), e.g. to try GC settings. */
  nodeOptions: string | undefined;
  /** The workers' NODE_OPTIONS instead of `nodeOptions` (docker-compose sets the two apart). */
  workerNodeOptions: string | undefined;
  /** False: tocsin runs with TOCSIN_BENCH_RECEIPTS_OFF, to measure what durable receipts cost. */
  receipts: boolean;
}

export const USAGE = `usage: node dist/test/bench/webhook-bench.js [options]
  --recipients N      webhook receivers, each a distinct origin on 127.0.0.0/8 (default 10000, at most 100000)
  --workers N         0: one "tocsin start"; 1 to 8: one "tocsin serve" and N "tocsin worker" (default 0)
  --concurrency C     TOCSIN_WEBHOOK_CONCURRENCY (per tocsin process) and the plain client's (default 256)
  --batch-size B      TOCSIN_FANOUT_BATCH_SIZE (default 500)
  --cpu-prof DIR      run tocsin with --cpu-prof, writing the .cpuprofile into DIR
  --node-options=STR  NODE_OPTIONS for tocsin, e.g. --node-options="--max-semi-space-size=32"
  --worker-node-options=STR
                      NODE_OPTIONS for the "tocsin worker" processes instead (with --workers N)
  --receipts on|off   off: tocsin runs with TOCSIN_BENCH_RECEIPTS_OFF=1 (no durable delivery
                      receipts), to measure what they cost; never in production (default on)`;

/**
 * The largest audience. 1,000 loopback addresses of 100 ports each, in 20 receiver
 * processes of 5,000 (loopback-receivers.ts): a listening and an accepted socket per recipient
 * keeps each receiver near 10,000 descriptors, inside ulimit -n 20000.
 */
export const MAX_RECIPIENTS = 100_000;
export const MAX_WORKERS = 8;

export function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got ${raw})`);
  return n;
}

const positive = (name: string, raw: string | undefined, fallback: number, max: number) => integer(name, raw, fallback, 1, max);

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw !== 'on' && raw !== 'off') throw new Error(`--${name} must be on or off (got ${raw})`);
  return raw === 'on';
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipients: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'node-options': { type: 'string' },
      'worker-node-options': { type: 'string' },
      receipts: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    recipients: positive('recipients', values.recipients, 10_000, MAX_RECIPIENTS),
    workers: integer('workers', values.workers, 0, 0, MAX_WORKERS),
    concurrency: positive('concurrency', values.concurrency, 256, 4096),
    batchSize: positive('batch-size', values['batch-size'], 500, 100_000),
    cpuProfileDir: values['cpu-prof'],
    nodeOptions: values['node-options'],
    workerNodeOptions: values['worker-node-options'],
    receipts: onOff('receipts', values.receipts, true),
  };
}
