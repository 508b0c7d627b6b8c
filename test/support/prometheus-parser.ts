/**
 * A strict reader of the Prometheus text exposition format 0.0.4, written from the specification
 * (https://prometheus.io/docs/instrumenting/exposition_formats/) independently of tocsin's writer,
 * so a test can check what /metrics serves rather than trust the code that wrote it.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = new RegExp(`^(${LABEL})="`).exec(text.slice(i));
    if (!m) throw new Error(`bad label at ${JSON.stringify(text.slice(i))} in: ${line}`);
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`bad escape \\${e ?? ''} in: ${line}`);
        i += 2;
      } else if (c === '\n') {
        throw new Error(`raw line feed in label value: ${line}`);
      } else {
        value += c;
        i += 1;
      }
    }
    i += 1;
    const name = m[1]!;
    if (name in labels) throw new Error(`label ${name} repeated in: ${line}`);
    labels[name] = value;
    if (text[i] === ',') i += 1;
    else if (i !== text.length) throw new Error(`expected , or } in: ${line}`);
  }
  return labels;
}

/** Parses a whole exposition; throws on anything the format does not allow (for counters and gauges). */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const families = new Map<string, ParsedFamily>();
  const seenSamples = new Set<string>();
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) {
      const f = families.get(help[1]!);
      if (f?.help) throw new Error(`second HELP for ${help[1]}`);
      if (f && f.samples.length > 0) throw new Error(`HELP after samples for ${help[1]}`);
      if (/\\[^\\n]/.test(help[2]!.replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP: ${line}`);
      families.set(help[1]!, { name: help[1]!, help: help[2]!, type: f?.type ?? '', samples: f?.samples ?? [] });
    } else if (type) {
      const f = families.get(type[1]!);
      if (f?.type) throw new Error(`second TYPE for ${type[1]}`);
      if (f && f.samples.length > 0) throw new Error(`TYPE after samples for ${type[1]}`);
      families.set(type[1]!, { name: type[1]!, help: f?.help ?? '', type: type[2]!, samples: f?.samples ?? [] });
    } else if (line.startsWith('#')) {
      continue;
    } else {
      const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
      if (!VALUE.test(valueText)) throw new Error(`bad value ${valueText} in: ${line}`);
      const family = families.get(name);
      if (!family?.type) throw new Error(`sample before its TYPE line: ${line}`);
      const labels = labelText ? parseLabels(labelText, line) : {};
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seenSamples.has(key)) throw new Error(`duplicate sample: ${line}`);
      seenSamples.add(key);
      const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
      family.samples.push({ name, labels, value });
    }
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when absent. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = (families.get(name)?.samples ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
