import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from './durable-file';
import { inPieces } from '../util/text-pieces';

/**
 * An append-only JSON-lines file. Appends that arrive while a write is in flight are grouped into
 * the next write and share one fsync, so many concurrent callers cost few disk flushes. A promise
 * resolves only once its line is on disk.
 */
export interface AppendLog<T> {
  append(entry: T): Promise<void>;
  /** Appends the entries together, in order, in one write: they share the next fsync. */
  appendAll(entries: readonly T[]): Promise<void>;
  /**
   * As {@link appendAll}, answering where each entry's line starts in the file (byte offsets, in
   * order): a reader can then read one line back without reading the rest. Offsets hold until
   * the file is replaced (a compacted copy renamed over it).
   */
  appendAllAt(entries: readonly T[]): Promise<number[]>;
  /**
   * Appends entries as `entries` yields them, a piece of a few hundred KiB at a time, and syncs
   * once at the end: a list too large to hold as one string (an import of 100,000 recipients)
   * is written without ever holding it whole. Other appends wait until it ends. Answers the
   * byte range the entries fill, [start, end). If it fails (a write, or `entries` throws), the
   * file is cut back to where it started, so that no line of it stays.
   */
  appendEach(entries: AsyncIterable<T>): Promise<{ start: number; end: number }>;
  /** Every complete entry; a torn last line (never acknowledged) is ignored. */
  readAll(): Promise<T[]>;
  close(): Promise<void>;
}

/** What appendEach writes at once (UTF-16 units, near enough bytes for JSON). */
const EACH_PIECE = 256 * 1024;

export function createAppendLog<T>(file: string): AppendLog<T> {
  let handle: FileHandle | null = null;
  let pending: { lines: string[]; resolve: (offsets: number[]) => void; reject: (e: unknown) => void }[] = [];
  /** Bytes in the file held open: where the next write starts (one writer, appending). */
  let size = 0;
  let writing: Promise<void> | null = null;

  /** Opens for appending, first cutting off a torn last line so the next entry starts clean. */
  async function openRepaired(): Promise<FileHandle> {
    await mkdir(path.dirname(file), { recursive: true });
    const h = await open(file, 'a+', PRIVATE_FILE_MODE);
    // The mode applies only to a new file: one that an older tocsin (or a umask) left readable is tightened.
    await h.chmod(PRIVATE_FILE_MODE);
    const { size: onDisk } = await h.stat();
    size = onDisk - (await tornTail(h, onDisk));
    if (size < onDisk) {
      await h.truncate(size);
      await h.sync();
    }
    return h;
  }

  /**
   * How many bytes after the last newline (a torn write, never acknowledged): read backwards in
   * small pieces, never the whole file.
   */
  async function tornTail(h: FileHandle, onDisk: number): Promise<number> {
    const piece = Buffer.alloc(64 * 1024);
    let end = onDisk;
    while (end > 0) {
      const start = Math.max(0, end - piece.length);
      const { bytesRead } = await h.read(piece, 0, end - start, start);
      const newline = piece.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) return onDisk - (start + newline + 1);
      end = start;
    }
    return onDisk;
  }

  /** False once the file at the path is another one (a compacted copy renamed over it): appends go to the new one. */
  async function stillTheFile(h: FileHandle): Promise<boolean> {
    const [held, named] = await Promise.all([h.stat(), stat(file).catch(() => null)]);
    return named !== null && named.ino === held.ino && named.dev === held.dev;
  }

  async function flush(): Promise<void> {
    const batch = pending;
    pending = [];
    try {
      if (handle && !(await stillTheFile(handle))) {
        await handle.close();
        handle = null;
      }
      if (!handle) handle = await openRepaired();
      let at = size;
      const offsets = batch.map((b) =>
        b.lines.map((line) => {
          const offset = at;
          at += Buffer.byteLength(line);
          return offset;
        }),
      );
      await handle.appendFile(batch.flatMap((b) => b.lines).join(''));
      size = at;
      await handle.sync();
      batch.forEach((b, i) => b.resolve(offsets[i]!));
    } catch (err) {
      // Reopened (and a torn write cut off) before the next batch: the offsets count from what is on disk.
      await handle?.close().catch(() => undefined);
      handle = null;
      for (const b of batch) b.reject(err);
    }
  }

  function kick(): void {
    if (writing) return;
    writing = flush().finally(() => {
      writing = null;
      if (pending.length > 0) kick();
    });
  }

  async function appendEach(entries: AsyncIterable<T>): Promise<{ start: number; end: number }> {
    while (writing) await writing;
    const run = (async () => {
      if (handle && !(await stillTheFile(handle))) {
        await handle.close();
        handle = null;
      }
      handle ??= await openRepaired();
      const h = handle;
      const start = size;
      try {
        const lines = (async function* () {
          for await (const entry of entries) yield `${JSON.stringify(entry)}\n`;
        })();
        for await (const piece of inPieces(lines, EACH_PIECE)) await h.appendFile(piece);
        await h.sync();
        const { size: end } = await h.stat();
        size = end;
        return { start, end };
      } catch (err) {
        // Nothing of it stays: the next open would otherwise replay the lines written so far.
        await h.truncate(start).then(() => h.sync()).catch(async () => {
          await h.close().catch(() => undefined);
          handle = null;
        });
        throw err;
      }
    })();
    // Held as the write in flight, so that appends arriving meanwhile queue behind it.
    writing = run.then(
      () => undefined,
      () => undefined,
    );
    void writing.finally(() => {
      writing = null;
      if (pending.length > 0) kick();
    });
    return run;
  }

  function appendAllAt(entries: readonly T[]): Promise<number[]> {
    if (entries.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      pending.push({ lines: entries.map((e) => `${JSON.stringify(e)}\n`), resolve, reject });
      kick();
    });
  }

  return {
    append: async (entry) => void (await appendAllAt([entry])),
    appendAll: async (entries) => void (await appendAllAt(entries)),
    appendAllAt,
    appendEach,
    async readAll() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const lines = text.split('\n');
      lines.pop(); // after the last newline: empty, or a torn write that was never acknowledged
      return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
    },
    async close() {
      while (writing) await writing;
      await handle?.close();
      handle = null;
    },
  };
}
