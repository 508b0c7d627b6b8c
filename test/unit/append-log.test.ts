import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAppendLog } from '../../src/storage/append-log';

describe('append log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'log-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps every concurrently appended entry, in order of arrival', async () => {
    const log = createAppendLog<{ n: number }>(path.join(dir, 'a.jsonl'));
    await Promise.all(Array.from({ length: 500 }, (_, n) => log.append({ n })));
    await log.close();
    const again = await createAppendLog<{ n: number }>(path.join(dir, 'a.jsonl')).readAll();
    expect(again.map((e) => e.n)).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });

  it('answers where each line starts, in bytes, for appends in flight together and after a torn tail is cut', async () => {
    const file = path.join(dir, 'c.jsonl');
    await appendFile(file, '{"s": "first"}\n{"s": "torn');
    const log = createAppendLog<{ s: string }>(file);
    // Multi-byte text, so that bytes and characters differ.
    const entries = Array.from({ length: 300 }, (_, n) => ({ s: `é€${'😀'.repeat(n % 7)}${n}` }));
    const offsets = await Promise.all(entries.map((e, n) => (n % 10 === 0 ? log.appendAllAt([e]) : log.append(e).then(() => null))));
    const batch = await log.appendAllAt([{ s: 'x' }, { s: 'ÿy' }]);
    await log.close();
    const bytes = await readFile(file);
    const lineAt = (offset: number) => bytes.subarray(offset, bytes.indexOf(0x0a, offset)).toString('utf8');
    offsets.forEach((o, n) => {
      if (o) expect(lineAt(o[0]!)).toBe(JSON.stringify(entries[n]));
    });
    expect(batch.map(lineAt)).toEqual(['{"s":"x"}', '{"s":"ÿy"}']);
    expect(lineAt(0)).toBe('{"s": "first"}');
  });

  it('ignores a torn last line, which was never acknowledged', async () => {
    const file = path.join(dir, 'b.jsonl');
    const log = createAppendLog<{ n: number }>(file);
    await log.append({ n: 1 });
    await log.close();
    await appendFile(file, '{"n": 2, "tru');
    expect(await createAppendLog<{ n: number }>(file).readAll()).toEqual([{ n: 1 }]);
    expect(await readFile(file, 'utf8')).toContain('tru');
  });
});

describe('append log after a crash mid-write', () => {
  it('cuts the torn tail before the next append, so no entry is glued to it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'log-'));
    const file = path.join(dir, 'c.jsonl');
    const first = createAppendLog<{ n: number }>(file);
    await first.append({ n: 1 });
    await first.close();
    await appendFile(file, '{"n": 2, "tru');
    const second = createAppendLog<{ n: number }>(file);
    await second.append({ n: 3 });
    await second.close();
    expect(await createAppendLog<{ n: number }>(file).readAll()).toEqual([{ n: 1 }, { n: 3 }]);
    await rm(dir, { recursive: true, force: true });
  });
});
