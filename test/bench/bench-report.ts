import type { BenchOptions } from './bench-options';
import type { MachineCpu } from './machine-load';
import type { TocsinProcessFigures } from './tocsin-run';

/** The issue's targets: an absolute floor, and, against a queue-less client in the same run, its rate and CPU. */
export const TARGET_DELIVERIES_PER_SECOND = 5_000;
export const TARGET_FRACTION_OF_PLAIN = 1.0;
/** tocsin's CPU per delivery (all its processes) over the plain client's. */
export const TARGET_CPU_RATIO = 1.2;
/** Each tocsin process's peak RSS, whatever the audience (up to 100,000). */
export const TARGET_PEAK_RSS_BYTES = 256 * 1024 * 1024;

/** What is judged against the plain client of the same run, for webhooks and email alike. */
export interface AgainstPlain {
  fractionOfPlain: number;
  tocsinCpuMsPerDelivery: number;
  plainCpuMsPerDelivery: number;
  cpuRatio: number;
  pass: { absolute: boolean; relative: boolean; cpu: boolean; rss: boolean; all: boolean };
}

export function againstPlain(f: {
  recipients: number;
  perSecond: number;
  plainPerSecond: number;
  absoluteTarget: number;
  tocsinCpuSeconds: number;
  plainCpuSeconds: number;
  processes: TocsinProcessFigures[];
}): AgainstPlain {
  const fractionOfPlain = f.perSecond / f.plainPerSecond;
  const tocsinCpuMsPerDelivery = (f.tocsinCpuSeconds * 1000) / f.recipients;
  const plainCpuMsPerDelivery = (f.plainCpuSeconds * 1000) / f.recipients;
  const cpuRatio = tocsinCpuMsPerDelivery / plainCpuMsPerDelivery;
  const absolute = f.perSecond >= f.absoluteTarget;
  const relative = fractionOfPlain >= TARGET_FRACTION_OF_PLAIN;
  const cpu = cpuRatio <= TARGET_CPU_RATIO;
  const rss = f.processes.every((p) => p.peakRssBytes < TARGET_PEAK_RSS_BYTES);
  return { fractionOfPlain, tocsinCpuMsPerDelivery, plainCpuMsPerDelivery, cpuRatio, pass: { absolute, relative, cpu, rss, all: absolute && relative && cpu && rss } };
}

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
    /** Resident set just before the advisory was submitted, recipients enrolled: the largest of any tocsin process. */
    rssBeforeBytes: number;
    /** The largest peak RSS of any tocsin process. */
    peakRssBytes: number;
    /** `start`, or `serve` and each `worker`. */
    processes: TocsinProcessFigures[];
    /** What tocsin logged at warn or worse, but for the expected development-key notice. */
    warnings: string[];
    /** Of all tocsin processes, from submission to the last delivery. */
    cpuSeconds: number;
    cpuMsPerDelivery: number;
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
    cpuMsPerDelivery: number;
    receiversCpuSeconds: number;
    machine: MachineCpu;
  };
  fractionOfPlain: number;
  cpuRatio: number;
  /** `both`: the rate targets (absolute and relative); `all`: every target. */
  pass: { absolute: boolean; relative: boolean; both: boolean; cpu: boolean; rss: boolean; all: boolean };
}

type Unjudged = Omit<BenchResult, 'fractionOfPlain' | 'cpuRatio' | 'pass' | 'tocsin' | 'plain'> & {
  tocsin: Omit<BenchResult['tocsin'], 'cpuMsPerDelivery'>;
  plain: Omit<BenchResult['plain'], 'cpuMsPerDelivery'>;
};

export function judge(result: Unjudged): BenchResult {
  const a = againstPlain({
    recipients: result.recipients,
    perSecond: result.tocsin.deliveriesPerSecond,
    plainPerSecond: result.plain.deliveriesPerSecond,
    absoluteTarget: TARGET_DELIVERIES_PER_SECOND,
    tocsinCpuSeconds: result.tocsin.cpuSeconds,
    plainCpuSeconds: result.plain.clientCpuSeconds,
    processes: result.tocsin.processes,
  });
  return {
    ...result,
    tocsin: { ...result.tocsin, cpuMsPerDelivery: a.tocsinCpuMsPerDelivery },
    plain: { ...result.plain, cpuMsPerDelivery: a.plainCpuMsPerDelivery },
    fractionOfPlain: a.fractionOfPlain,
    cpuRatio: a.cpuRatio,
    pass: { ...a.pass, both: a.pass.absolute && a.pass.relative },
  };
}

/** How the report names the tocsin processes of a run. */
export const processesName = (workers: number) => (workers === 0 ? 'one tocsin start' : `tocsin serve and ${workers} tocsin worker${workers === 1 ? '' : 's'}`);
const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const mib = (bytes: number) => `${f1(bytes / 1024 / 1024)} MiB`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
/** Busy CPU-s of the whole machine against the bench's own, so a crowded run shows as one. */
const machineLine = (m: MachineCpu, own: number) =>
  `  machine CPU                 ${f1(m.busySeconds)} of ${f1(m.totalSeconds)} CPU-s busy; bench processes ${f1(own)}, kernel and others ${f1(Math.max(0, m.busySeconds - own))}`;

const pad = (text: string, width: number) => text.padEnd(width);

/** A line per tocsin process: its peaks (whole life, then split at submission), RSS at submission, CPU. */
export function processLines(processes: TocsinProcessFigures[]): string[] {
  return [
    `  ${pad('process', 12)}${pad('peak RSS', 13)}${pad('to submission', 15)}${pad('in delivery', 13)}${pad('RSS at submit', 15)}CPU in delivery`,
    ...processes.map(
      (p) =>
        `  ${pad(p.label, 12)}${pad(mib(p.peakRssBytes), 13)}${pad(mib(p.peakBeforeSubmissionBytes), 15)}${pad(p.peakDuringDeliveryBytes === null ? '-' : mib(p.peakDuringDeliveryBytes), 13)}${pad(mib(p.rssBeforeBytes), 15)}${f1(p.cpuSeconds)} s`,
    ),
  ];
}

/** The issue's targets against the plain client (`plain`, e.g. raw nodemailer) of the same run, and the absolute floor. */
export function targetLines(unit: string, absoluteTarget: number, perSecond: number, a: AgainstPlain, processes: TocsinProcessFigures[], plain = 'plain client'): string[] {
  const largest = processes.reduce((m, p) => (p.peakRssBytes > m.peakRssBytes ? p : m));
  return [
    'targets:',
    `  >= ${f0(absoluteTarget)} ${unit}/s`.padEnd(46) + `${verdict(a.pass.absolute)}  (${f0(perSecond)})`,
    `  >= ${TARGET_FRACTION_OF_PLAIN.toFixed(1)} x ${plain}'s rate`.padEnd(46) + `${verdict(a.pass.relative)}  (${a.fractionOfPlain.toFixed(2)} x)`,
    `  CPU per delivery <= ${TARGET_CPU_RATIO} x ${plain}'s`.padEnd(46) +
      `${verdict(a.pass.cpu)}  (tocsin ${a.tocsinCpuMsPerDelivery.toFixed(3)} ms, ${plain} ${a.plainCpuMsPerDelivery.toFixed(3)} ms: ${a.cpuRatio.toFixed(2)} x)`,
    `  peak RSS < ${mib(TARGET_PEAK_RSS_BYTES)}, each process`.padEnd(46) + `${verdict(a.pass.rss)}  (largest: ${largest.label} ${mib(largest.peakRssBytes)})`,
    '  overall'.padEnd(46) + verdict(a.pass.all),
  ];
}

export function printReport(options: BenchOptions, r: BenchResult): void {
  const t = r.tocsin;
  const p = r.plain;
  const lines = [
    '',
    `tocsin webhook bench: ${f0(r.recipients)} recipients (distinct loopback origins), concurrency ${r.concurrency} per tocsin process and for the plain client, batch size ${r.batchSize}, ${r.cpus} CPUs`,
    `  body                        ${f0(r.bodyBytes)} bytes per webhook; enrolment (setup) took ${f1(r.enrolSeconds)} s`,
    `tocsin (${processesName(options.workers)}, queue, Redis), durable receipts ${options.receipts ? 'on' : 'OFF (TOCSIN_BENCH_RECEIPTS_OFF, a measurement only)'}:`,
    `  accepted (202) after        ${f1(t.acceptMs)} ms`,
    `  first delivery after        ${f1(t.firstDeliveryMs)} ms`,
    `  last delivery after         ${f1(t.lastDeliveryMs)} ms`,
    `  deliveries/s                ${f0(t.deliveriesPerSecond)}  (N / submission-to-last)`,
    `  deliveries/s after first    ${f0(t.deliveriesPerSecondAfterFirst)}  (N / first-to-last)`,
    `  requests / duplicates       ${f0(t.requests)} / ${f0(t.duplicates)}${t.misrouted ? `  (misrouted ${t.misrouted})` : ''}`,
    `  API summary                 delivered ${f0(t.summary.delivered)}, pending ${t.summary.pending}, retrying ${t.summary.retrying}, failed ${t.summary.failed}`,
    ...processLines(t.processes),
    `  CPU during delivery         tocsin ${f1(t.cpuSeconds)} s (${t.cpuMsPerDelivery.toFixed(3)} ms per delivery), redis ${f1(t.redisCpuSeconds)} s, receivers ${f1(t.receiversCpuSeconds)} s`,
    machineLine(t.machine, t.cpuSeconds + t.redisCpuSeconds + t.receiversCpuSeconds),
    `  tocsin warnings             ${t.warnings.length === 0 ? 'none' : t.warnings.slice(0, 5).join(' | ')}`,
    'plain client (undici, no queue, same URLs, body and concurrency):',
    `  all POSTs took              ${f0(p.seconds * 1000)} ms (${f0(p.succeeded)} ok, ${p.failed} failed${p.firstError ? `; first: ${p.firstError}` : ''})`,
    `  deliveries/s                ${f0(p.deliveriesPerSecond)}`,
    `  CPU                         client ${f1(p.clientCpuSeconds)} s (${p.cpuMsPerDelivery.toFixed(3)} ms per delivery), receivers ${f1(p.receiversCpuSeconds)} s`,
    machineLine(p.machine, p.clientCpuSeconds + p.receiversCpuSeconds),
    ...targetLines('deliveries', TARGET_DELIVERIES_PER_SECOND, t.deliveriesPerSecond, { ...r, tocsinCpuMsPerDelivery: t.cpuMsPerDelivery, plainCpuMsPerDelivery: p.cpuMsPerDelivery }, t.processes),
    '',
    `BENCH_RESULT ${JSON.stringify({ ...r, options: { ...options, cpuProfileDir: options.cpuProfileDir ?? null, nodeOptions: options.nodeOptions ?? null, workerNodeOptions: options.workerNodeOptions ?? null } })}`,
  ];
  console.log(lines.join('\n'));
}
