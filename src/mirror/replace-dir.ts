import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../storage/durable-file';

/** Another process is building or pushing to the same directory right now. */
export class SiteBusyError extends Error {
  constructor(readonly target: string, readonly pid: string) {
    super(`${target} is being written by process ${pid}; try again when it is done`);
    this.name = 'SiteBusyError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file beside the target, holding the writer's pid; a dead writer's lock is taken over. */
async function lock(lockFile: string, target: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = (await readFile(lockFile, 'utf8').catch(() => '')).trim();
      const pid = Number(holder);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new SiteBusyError(target, holder);
      await unlink(lockFile).catch(() => undefined);
    }
  }
  throw new SiteBusyError(target, 'unknown');
}

/**
 * Replaces the directory `target` with a new one that `fill` writes, so that nobody reading
 * `target` ever sees a half-written site. The site is written beside it
 * (`.<name>.site-<stamp>`), then `target` becomes a symlink to it by one rename, which is atomic;
 * the previous site is removed afterwards. A `target` that is a real directory (the first time)
 * is moved aside just before the rename: for that one swap it is missing for an instant, never
 * half-built.
 */
export async function replaceDirectory(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(target));
  const name = path.basename(path.resolve(target));
  await mkdir(parent, { recursive: true });
  const release = await lock(path.join(parent, `.${name}.lock`), target);
  try {
    const stamp = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const site = `.${name}.site-${stamp}`;
    const siteDir = path.join(parent, site);
    await mkdir(siteDir);
    try {
      await fill(siteDir);
      await fsyncDir(siteDir);
    } catch (err) {
      await rm(siteDir, { recursive: true, force: true });
      throw err;
    }
    const link = path.join(parent, `.${name}.link-${stamp}`);
    await symlink(site, link);
    const existing = await lstat(target).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (existing && existing.isDirectory()) {
      const aside = path.join(parent, `.${name}.old-${stamp}`);
      await rename(target, aside);
      await rename(link, target);
      await rm(aside, { recursive: true, force: true });
    } else if (existing && !existing.isSymbolicLink()) {
      await unlink(link);
      throw new Error(`${target} exists and is not a directory`);
    } else {
      await rename(link, target);
    }
    await fsyncDir(parent);
    const current = await readlink(target);
    for (const entry of await readdir(parent)) {
      if (entry !== current && (entry.startsWith(`.${name}.site-`) || entry.startsWith(`.${name}.link-`) || entry.startsWith(`.${name}.old-`))) {
        await rm(path.join(parent, entry), { recursive: true, force: true });
      }
    }
  } finally {
    await release();
  }
}
