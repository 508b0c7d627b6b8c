import type { ChannelName } from '../channels/channel-names';
import type { ChannelDrillReport, DrillReport } from './drill-report';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
const ms = (v: number | null) => (v === null ? '–' : v < 10_000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

const WIDTH = 640;
const HEIGHT = 200;
const PAD = 40;

/**
 * Cumulative deliveries over time as a step line, with the recipients' total as a dashed line
 * above it: where the line goes flat below the total, the broadcast stalled.
 */
export function timelineSvg(channel: ChannelName, report: ChannelDrillReport): string {
  const end = Math.max(report.last_ms ?? 0, 1);
  const x = (t: number) => PAD + (t / end) * (WIDTH - 2 * PAD);
  const y = (n: number) => HEIGHT - PAD - (n / Math.max(report.recipients, 1)) * (HEIGHT - 2 * PAD);
  let path = `M ${x(0).toFixed(1)} ${y(0).toFixed(1)}`;
  report.timeline.forEach((t, i) => {
    path += ` H ${x(t.ms).toFixed(1)} V ${y(i + 1).toFixed(1)}`;
  });
  path += ` H ${x(end).toFixed(1)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" id="timeline-${channel}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${channel}: cumulative deliveries over time">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff" stroke="#cccccc"/>`,
    `<line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}" stroke="#000000"/>`,
    `<line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${HEIGHT - PAD}" stroke="#000000"/>`,
    `<line x1="${PAD}" y1="${y(report.recipients)}" x2="${WIDTH - PAD}" y2="${y(report.recipients)}" stroke="#999999" stroke-dasharray="4 4"/>`,
    `<path d="${path}" fill="none" stroke="#c00000" stroke-width="2"/>`,
    `<text x="${PAD}" y="${HEIGHT - PAD + 16}" font-size="12">0</text>`,
    `<text x="${WIDTH - PAD}" y="${HEIGHT - PAD + 16}" font-size="12" text-anchor="end">${esc(ms(report.last_ms))}</text>`,
    `<text x="${PAD - 6}" y="${y(report.recipients) + 4}" font-size="12" text-anchor="end">${report.recipients}</text>`,
    '</svg>',
  ].join('\n');
}

/**
 * The drill's report as one self-contained page: no script, no stylesheet or image from anywhere
 * (the route also sends a Content-Security-Policy that forbids both), so it opens the same from an
 * operator's laptop on the worst day.
 */
export function drillReportPage(report: DrillReport): string {
  const sections = (Object.entries(report.channels) as [ChannelName, ChannelDrillReport][]).map(([channel, c]) => {
    const acks = report.acks[channel] ?? [];
    return [
      `<section id="${channel}">`,
      `<h2>${channel}</h2>`,
      '<table>',
      `<tr><th>recipients</th><td>${c.recipients}</td><th>delivered</th><td>${c.delivered}</td><th>failed</th><td>${c.failed}</td><th>retrying</th><td>${c.retrying}</td></tr>`,
      `<tr><th>first</th><td>${ms(c.first_ms)}</td><th>median</th><td>${ms(c.p50_ms)}</td><th>95th percentile</th><td>${ms(c.p95_ms)}</td><th>last</th><td>${ms(c.last_ms)}</td></tr>`,
      '</table>',
      timelineSvg(channel, c),
      c.slowest.length ? `<h3>Slowest</h3><ol>${c.slowest.map((s) => `<li><code>${esc(s.recipient)}</code> ${esc(ms(s.ms))}</li>`).join('')}</ol>` : '',
      c.failures.length ? `<h3>Failures</h3><ul>${c.failures.map((f) => `<li><code>${esc(f.recipient)}</code>: ${esc(f.reason)}</li>`).join('')}</ul>` : '',
      acks.length ? `<h3>Acknowledged</h3><ul>${acks.map((a) => `<li><code>${esc(a.recipient)}</code> at ${esc(a.at)}</li>`).join('')}</ul>` : '',
      '</section>',
    ].join('\n');
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><title>Drill ${esc(report.id)}</title>`,
    '<style>body{font-family:sans-serif;max-width:50em;margin:1em auto}th{text-align:left;padding-right:.3em}td{padding-right:1em}</style></head>',
    '<body>',
    `<h1>Drill <code>${esc(report.id)}</code></h1>`,
    `<p>Started ${esc(report.started_at)}. Times are from acceptance to delivery.</p>`,
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
