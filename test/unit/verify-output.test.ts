import { printable } from '../../src/cli/terminal-text';

describe('what `tocsin verify` prints', () => {
  it('shows control characters as \\uXXXX escapes, newlines inside a value included, and keeps the rest', () => {
    expect(printable('a\u001b[2Jb\u009b31m\u202Egnp.exe\u2066x\u0007\u007f\tz')).toBe('a\\u001b[2Jb\\u009b31m\\u202egnp.exe\\u2066x\\u0007\\u007f\tz');
    expect(printable('one\ntwo\r')).toBe('one\\u000atwo\\u000d');
    expect(printable('one\ntwo', true)).toBe('one\ntwo');
    expect(printable('Überlauf ① 😀 — ok')).toBe('Überlauf ① 😀 — ok');
  });
});
