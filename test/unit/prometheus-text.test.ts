import { formatPrometheus } from '../../src/metrics/prometheus-text';
import { parsePrometheus } from '../support/prometheus-parser';

describe('Prometheus text format writer', () => {
  it('writes HELP and TYPE once, before the samples, and escapes help and label values', () => {
    const text = formatPrometheus([
      { name: 'x_total', help: 'a help with \\ and\nnewline', type: 'counter', samples: [{ labels: { a: 'q"uote', b: 'back\\slash', c: 'line\nfeed' }, value: 3 }] },
      { name: 'y', help: 'gauge', type: 'gauge', samples: [{ value: 0.25 }, { labels: { k: 'v' }, value: NaN }, { labels: { k: 'w' }, value: -Infinity }, { labels: { k: 'z' }, value: Infinity }] },
      { name: 'empty', help: 'no samples yet', type: 'gauge', samples: [] },
    ]);
    expect(text.split('\n').slice(0, 3)).toEqual([
      '# HELP x_total a help with \\\\ and\\nnewline',
      '# TYPE x_total counter',
      'x_total{a="q\\"uote",b="back\\\\slash",c="line\\nfeed"} 3',
    ]);
    expect(text).toContain('y{k="v"} NaN\ny{k="w"} -Inf\ny{k="z"} +Inf\n');
    const parsed = parsePrometheus(text);
    expect(parsed.get('x_total')?.samples[0]?.labels).toEqual({ a: 'q"uote', b: 'back\\slash', c: 'line\nfeed' });
    expect(parsed.get('y')?.samples.map((s) => s.value)).toEqual([0.25, NaN, -Infinity, Infinity]);
    expect(parsed.get('empty')).toMatchObject({ type: 'gauge', samples: [] });
  });

  it('refuses names the format does not allow, and a family written twice', () => {
    expect(() => formatPrometheus([{ name: 'bad-name', help: 'h', type: 'gauge', samples: [] }])).toThrow(/metric name/);
    expect(() => formatPrometheus([{ name: 'ok', help: 'h', type: 'gauge', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] }])).toThrow(/label name/);
    expect(() => formatPrometheus([{ name: 'ok', help: 'h', type: 'gauge', samples: [{ labels: { __reserved: 'v' }, value: 1 }] }])).toThrow(/label name/);
    const twice = { name: 'ok', help: 'h', type: 'gauge' as const, samples: [] };
    expect(() => formatPrometheus([twice, twice])).toThrow(/twice/);
  });

  it('the test parser itself rejects what the format forbids', () => {
    expect(() => parsePrometheus('x 1\n')).toThrow(/before its TYPE/);
    expect(() => parsePrometheus('# TYPE x gauge\nx{a="1} 1\n')).toThrow();
    expect(() => parsePrometheus('# TYPE x gauge\nx{a="\\t"} 1\n')).toThrow(/bad escape/);
    expect(() => parsePrometheus('# TYPE x gauge\nx one\n')).toThrow(/bad value/);
    expect(() => parsePrometheus('# TYPE x gauge\nx 1\n# TYPE x gauge\n')).toThrow(/second TYPE/);
    expect(() => parsePrometheus('# TYPE x gauge\nx 1')).toThrow(/line feed/);
  });
});
