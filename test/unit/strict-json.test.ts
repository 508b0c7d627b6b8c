import { DuplicateKeyError, findDuplicateKey, parseStrictJson } from '../../src/util/strict-json';
import { createRng, baseSeed } from '../support/fuzz';
import { randomJson } from '../support/hostile-inputs';

/** Time one call; a bound generous enough for a busy machine, and far below any quadratic pass. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = process.hrtime.bigint();
  const value = fn();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

describe('strict JSON: a key appears once per object', () => {
  it('names the path to a repeated key at any depth', () => {
    expect(findDuplicateKey('{"severity": "low", "severity": "critical"}')).toEqual(['severity']);
    expect(findDuplicateKey('{"affected": [{"product": "a", "versions": "1"}, {"product": "b", "product": "c"}]}')).toEqual(['affected', '1', 'product']);
    expect(findDuplicateKey('{"a": {"b": [[{}], {"c": 1, "d": {"e": 1, "e": 2}}]}}')).toEqual(['a', 'b', '1', 'd', 'e']);
    expect(findDuplicateKey('[{"x": 1}, {"x": 1, "x": 1}]')).toEqual(['1', 'x']);
  });

  it('compares keys after unescaping: "severity" and "sev\\u0065rity" are one key', () => {
    expect(findDuplicateKey('{"severity": "low", "sev\\u0065rity": "critical"}')).toEqual(['severity']);
    expect(findDuplicateKey('{"a\\/b": 1, "a/b": 2}')).toEqual(['a/b']);
    expect(findDuplicateKey('{"\\"": 1, "\\u0022": 2}')).toEqual(['"']);
    expect(findDuplicateKey('{"__proto__": 1, "\\u005f_proto__": 2}')).toEqual(['__proto__']);
  });

  it('does not mistake strings, values or keys of other objects for repeats', () => {
    const fine = [
      '{"a": "a", "b": "a"}',
      '{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}',
      '{"k": "{\\"k\\": 1, \\"k\\": 2}", "s": "\\\\", "t": "\\\\\\"", "u": 1}',
      '{"a": [1, "x", {"b": 1}], "c": {"b": 1}}',
      '{"é": 1, "e\\u0301": 2, "\\u00e9x": 3}',
      '[]',
      '"just a string, with \\"quotes\\", and {braces}"',
      ' { } ',
    ];
    for (const text of fine) expect({ text, found: findDuplicateKey(text) }).toEqual({ text, found: null });
  });

  it('finds no repeat in any JSON that JSON.stringify writes, and finds one put in any object', () => {
    const rng = createRng(baseSeed);
    for (let i = 0; i < 500; i++) {
      const value = randomJson(rng, ['document', 'severity', 'title', 'affected']);
      const text = JSON.stringify(value, null, rng.bool() ? 2 : 0);
      expect({ seed: baseSeed, text, found: findDuplicateKey(text) }).toEqual({ seed: baseSeed, text, found: null });
      // Repeating the first key of the first object, escaped, is always found.
      const first = /\{\s*("(?:[^"\\]|\\.)*")\s*:/.exec(text);
      if (!first?.[1]) continue;
      const key = JSON.parse(first[1]) as string;
      const escaped = `"${key.split('').map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
      const repeated = `${text.slice(0, first.index + 1)}${escaped}: null, ${text.slice(first.index + 1)}`;
      expect(() => parseStrictJson(repeated)).toThrow(DuplicateKeyError);
    }
  });

  it('parseStrictJson returns what JSON.parse returns, and throws its SyntaxError for text that is not JSON', () => {
    const text = '{"a": [1, {"b": "\\u00e9"}], "c": null}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    expect(() => parseStrictJson('{"a": 1,}')).toThrow(SyntaxError);
    const err = (() => {
      try {
        parseStrictJson('{"affected": [{"product": "a", "product": "b"}]}');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect((err as DuplicateKeyError).path).toEqual(['affected', '0', 'product']);
  });

  it('takes time in proportion to its input: 1 MiB adversarial documents, deep, wide, escaped', () => {
    const MiB = 1024 * 1024;
    const depth = 200_000;
    const inputs = {
      deepArrays: `${'['.repeat(depth)}${']'.repeat(depth)}`,
      deepObjects: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      wideObject: `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
      escapedKeys: `{${Array.from({ length: 20_000 }, (_, i) => `"\\u0041\\u0042${i}":1`).join(',')}}`,
      backslashString: `{"s":"${'\\\\'.repeat(MiB / 2 - 8)}"}`,
      longKeys: `{${Array.from({ length: 40 }, (_, i) => `"${String(i).padStart(25_000, 'x')}":1`).join(',')}}`,
      manySmallObjects: `[${Array.from({ length: 60_000 }, () => '{"a":1,"b":2}').join(',')}]`,
    };
    for (const [name, text] of Object.entries(inputs)) {
      expect(text.length).toBeGreaterThan(100 * 1024);
      const { value, ms } = timed(() => parseStrictJson(text));
      expect(value).toBeDefined();
      expect({ name, fast: ms < 2000 }).toEqual({ name, fast: true });
    }
    // The same shapes with a repeat at the very end are still read once through.
    const wide = `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":${i}`).join(',')},"k0":0}`;
    const { value, ms } = timed(() => findDuplicateKey(wide));
    expect(value).toEqual(['k0']);
    expect(ms).toBeLessThan(2000);
  });
});
