import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Every file under a site, by path relative to its root ('/' separated), sorted. */
export async function siteFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), rel);
      else out.push(rel);
    }
  }
  // A trailing separator resolves the site's own symlink, as a web server's root would.
  await walk(`${root}${path.sep}`, '');
  return out.sort();
}

/** The SHA-256 of every file, for comparing two sites byte for byte. */
export async function siteDigest(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of await siteFiles(root)) {
    out[rel] = createHash('sha256').update(await readFile(path.join(root, rel))).digest('hex');
  }
  return out;
}
