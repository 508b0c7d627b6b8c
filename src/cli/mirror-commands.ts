import path from 'node:path';
import type { Config } from '../config';
import { buildMirror } from '../mirror/build-mirror';
import { pushMirror } from '../mirror/push-mirror';
import { BroadcasterKeyMissingError, loadBroadcasterKey } from '../pgp/broadcaster-key';
import { readKeyHistory } from '../pgp/key-history';
import { createAdvisoryArchive } from '../storage/advisory-archive';
import { CliFailure } from './commands';

/** `tocsin mirror build [--out DIR]`: the static site, from the archive under TOCSIN_DATA_DIR. */
export async function mirrorBuild(config: Config, out: string | undefined): Promise<void> {
  const outDir = out ? path.resolve(out) : config.mirror.dir;
  let broadcaster;
  try {
    broadcaster = await loadBroadcasterKey(config.keysDir, config.keyPassphrase);
  } catch (err) {
    if (err instanceof BroadcasterKeyMissingError) throw new CliFailure(`${err.message}: the mirror's CSAF and OSV files are signed with it`, 2);
    throw err;
  }
  const keyHistory = await readKeyHistory(config.keysDir, broadcaster);
  const result = await buildMirror({ archive: createAdvisoryArchive(config.dataDir), broadcaster, keyHistory, config: config.mirror, outDir });
  for (const s of result.skipped) console.error(`skipped: ${s}`);
  console.log(`mirror: ${result.advisories} advisories (${result.revisions} revisions), ${result.files} files in ${result.outDir} (${result.ms} ms)`);
  // A site built by hand (or by cron) does not rebuild itself at an embargo's end, as the API's does.
  if (result.nextChange) console.log(`an embargo ends at ${result.nextChange}: build again then to publish what it held back`);
}

/** `tocsin mirror push TARGET... [--from DIR]`: copies the built site to each target directory. */
export async function mirrorPush(config: Config, targets: string[], from: string | undefined): Promise<void> {
  const source = from ? path.resolve(from) : config.mirror.dir;
  const failed: string[] = [];
  for (const target of targets) {
    try {
      await pushMirror(source, target);
      console.log(`pushed ${source} to ${path.resolve(target)}`);
    } catch (err) {
      failed.push(target);
      console.error(`push to ${target} failed: ${(err as Error).message}`);
    }
  }
  if (failed.length > 0) throw new CliFailure(`${failed.length} of ${targets.length} targets failed: ${failed.join(', ')}`);
}
