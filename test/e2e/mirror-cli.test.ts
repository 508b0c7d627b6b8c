import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { gpgVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { mirrorValidators } from '../support/mirror-schemas';
import { publishSampleArchive } from '../support/mirror-publish';
import { siteDigest, siteFiles } from '../support/site-tree';
import { useTocsin } from '../support/use-tocsin';

/** `tocsin mirror build` and `tocsin mirror push`, run as the built CLI against a real archive. */
describe('tocsin mirror build and push', () => {
  const lead = useGpgPublisher('lead@example.org');
  const second = useGpgPublisher('second@example.org');
  // The API's own rebuild is off: this test is about the CLI building from the same archive.
  const tocsin = useTocsin(() => ({ publishers: [lead.armoredPublicKey, second.armoredPublicKey], workers: false, env: { TOCSIN_MIRROR_AUTO: '0' } }));
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await publishSampleArchive(tocsin, lead, second);
    dir = await mkdtemp(path.join(tmpdir(), 'mirror-cli-'));
    env = {
      TOCSIN_DATA_DIR: tocsin.config.dataDir,
      TOCSIN_KEYS_DIR: tocsin.config.keysDir,
      TOCSIN_MIRROR_URL: 'https://advisories.example.org',
    };
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds the site with --out, then pushes it to two directories that end up identical to it', async () => {
    const out = path.join(dir, 'site');
    const build = await runCli(['mirror', 'build', '--out', out], env);
    expect(build).toMatchObject({ code: 0 });
    expect(build.stdout).toMatch(/^mirror: 3 advisories \(4 revisions\), \d+ files in /);
    expect(await lstat(path.join(tocsin.config.dataDir, 'mirror')).catch(() => null)).toBeNull();

    const files = await siteFiles(out);
    const validators = mirrorValidators();
    for (const f of files.filter((f) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(f))) {
      expect(validators.csaf(JSON.parse(await readFile(path.join(out, f), 'utf8')))).toBe(true);
      const verdict = await gpgVerify(tocsin.api.broadcaster.armoredPublicKey, await readFile(path.join(out, f)), await readFile(path.join(out, `${f}.asc`), 'utf8'));
      expect(verdict).toMatchObject({ ok: true, fingerprint: tocsin.api.broadcaster.fingerprint });
    }

    // One target is served already (a real directory with an old file), the other is new.
    const served = path.join(dir, 'www', 'served');
    await mkdir(served, { recursive: true });
    await writeFile(path.join(served, 'stale.html'), 'old');
    const fresh = path.join(dir, 'www', 'fresh');
    const push = await runCli(['mirror', 'push', served, fresh, '--from', out], env);
    expect(push).toMatchObject({ code: 0 });
    expect(push.stdout).toContain(`pushed ${out} to ${served}`);
    const expected = await siteDigest(out);
    expect(await siteDigest(served)).toEqual(expected);
    expect(await siteDigest(fresh)).toEqual(expected);

    // Building again and pushing again changes nothing a reader could notice.
    expect(await runCli(['mirror', 'build', '--out', out], env)).toMatchObject({ code: 0 });
    expect(await siteDigest(out)).toEqual(expected);
    expect(await runCli(['mirror', 'push', served, '--from', out], env)).toMatchObject({ code: 0 });
    expect(await siteDigest(served)).toEqual(expected);
  });

  it('builds into TOCSIN_DATA_DIR/mirror by default and pushes from there', async () => {
    expect(await runCli(['mirror', 'build'], env)).toMatchObject({ code: 0 });
    const target = path.join(dir, 'default-target');
    expect(await runCli(['mirror', 'push', target], env)).toMatchObject({ code: 0 });
    expect(await siteDigest(target)).toEqual(await siteDigest(path.join(tocsin.config.dataDir, 'mirror')));
  });

  it('reports a failed target, still pushes the others, and exits 1', async () => {
    const out = path.join(dir, 'site');
    const blocked = path.join(dir, 'not-a-dir');
    await writeFile(blocked, 'a file where a directory should be');
    const good = path.join(dir, 'www', 'after-failure');
    const push = await runCli(['mirror', 'push', blocked, good, '--from', out], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain(`push to ${blocked} failed`);
    expect(await siteDigest(good)).toEqual(await siteDigest(out));
    expect(await readFile(blocked, 'utf8')).toBe('a file where a directory should be');
  });

  it('refuses to push something that is not a built mirror', async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const push = await runCli(['mirror', 'push', path.join(dir, 'www', 'never'), '--from', empty], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain('is not a tocsin mirror');
    expect(await lstat(path.join(dir, 'www', 'never')).catch(() => null)).toBeNull();
  });

  it('says how to get a broadcaster key when there is none (exit 2)', async () => {
    const build = await runCli(['mirror', 'build', '--out', path.join(dir, 'nokey')], { ...env, TOCSIN_KEYS_DIR: path.join(dir, 'no-keys') });
    expect(build.code).toBe(2);
    expect(build.stderr).toContain('tocsin keys init');
  });
});
