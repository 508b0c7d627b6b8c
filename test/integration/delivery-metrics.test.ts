import { appendFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeliveryReceipt } from '../../src/delivery/receipts';
import { createDeliveryTally, type ChannelTally } from '../../src/metrics/delivery-tally';
import { revisionDir } from '../../src/storage/advisory-archive';
import { RECEIPTS_FILE } from '../../src/storage/receipt-log';

const ref = { id: 'ACME-2026-0042', revision: 3 };
const at = (ms: number) => new Date(ms).toISOString();
const receipt = (recipient: string, state: Partial<DeliveryReceipt> & Pick<DeliveryReceipt, 'state'>): DeliveryReceipt => ({
  advisory: ref.id,
  revision: ref.revision,
  channel: 'webhook',
  recipient,
  attempts: 1,
  updated_at: at(1_000),
  ...state,
});
const lines = (receipts: DeliveryReceipt[]) => receipts.map((r) => `${JSON.stringify(r)}\n`).join('');

/**
 * /metrics counts deliveries from the receipts files that every API process appends to, so the
 * numbers of several worker processes add up in one place, survive a Redis that lost its data,
 * and are the same for a tally that starts afresh (a restarted API) as for one that followed along.
 */
describe('delivery numbers counted from the receipts on disk', () => {
  let dataDir: string;
  let file: string;
  const maxAttempts = () => 3;
  const webhook = async (tally: ReturnType<typeof createDeliveryTally>): Promise<ChannelTally | undefined> => (await tally.of([ref]))[0]!.get('webhook');

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tocsin-tally-'));
    file = path.join(revisionDir(dataDir, ref), RECEIPTS_FILE);
    await mkdir(path.dirname(file), { recursive: true });
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('counts each recipient once by the state its receipts add up to, reading only what was appended', async () => {
    const tally = createDeliveryTally({ dataDir, maxAttempts });
    expect(await webhook(tally)).toBeUndefined();

    // Two API processes' commits, interleaved in one file.
    await appendFile(file, lines([receipt('a', { state: 'delivered', updated_at: at(2_000) }), receipt('b', { state: 'retrying', attempts: 1 })]));
    await appendFile(file, lines([receipt('c', { state: 'failed', reason: 'permanent', updated_at: at(1_500) })]));
    expect(await webhook(tally)).toEqual({ delivered: 1, failed: { permanent: 1, attempts_exhausted: 0, recipient_removed: 0 }, retries: 1, firstDeliveredAt: 2_000, lastDeliveredAt: 2_000 });

    // b delivered at its second attempt; a sent again after a Redis loss (a second receipt, later);
    // d removed before any attempt; e from before `reason` was kept, out of attempts.
    await appendFile(
      file,
      lines([
        receipt('b', { state: 'delivered', attempts: 2, updated_at: at(5_000) }),
        receipt('a', { state: 'delivered', updated_at: at(6_000) }),
        receipt('d', { state: 'failed', attempts: 0, failure: { kind: 'recipient_removed' } }),
        receipt('e', { state: 'failed', attempts: 3 }),
      ]),
    );
    // And a torn line still being written: not counted until it is whole.
    const torn = JSON.stringify(receipt('f', { state: 'delivered' }));
    await appendFile(file, torn.slice(0, 20));
    const followed = await webhook(tally);
    expect(followed).toEqual({ delivered: 2, failed: { permanent: 1, attempts_exhausted: 1, recipient_removed: 1 }, retries: 3, firstDeliveredAt: 2_000, lastDeliveredAt: 6_000 });

    await appendFile(file, `${torn.slice(20)}\n`);
    expect((await webhook(tally))?.delivered).toBe(3);
    // A tally that starts afresh, as at an API's start, counts the same from the whole file.
    expect(await webhook(createDeliveryTally({ dataDir, maxAttempts }))).toEqual(await webhook(tally));
  });

  it('takes a replayed dead letter out of the failed count it was in, whatever its reason, and counts its retries once', async () => {
    const tally = createDeliveryTally({ dataDir, maxAttempts });
    await appendFile(
      file,
      lines([
        receipt('x', { state: 'failed', attempts: 3, reason: 'attempts_exhausted' }),
        receipt('y', { state: 'failed', attempts: 1, reason: 'permanent' }),
        receipt('z', { state: 'failed', attempts: 0, reason: 'recipient_removed' }),
      ]),
    );
    expect(await webhook(tally)).toEqual({ delivered: 0, failed: { permanent: 1, attempts_exhausted: 1, recipient_removed: 1 }, retries: 2 });
    // An operator replays x and y (generation 1): x is delivered at its second attempt, y is still retrying.
    await appendFile(
      file,
      lines([
        receipt('x', { state: 'retrying', attempts: 1, replays: 1 }),
        receipt('y', { state: 'retrying', attempts: 1, replays: 1 }),
        receipt('x', { state: 'delivered', attempts: 2, replays: 1, updated_at: at(9_000) }),
      ]),
    );
    expect(await webhook(tally)).toEqual({ delivered: 1, failed: { permanent: 0, attempts_exhausted: 0, recipient_removed: 1 }, retries: 2, firstDeliveredAt: 9_000, lastDeliveredAt: 9_000 });
    expect(await webhook(createDeliveryTally({ dataDir, maxAttempts }))).toEqual(await webhook(tally));
  });

  it('counts a file replaced by its compacted copy from its start, and a revision it stopped following again in full', async () => {
    const other = { id: 'ACME-2026-0043', revision: 1 };
    const otherFile = path.join(revisionDir(dataDir, other), RECEIPTS_FILE);
    await mkdir(path.dirname(otherFile), { recursive: true });
    const tally = createDeliveryTally({ dataDir, maxAttempts, followed: 1 });

    await appendFile(file, lines([receipt('a', { state: 'retrying' }), receipt('b', { state: 'retrying' }), receipt('a', { state: 'delivered', attempts: 2 })]));
    expect((await webhook(tally))?.delivered).toBe(1);
    // One line per recipient, in a new file renamed over the old one (another inode), longer
    // than what was read: read from its start, not from the old offset.
    const compacted = lines([receipt('a', { state: 'delivered', attempts: 2, detail: 'HTTP 204 from a partner whose answer is long enough' }), receipt('b', { state: 'delivered', attempts: 2 })]);
    await writeFile(`${file}.tmp`, compacted);
    await rename(`${file}.tmp`, file);
    expect(await webhook(tally)).toMatchObject({ delivered: 2, retries: 2 });

    // Following only the latest-changed revision: the first's states are forgotten, its tally kept.
    await appendFile(otherFile, lines([{ ...receipt('z', { state: 'delivered' }), advisory: other.id, revision: other.revision }]));
    const [first, second] = await tally.of([ref, other]);
    expect(first?.get('webhook')).toMatchObject({ delivered: 2 });
    expect(second?.get('webhook')).toMatchObject({ delivered: 1 });
    await appendFile(file, lines([receipt('c', { state: 'failed', reason: 'attempts_exhausted', attempts: 3 })]));
    expect(await webhook(tally)).toMatchObject({ delivered: 2, failed: { permanent: 0, attempts_exhausted: 1, recipient_removed: 0 }, retries: 4 });
  });
});
