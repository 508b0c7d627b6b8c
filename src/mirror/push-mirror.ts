import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeSynced } from '../storage/durable-file';
import { replaceDirectory } from './replace-dir';
import { sitePaths } from './site-paths';

export class NotAMirrorError extends Error {
  constructor(readonly dir: string) {
    super(`${dir} is not a tocsin mirror (no ${sitePaths.index} or ${sitePaths.providerMetadata}): run "tocsin mirror build" first`);
    this.name = 'NotAMirrorError';
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const dest = path.join(to, entry.name);
    // A mirror holds only files and directories; anything else is not ours to copy.
    if (entry.isDirectory()) await copyTree(source, dest);
    else if (entry.isFile()) await writeSynced(dest, await readFile(source));
  }
  await fsyncDir(to);
}

/**
 * Copies a built mirror to a target directory, which readers then see switch from the old site
 * to the new whole (see replaceDirectory). A static host serving the target never serves a
 * half-copied site.
 */
export async function pushMirror(fromDir: string, target: string): Promise<void> {
  const source = await realpath(fromDir).catch(() => {
    throw new NotAMirrorError(fromDir);
  });
  for (const required of [sitePaths.index, sitePaths.providerMetadata]) {
    if (!(await stat(path.join(source, required)).then((s) => s.isFile(), () => false))) throw new NotAMirrorError(fromDir);
  }
  if (path.resolve(target) === path.resolve(fromDir) || (await realpath(target).catch(() => null)) === source) {
    throw new Error(`${target} is the mirror itself`);
  }
  await replaceDirectory(target, (dir) => copyTree(source, dir));
}
