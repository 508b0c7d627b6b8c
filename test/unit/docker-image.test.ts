import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** Container paths mounted into the services built from our Dockerfile (`build: .`). */
function mountsOfOurImage(): string[] {
  const mounts: string[] = [];
  let service = { built: false, mounts: [] as string[] };
  const done = () => {
    if (service.built) mounts.push(...service.mounts);
  };
  for (const line of compose.split('\n')) {
    if (/^ {2}[\w-]+:\s*$/.test(line)) {
      done();
      service = { built: false, mounts: [] };
    } else if (/^ {4}build:\s*\.\s*$/.test(line)) service.built = true;
    else {
      const volume = /^ {6}- [^:\s]+:(\/[^:\s"]+)/.exec(line);
      if (volume) service.mounts.push(volume[1]!);
    }
  }
  done();
  return mounts;
}

describe('the image and docker-compose.yml', () => {
  it('creates every directory compose mounts into our image, owned by the user it runs as, before switching to it', () => {
    const mounts = mountsOfOurImage();
    expect(mounts).toEqual(expect.arrayContaining(['/var/lib/tocsin', '/etc/tocsin/keys']));
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER (\S+)$/m.exec(finalStage)?.[1];
    expect(user).toBe('node');
    const beforeUser = finalStage.slice(0, finalStage.indexOf('\nUSER '));
    const runs = [...beforeUser.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]!);
    for (const dir of mounts) {
      expect({ dir, created: runs.some((r) => new RegExp(`mkdir -p [^&]*${dir}(\\s|$)`).test(r)) }).toEqual({ dir, created: true });
      expect({ dir, owned: runs.some((r) => new RegExp(`chown ${user}:${user} [^&]*${dir}(\\s|$)`).test(r)) }).toEqual({ dir, owned: true });
    }
  });
});
