import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AudienceIndex, AudienceOutcomes } from '../../src/delivery/audience-states';
import { receiptOf, type DeliveryReceipt, type DeliveryReceipts } from '../../src/delivery/receipts';
import type { DeliveryState } from '../../src/delivery/delivery-status';
import { createReceiptLog, RECEIPTS_FILE } from '../../src/storage/receipt-log';
import { eachReceiptSince } from '../../src/storage/receipt-file';

const ref = { id: 'ADV-1', revision: 1 };
const at = '2026-12-02T12:00:00.000Z';
const state = (s: DeliveryState['state'], extra: Partial<DeliveryState> = {}): DeliveryState => ({ state: s, attempts: 1, updated_at: at, ...extra });
const receipt = (recipient: string, s: DeliveryState): DeliveryReceipt => receiptOf('webhook', ref, recipient, s);

/** The webhook outcomes the receipts fold to, for an audience of `ids`, in its order. */
async function outcomesOf(log: DeliveryReceipts, ids: string[]) {
  const outcomes = new AudienceOutcomes(new AudienceIndex(ids));
  await log.foldInto(ref, (channel) => (channel === 'webhook' ? outcomes : undefined));
  return ids.map((id, slot) => [id, outcomes.at(slot)] as const);
}

describe('receipt log', () => {
  let dataDir: string;
  const revisionDir = () => path.join(dataDir, 'advisories', ref.id, String(ref.revision));
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'receipts-'));
    await mkdir(revisionDir(), { recursive: true });
    await writeFile(path.join(revisionDir(), 'record.json'), '{}');
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('adds receipts up as Redis does: forward only within a replay generation, a later generation always', async () => {
    const log = createReceiptLog(dataDir);
    await log.append([
      receipt('a', state('retrying')),
      receipt('a', state('delivered', { attempts: 2 })),
      receipt('a', state('retrying', { attempts: 3 })),
      receipt('b', state('failed')),
      receipt('b', state('retrying', { attempts: 0, replays: 1 })),
      receipt('c', state('failed')),
      receipt('c', state('retrying')),
    ]);
    const states = (await log.statesOf(ref)).get('webhook')!;
    expect([...states].map(([id, s]) => [id, s.state, s.attempts])).toEqual([
      ['a', 'delivered', 2],
      ['b', 'retrying', 0],
      ['c', 'failed', 1],
    ]);
    // A revision small enough to keep folded: its outcomes come from the folded states.
    expect(await outcomesOf(log, ['a', 'b', 'c'])).toEqual([
      ['a', { state: 'delivered' }],
      ['b', { state: 'retrying', replays: 1 }],
      ['c', { state: 'failed' }],
    ]);
    await log.close();
  });

  it('one JSON line per receipt, in the revision directory, and nothing for a revision the archive lacks', async () => {
    const log = createReceiptLog(dataDir);
    const stray = receiptOf('webhook', { id: 'ADV-9', revision: 1 }, 'x', state('delivered'));
    expect(await log.append([receipt('a', state('delivered', { detail: 'HTTP 204' })), stray])).toEqual([stray]);
    const lines = (await readFile(path.join(revisionDir(), RECEIPTS_FILE), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ advisory: 'ADV-1', revision: 1, channel: 'webhook', recipient: 'a', state: 'delivered', attempts: 1, updated_at: at, detail: 'HTTP 204' }]);
    // A stray receipt must not create a revision directory the archive would then refuse to write.
    await expect(stat(path.join(dataDir, 'advisories', 'ADV-9'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await log.statesOf({ id: 'ADV-9', revision: 1 })).size).toBe(0);
    await log.close();
  });

  it("reads what another process appended since, and leaves a line still being written for later", async () => {
    const reader = createReceiptLog(dataDir);
    const writer = createReceiptLog(dataDir);
    await writer.append([receipt('a', state('retrying'))]);
    expect((await reader.statesOf(ref)).get('webhook')?.get('a')?.state).toBe('retrying');
    await writer.append([receipt('a', state('delivered', { attempts: 2 }))]);
    const file = path.join(revisionDir(), RECEIPTS_FILE);
    const half = JSON.stringify(receipt('b', state('failed')));
    await appendFile(file, half.slice(0, 20));
    const seen = (await reader.statesOf(ref)).get('webhook')!;
    expect([seen.get('a')?.state, seen.has('b')]).toEqual(['delivered', false]);
    await appendFile(file, `${half.slice(20)}\n`);
    expect((await reader.statesOf(ref)).get('webhook')?.get('b')?.state).toBe('failed');
    await Promise.all([reader.close(), writer.close()]);
  });

  it('compacts a revision to one line per recipient, durably and atomically, and appends after it land in the new file', async () => {
    const log = createReceiptLog(dataDir);
    // Another process with the file open for appending.
    const other = createReceiptLog(dataDir);
    const file = path.join(revisionDir(), RECEIPTS_FILE);
    await log.append([receipt('a', state('retrying')), receipt('b', state('retrying')), receipt('a', state('retrying', { attempts: 2 }))]);
    await other.append([receipt('a', state('delivered', { attempts: 3, detail: 'HTTP 204' })), receipt('b', state('failed', { attempts: 2 }))]);
    const before = await log.statesOf(ref);
    const { ino } = await stat(file);

    await log.compact(ref);
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as DeliveryReceipt);
    expect(lines).toEqual([receipt('a', state('delivered', { attempts: 3, detail: 'HTTP 204' })), receipt('b', state('failed', { attempts: 2 }))]);
    const after = await stat(file);
    expect(after.ino).not.toBe(ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(await log.statesOf(ref)).toEqual(before);
    expect(await createReceiptLog(dataDir).statesOf(ref)).toEqual(before);

    // Both the compacting log and the other process append to the compacted file, not the replaced one.
    await log.append([receipt('c', state('delivered'))]);
    await other.append([receipt('b', state('retrying', { attempts: 0, replays: 1 }))]);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(4);
    const now = (await createReceiptLog(dataDir).statesOf(ref)).get('webhook')!;
    expect([...now].map(([id, s]) => [id, s.state])).toEqual([
      ['a', 'delivered'],
      ['b', 'retrying'],
      ['c', 'delivered'],
    ]);
    await Promise.all([log.close(), other.close()]);
  });

  it('leaves a file that holds one line per recipient already as it is', async () => {
    const log = createReceiptLog(dataDir);
    const file = path.join(revisionDir(), RECEIPTS_FILE);
    await log.append([receipt('a', state('delivered')), receipt('b', state('failed'))]);
    const { ino } = await stat(file);
    await log.compact(ref);
    expect((await stat(file)).ino).toBe(ino);
    // One more line for a: now there is something to compact.
    await log.append([receipt('a', state('retrying', { attempts: 0, replays: 1 }))]);
    await log.compact(ref);
    expect((await stat(file)).ino).not.toBe(ino);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
    await log.close();
  });

  it('compacts by place in the audience when given it, and keeps the line of anyone outside it', async () => {
    const log = createReceiptLog(dataDir);
    const file = path.join(revisionDir(), RECEIPTS_FILE);
    const audience = { webhook: ['a', 'b', 'c'] };
    await log.append([receipt('b', state('retrying')), receipt('a', state('delivered', { detail: 'HTTP 204' })), receipt('b', state('failed', { attempts: 2 }))]);
    const before = await log.statesOf(ref);
    await log.compact(ref, audience);
    // In the audience's order, each recipient's state as the receipts add it up.
    expect((await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as DeliveryReceipt)).toEqual([
      receipt('a', state('delivered', { detail: 'HTTP 204' })),
      receipt('b', state('failed', { attempts: 2 })),
    ]);
    expect(await createReceiptLog(dataDir).statesOf(ref)).toEqual(before);
    const { ino } = await stat(file);
    await log.compact(ref, audience);
    expect((await stat(file)).ino).toBe(ino);

    // A receipt of someone the audience does not name is kept through a compaction.
    await log.append([receipt('z', state('retrying')), receipt('z', state('delivered'))]);
    await log.compact(ref, audience);
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as DeliveryReceipt);
    expect(lines.map((l) => [l.recipient, l.state])).toEqual([
      ['a', 'delivered'],
      ['b', 'failed'],
      ['z', 'delivered'],
    ]);
    await log.close();
  });

  // Past its budget of folded states (20,000 by default) a revision is not kept in memory between reads: each read starts over.
  it('adds up a revision too large to keep folded the same way, read after read', async () => {
    const log = createReceiptLog(dataDir, { foldedStates: 50 });
    const ids = Array.from({ length: 60 }, (_, i) => `r${i}`);
    await log.append(ids.map((id) => receipt(id, state('retrying'))));
    expect((await log.statesOf(ref)).get('webhook')?.size).toBe(ids.length);
    await log.append(ids.slice(0, 10).map((id) => receipt(id, state('delivered', { attempts: 2 }))));
    const states = (await log.statesOf(ref)).get('webhook')!;
    expect(states.size).toBe(ids.length);
    expect([...states.values()].filter((s) => s.state === 'delivered')).toHaveLength(10);
    // The outcomes alone add up the same way, folded from the file as it is read.
    await log.append([receipt('r0', state('retrying', { attempts: 0, replays: 1 })), receipt('r1', state('retrying', { attempts: 3 }))]);
    const outcomes = new Map(await outcomesOf(log, ids));
    const expected = (await log.statesOf(ref)).get('webhook')!;
    expect([...outcomes]).toEqual([...expected].map(([id, s]) => [id, { state: s.state, ...(s.replays ? { replays: s.replays } : {}) }]));
    expect(outcomes.get('r0')).toEqual({ state: 'retrying', replays: 1 });
    expect(outcomes.get('r1')).toEqual({ state: 'delivered' });
    await log.close();
  });

  // The file is read a megabyte at a time: lines cross the pieces' edges, and a last line being written waits.
  it('reads a file of several pieces line by line, every receipt once, however the lines fall across the pieces', async () => {
    const file = path.join(revisionDir(), RECEIPTS_FILE);
    // Lines of varied length (a long last_error now and then), so that piece edges fall everywhere in them.
    const written = Array.from({ length: 12_000 }, (_, i) => receipt(`r${i}`, state(i % 7 === 0 ? 'failed' : 'delivered', i % 7 === 0 ? { last_error: 'x'.repeat(i % 500) } : {})));
    const text = written.map((r) => `${JSON.stringify(r)}\n`).join('');
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * 1024 * 1024);
    await writeFile(file, `${text}{"advisory":"ADV-1","revi`);
    const seen: DeliveryReceipt[] = [];
    const read = await eachReceiptSince(file, null, (r) => seen.push(r));
    expect(seen).toEqual(written);
    expect(read).toEqual({ position: { ino: (await stat(file)).ino, offset: Buffer.byteLength(text) }, fromStart: true });
    // The torn line, once complete, is read next time, and only it.
    await appendFile(file, 'sion":1,"channel":"webhook","recipient":"late","state":"delivered","attempts":1,"updated_at":"2026-12-02T12:00:00.000Z"}\n');
    const later: string[] = [];
    expect((await eachReceiptSince(file, read.position, (r) => later.push(r.recipient))).fromStart).toBe(false);
    expect(later).toEqual(['late']);
  });
});
