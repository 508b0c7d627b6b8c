import type { BenchOptions } from './bench-options';
import type { MachineCpu } from './machine-load';

/** The issue's targets: an absolute floor, and a floor relative to a queue-less client. */
export const TARGET_DELIVERIES_PER_SECOND = 5_000;
export const TARGET_FRACTION_OF_PLAIN = 0.5;

export interface BenchResult {
  recipients: number;
  concurrency: number;
  batchSize: number;
  cpus: number;
  enrolSeconds: number;
  bodyBytes: number;
  tocsin: {
    acceptMs: number;
    firstDeliveryMs: number;
    lastDeliveryMs: number;
    /** N / (last delivery - submission): the figure the target is about. */
    deliveriesPerSecond: number;
    /** N / (last delivery - first delivery): the sending rate once sending has begun. */
    deliveriesPerSecondAfterFirst: number;
    requests: number;
    duplicates: number;
    misrouted: number;
    summary: { pending: number; delivered: number; retrying: number; failed: number };
    /** Resident set just before the advisory was submitted, recipients enrolled. */
    rssBeforeBytes: number;
    peakRssBytes: number;
    /** What tocsin logged at warn or worse, but for the expected development-key notice. */
    warnings: string[];
    cpuSeconds: number;
    redisCpuSeconds: number;
    receiversCpuSeconds: number;
    machine: MachineCpu;
  };
  plain: {
    seconds: number;
    deliveriesPerSecond: number;
    succeeded: number;
    failed: number;
    firstError: string | null;
    receivedDistinct: number;
    duplicates: number;
    clientCpuSeconds: number;
    receiversCpuSeconds: number;
    machine: MachineCpu;
  };
  fractionOfPlain: number;
  pass: { absolute: boolean; relative: boolean; both: boolean };
}

export function judge(result: Omit<BenchResult, 'fractionOfPlain' | 'pass'>): BenchResult {
  const fractionOfPlain = result.tocsin.deliveriesPerSecond / result.plain.deliveriesPerSecond;
  const absolute = result.tocsin.deliveriesPerSecond >= TARGET_DELIVERIES_PER_SECOND;
  const relative = fractionOfPlain >= TARGET_FRACTION_OF_PLAIN;
  return { ...result, fractionOfPlain, pass: { absolute, relative, both: absolute && relative } };
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const mib = (bytes: number) => `${f1(bytes / 1024 / 1024)} MiB`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
/** Busy CPU-s of the whole machine against the bench's own, so a crowded run shows as one. */
const machineLine = (m: MachineCpu, own: number) =>
  `  machine CPU                 ${f1(m.busySeconds)} of ${f1(m.totalSeconds)} CPU-s busy; bench processes ${f1(own)}, kernel and others ${f1(Math.max(0, m.busySeconds - own))}`;

export function printReport(options: BenchOptions, r: BenchResult): void {
  const t = r.tocsin;
  const p = r.plain;
  const lines = [
    '',
    `tocsin webhook bench: ${f0(r.recipients)} recipients (distinct loopback origins), concurrency ${r.concurrency}, batch size ${r.batchSize}, ${r.cpus} CPUs`,
    `  body                        ${f0(r.bodyBytes)} bytes per webhook; enrolment (setup) took ${f1(r.enrolSeconds)} s`,
    `tocsin (queue, Redis, workers), durable receipts ${options.receipts ? 'on' : 'OFF (TOCSIN_BENCH_RECEIPTS_OFF, a measurement only)'}:`,
    `  accepted (202) after        ${f1(t.acceptMs)} ms`,
    `  first delivery after        ${f1(t.firstDeliveryMs)} ms`,
    `  last delivery after         ${f1(t.lastDeliveryMs)} ms`,
    `  deliveries/s                ${f0(t.deliveriesPerSecond)}  (N / submission-to-last)`,
    `  deliveries/s after first    ${f0(t.deliveriesPerSecondAfterFirst)}  (N / first-to-last)`,
    `  requests / duplicates       ${f0(t.requests)} / ${f0(t.duplicates)}${t.misrouted ? `  (misrouted ${t.misrouted})` : ''}`,
    `  API summary                 delivered ${f0(t.summary.delivered)}, pending ${t.summary.pending}, retrying ${t.summary.retrying}, failed ${t.summary.failed}`,
    `  peak RSS of tocsin          ${mib(t.peakRssBytes)}  (${mib(t.rssBeforeBytes)} just before submission)`,
    `  CPU during delivery         tocsin ${f1(t.cpuSeconds)} s, redis ${f1(t.redisCpuSeconds)} s, receivers ${f1(t.receiversCpuSeconds)} s`,
    machineLine(t.machine, t.cpuSeconds + t.redisCpuSeconds + t.receiversCpuSeconds),
    `  tocsin warnings             ${t.warnings.length === 0 ? 'none' : t.warnings.slice(0, 5).join(' | ')}`,
    'plain client (undici, no queue, same URLs, body and concurrency):',
    `  all POSTs took              ${f0(p.seconds * 1000)} ms (${f0(p.succeeded)} ok, ${p.failed} failed${p.firstError ? `; first: ${p.firstError}` : ''})`,
    `  deliveries/s                ${f0(p.deliveriesPerSecond)}`,
    `  CPU                         client ${f1(p.clientCpuSeconds)} s, receivers ${f1(p.receiversCpuSeconds)} s`,
    machineLine(p.machine, p.clientCpuSeconds + p.receiversCpuSeconds),
    'targets:',
    `  >= ${f0(TARGET_DELIVERIES_PER_SECOND)} deliveries/s       ${verdict(r.pass.absolute)}  (${f0(t.deliveriesPerSecond)})`,
    `  >= ${TARGET_FRACTION_OF_PLAIN} x plain client       ${verdict(r.pass.relative)}  (${r.fractionOfPlain.toFixed(2)} x)`,
    `  overall                     ${verdict(r.pass.both)}`,
    '',
    `BENCH_RESULT ${JSON.stringify({ ...r, options: { ...options, cpuProfileDir: options.cpuProfileDir ?? null, nodeOptions: options.nodeOptions ?? null } })}`,
  ];
  console.log(lines.join('\n'));
}
