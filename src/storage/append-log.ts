import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from './durable-file';

/**
 * An append-only JSON-lines file. Appends that arrive while a write is in flight are grouped into
 * the next write and share one fsync, so many concurrent callers cost few disk flushes. A promise
 * resolves only once its line is on disk.
 */
export interface AppendLog<T> {
  append(entry: T): Promise<void>;
  /** Appends the entries together, in order, in one write: they share the next fsync. */
  appendAll(entries: readonly T[]): Promise<void>;
  /** Every complete entry; a torn last line (never acknowledged) is ignored. */
  readAll(): Promise<T[]>;
  close(): Promise<void>;
}

export function createAppendLog<T>(file: string): AppendLog<T> {
  let handle: FileHandle | null = null;
  let pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let writing: Promise<void> | null = null;

  /** Opens for appending, first cutting off a torn last line so the next entry starts clean. */
  async function openRepaired(): Promise<FileHandle> {
    await mkdir(path.dirname(file), { recursive: true });
    const h = await open(file, 'a+', PRIVATE_FILE_MODE);
    // The mode applies only to a new file: one that an older tocsin (or a umask) left readable is tightened.
    await h.chmod(PRIVATE_FILE_MODE);
    const { size } = await h.stat();
    if (size > 0) {
      const text = (await readFile(file)).toString('utf8');
      if (!text.endsWith('\n')) {
        await h.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
        await h.sync();
      }
    }
    return h;
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
      await handle.appendFile(batch.map((b) => b.line).join(''));
      await handle.sync();
      for (const b of batch) b.resolve();
    } catch (err) {
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

  function appendAll(entries: readonly T[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      pending.push({ line: entries.map((e) => `${JSON.stringify(e)}\n`).join(''), resolve, reject });
      kick();
    });
  }

  return {
    append: (entry) => appendAll([entry]),
    appendAll,
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
