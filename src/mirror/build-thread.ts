/**
 * The mirror-build worker thread (see build-in-thread.ts): reads the archive and the key history
 * itself and builds the whole site, off the API's event loop.
 */
import { readKeyHistory } from '../pgp/key-history';
import { fromKeyTransfer } from '../pgp/key-transfer';
import { createAdvisoryArchive } from '../storage/advisory-archive';
import { serveThread } from '../util/serve-thread';
import { buildMirror } from './build-mirror';
import type { MirrorBuildTask } from './build-in-thread';

serveThread(async (task: MirrorBuildTask) => {
  const broadcaster = await fromKeyTransfer(task.key);
  return buildMirror({
    archive: createAdvisoryArchive(task.dataDir),
    broadcaster,
    keyHistory: await readKeyHistory(task.keysDir, broadcaster),
    config: task.config,
    outDir: task.config.dir,
  });
});
