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

describe('append log, streamed', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'log-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function* numbered(from: number, count: number, failAt?: number): AsyncGenerator<{ n: number; pad: string }> {
    for (let n = from; n < from + count; n++) {
      if (n === failAt) throw new Error('the source failed');
      yield { n, pad: 'x'.repeat(100) };
    }
  }

  it('writes a stream larger than one piece, answers its byte range, and queues appends made meanwhile after it', async () => {
    const file = path.join(dir, 'e.jsonl');
    const log = createAppendLog<{ n: number; pad?: string }>(file);
    await log.append({ n: -1 });
    // 5,000 lines of about 120 bytes: a few pieces of 256 KiB.
    const streamed = log.appendEach(numbered(0, 5_000));
    const meanwhile = log.appendAllAt([{ n: 99_999 }]);
    const range = await streamed;
    const [after] = await meanwhile;
    await log.close();
    const bytes = await readFile(file);
    const lines = bytes.subarray(range.start, range.end).toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 5_000 }, (_, n) => n));
    expect(after).toBe(range.end);
    expect((await createAppendLog<{ n: number }>(file).readAll()).map((e) => e.n)).toEqual([-1, ...lines.map((_, n) => n), 99_999]);
  });

  it('leaves nothing of a stream that fails part way, even pieces already written, and goes on appending', async () => {
    const file = path.join(dir, 'f.jsonl');
    const log = createAppendLog<{ n: number; pad?: string }>(file);
    await log.append({ n: -1 });
    // Fails after several pieces have reached the file.
    await expect(log.appendEach(numbered(0, 10_000, 9_000))).rejects.toThrow('the source failed');
    await log.append({ n: -2 });
    await log.close();
    expect(await createAppendLog<{ n: number }>(file).readAll()).toEqual([{ n: -1 }, { n: -2 }]);
  });
});
