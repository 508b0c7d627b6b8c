import { open } from 'node:fs/promises';
import type { DeliveryReceipt } from '../delivery/receipts';

/** How far a reader got in one receipts file: the file (by inode) and the bytes read from it. */
export interface ReceiptFilePosition {
  ino: number;
  offset: number;
}

/** Where a read of a receipts file ended, and what it read. */
export interface ReceiptsRead {
  /** Where the next read starts. */
  position: ReceiptFilePosition;
  /**
   * True when the lines read are the whole file rather than what was added: the first read, a file
   * replaced by its compacted copy (another inode), or one cut back (a torn tail repaired).
   * Whatever the caller folded from earlier reads is to be dropped.
   */
  fromStart: boolean;
}

/** What is read at once: a receipts file of a large audience is never held whole. */
const PIECE = 1024 * 1024;

/**
 * Reads a receipts file from where the last read ended, so that following a revision's receipts
 * costs what was appended since, even when another process appends to the same file. Stops at
 * the last newline: a line still being written is read next time. A line that does not parse is
 * skipped (the append log never acknowledged it). Each receipt goes to `each` as it is read, a
 * piece of the file at a time: only what the caller keeps of them stays in memory.
 */
export async function eachReceiptSince(
  file: string,
  from: ReceiptFilePosition | null,
  each: (receipt: DeliveryReceipt) => void,
  /** Told, before the first receipt, whether the read starts over (see {@link ReceiptsRead}'s `fromStart`). */
  starting?: (fromStart: boolean) => void,
): Promise<ReceiptsRead> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    starting?.(from !== null);
    return { position: { ino: 0, offset: 0 }, fromStart: from !== null };
  }
  try {
    const { size, ino } = await handle.stat();
    const fromStart = from === null || from.ino !== ino || size < from.offset;
    starting?.(fromStart);
    let at = fromStart ? 0 : from.offset;
    const buf = Buffer.alloc(Math.min(PIECE, Math.max(size - at, 1)));
    /** The start of a line the piece before ended inside. */
    let carry = Buffer.alloc(0);
    while (at + carry.length < size) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - at - carry.length), at + carry.length);
      if (bytesRead === 0) break;
      const piece = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const end = piece.lastIndexOf(0x0a) + 1;
      for (const line of piece.toString('utf8', 0, end).split('\n')) {
        if (line.trim() === '') continue;
        let receipt: DeliveryReceipt;
        try {
          receipt = JSON.parse(line) as DeliveryReceipt;
        } catch {
          continue;
        }
        each(receipt);
      }
      // A copy: `buf` is read into again.
      carry = Buffer.from(piece.subarray(end));
      at += end;
    }
    return { position: { ino, offset: at }, fromStart };
  } finally {
    await handle.close();
  }
}
