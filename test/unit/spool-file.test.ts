import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSpool, removeSpools } from '../../src/storage/spool-file';

describe('spool file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'spool-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is private while it exists, reads back what was written as often as asked, and is gone after remove', async () => {
    const spoolDir = path.join(dir, 'import-spool');
    const spool = await createSpool<{ n: number; secret: string }>(spoolDir);
    // More than a write stream buffers, so that writes wait for it.
    for (let n = 0; n < 3_000; n++) await spool.write({ n, secret: `s${n}`.padEnd(64, '.') });
    await spool.end();
    const [name] = await readdir(spoolDir);
    expect((await stat(spoolDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(spoolDir, name!))).mode & 0o777).toBe(0o600);
    for (let pass = 0; pass < 2; pass++) {
      let expected = 0;
      for await (const entry of spool.read()) expect(entry.n).toBe(expected++);
      expect(expected).toBe(3_000);
    }
    await spool.remove();
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('removes what a stopped process left, and only that', async () => {
    const spool = await createSpool<{ n: number }>(dir);
    await spool.write({ n: 1 });
    await spool.end();
    await writeFile(path.join(dir, 'keep.txt'), 'not a spool');
    await removeSpools(dir);
    expect(await readdir(dir)).toEqual(['keep.txt']);
    await removeSpools(path.join(dir, 'missing'));
  });
});
