import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** One complete line of a JSON-lines file, with where it starts (in bytes). */
export interface LineAt {
  offset: number;
  text: string;
}

const NEWLINE = 0x0a;

/** Which bytes of the file to read: [start, end), `start` at the beginning of a line. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The complete lines of `file` in order (or of `range` of it), read as a stream (a piece at a
 * time, never the whole file): a last line without its newline (a torn write, never
 * acknowledged) is left out, and so is everything appended after the stream reached the end.
 * No file: no lines.
 */
export async function* linesOf(file: string, range?: ByteRange): AsyncGenerator<LineAt> {
  /** The start of a line that the piece before ended inside (a copy: short, a line at most). */
  let rest: Buffer = Buffer.alloc(0);
  /** Where the piece being read starts in the file. */
  let pieceAt = range?.start ?? 0;
  if (range && range.end <= range.start) return;
  // createReadStream's `end` is inclusive.
  const stream = createReadStream(file, { highWaterMark: 64 * 1024, ...(range ? { start: range.start, end: range.end - 1 } : {}) });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      let start = 0;
      let nl = piece.indexOf(NEWLINE);
      if (rest.length > 0 && nl >= 0) {
        // Only the line that spans two pieces is joined: never a whole piece copied.
        const line = Buffer.concat([rest, piece.subarray(0, nl)]);
        yield { offset: pieceAt - rest.length, text: line.toString('utf8') };
        rest = Buffer.alloc(0);
        start = nl + 1;
        nl = piece.indexOf(NEWLINE, start);
      }
      for (; nl >= 0; nl = piece.indexOf(NEWLINE, start)) {
        if (nl > start) yield { offset: pieceAt + start, text: piece.toString('utf8', start, nl) };
        start = nl + 1;
      }
      if (start < piece.length) rest = Buffer.concat([rest, piece.subarray(start)]);
      pieceAt += piece.length;
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
