import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** One complete line of a JSON-lines file, with where it starts (in bytes). */
export interface LineAt {
  offset: number;
  text: string;
}

const NEWLINE = 0x0a;

/**
 * The complete lines of `file` in order, read as a stream (a piece at a time, never the whole
 * file): a last line without its newline (a torn write, never acknowledged) is left out, and so
 * is everything appended after the stream reached the end. No file: no lines.
 */
export async function* linesOf(file: string): AsyncGenerator<LineAt> {
  let rest: Buffer = Buffer.alloc(0);
  /** Where `rest` starts in the file. */
  let restAt = 0;
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const buf = rest.length > 0 ? Buffer.concat([rest, piece]) : piece;
      let start = 0;
      for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
        if (nl > start) yield { offset: restAt + start, text: buf.toString('utf8', start, nl) };
        start = nl + 1;
      }
      // A copy: a slice would keep the whole piece alive as long as the line it starts.
      rest = Buffer.from(buf.subarray(start));
      restAt += start;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  } finally {
    stream.destroy();
  }
}

/** The line that starts at `offset` of the file open as `handle`, without its newline. */
export async function readLineAt(handle: FileHandle, offset: number): Promise<string> {
  let buf = Buffer.alloc(2048);
  let have = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, have, buf.length - have, offset + have);
    const nl = buf.indexOf(NEWLINE, have);
    have += bytesRead;
    if (nl >= 0 && nl < have) return buf.toString('utf8', 0, nl);
    if (bytesRead === 0) throw new Error(`no complete line at byte ${offset}: the file changed under its index`);
    if (have === buf.length) {
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
  }
}
