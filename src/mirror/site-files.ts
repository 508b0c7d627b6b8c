import { createHash } from 'node:crypto';
import { link, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeSynced } from '../storage/durable-file';
import { createSemaphore } from '../util/semaphore';

const IO_CONCURRENCY = 16;

/** The files of a site, by path relative to its root, gathered before anything is written. */
export class SiteFiles {
  private readonly files = new Map<string, Buffer>();

  add(relative: string, content: string | Uint8Array): void {
    if (this.files.has(relative)) throw new Error(`the mirror would hold ${relative} twice`);
    this.files.set(relative, Buffer.from(content));
  }

  /** Adds `.sha256` and `.sha512` beside a file, in the format `sha256sum -c` reads. */
  addWithHashes(relative: string, content: string | Uint8Array): void {
    const bytes = Buffer.from(content);
    this.add(relative, bytes);
    const name = path.posix.basename(relative);
    this.add(`${relative}.sha256`, `${createHash('sha256').update(bytes).digest('hex')}  ${name}\n`);
    this.add(`${relative}.sha512`, `${createHash('sha512').update(bytes).digest('hex')}  ${name}\n`);
  }

  get size(): number {
    return this.files.size;
  }

  /**
   * Writes every file under `root`, each fsynced, then every directory. A file whose bytes are
   * already in `previous` (the site being replaced) is hard-linked from there instead: documents
   * and signatures never change once written, so a rebuild writes and fsyncs only what changed.
   */
  async writeTo(root: string, previous?: string): Promise<void> {
    const dirs = new Set<string>();
    for (const relative of this.files.keys()) {
      // Every directory between root and the file, so the new entries survive a crash too.
      for (let d = path.dirname(path.join(root, ...relative.split('/'))); d.startsWith(root) && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
    }
    // Parents before children (shorter paths first), then the files, many at once: the time
    // goes in waiting for the disk, and concurrent fsyncs share journal commits.
    for (const dir of [...dirs].sort((a, b) => a.length - b.length)) await mkdir(dir, { recursive: true });
    const io = createSemaphore(IO_CONCURRENCY);
    await Promise.all(
      [...this.files].map(([relative, bytes]) =>
        io.run(async () => {
          const file = path.join(root, ...relative.split('/'));
          if (previous && (await linkIfSame(path.join(previous, ...relative.split('/')), file, bytes))) return;
          await writeSynced(file, bytes);
        }),
      ),
    );
    await Promise.all([...dirs].map((dir) => io.run(() => fsyncDir(dir))));
  }
}

async function linkIfSame(old: string, file: string, bytes: Buffer): Promise<boolean> {
  const existing = await readFile(old).catch(() => null);
  if (!existing || !existing.equals(bytes)) return false;
  try {
    await link(old, file);
    return true;
  } catch {
    // Another file system, or links not allowed: write it instead.
    return false;
  }
}
