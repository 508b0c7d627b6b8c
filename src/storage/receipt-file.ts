import { open } from 'node:fs/promises';
import type { DeliveryReceipt } from '../delivery/receipts';

/** How far a reader got in one receipts file: the file (by inode) and the bytes read from it. */
export interface ReceiptFilePosition {
  ino: number;
  offset: number;
}

export interface ReceiptsRead {
  /** Where the next read starts. */
  position: ReceiptFilePosition;
  /** The complete lines after the position read last (every line when `fromStart`). */
  receipts: DeliveryReceipt[];
  /**
   * True when the lines are the whole file rather than what was added: the first read, a file
   * replaced by its compacted copy (another inode), or one cut back (a torn tail repaired).
   * Whatever the caller folded from earlier reads is to be dropped.
   */
  fromStart: boolean;
}

/**
 * Reads a receipts file from where the last read ended, so that following a revision's receipts
 * costs what was appended since, even when another process appends to the same file. Stops at
 * the last newline: a line still being written is read next time. A line that does not parse is
 * skipped (the append log never acknowledged it).
 */
export async function readReceiptsSince(file: string, from: ReceiptFilePosition | null): Promise<ReceiptsRead> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { position: { ino: 0, offset: 0 }, receipts: [], fromStart: from !== null };
    throw err;
  }
  try {
    const { size, ino } = await handle.stat();
    const fromStart = from === null || from.ino !== ino || size < from.offset;
    const start = fromStart ? 0 : from.offset;
    if (size === start) return { position: { ino, offset: start }, receipts: [], fromStart };
    const bytes = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, start);
    const end = bytes.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
    const receipts: DeliveryReceipt[] = [];
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        receipts.push(JSON.parse(line) as DeliveryReceipt);
      } catch {
        continue;
      }
    }
    return { position: { ino, offset: start + end }, receipts, fromStart };
  } finally {
    await handle.close();
  }
}
