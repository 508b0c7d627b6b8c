import type { MirrorConfig } from '../config';
import type { BroadcasterKeys } from '../pgp/broadcaster-keys';
import { toKeyTransfer, type KeyTransfer } from '../pgp/key-transfer';
import { createThreadRunner, threadScript } from '../util/thread-runner';
import type { BuildResult } from './build-mirror';

/**
 * How long one rebuild may take. A rebuild renders and signs the whole archive again, so it grows
 * with the archive (24 revisions of 0.8 MB take seconds); an hour leaves room for archives
 * hundreds of times larger while still freeing a thread that hangs. Past it the thread is
 * replaced, the rebuild is logged as failed, and the next publish or restart tries again.
 */
export const MIRROR_BUILD_DEADLINE_MS = 60 * 60_000;

export interface MirrorBuildThreadOptions {
  /** The mirror is signed with the current key as the API last read it. */
  keys: BroadcasterKeys;
  keysDir: string;
  dataDir: string;
  config: MirrorConfig;
  /** Default {@link MIRROR_BUILD_DEADLINE_MS}. */
  deadlineMs?: number;
}

/** One build as it crosses into the thread: plain data only. */
export interface MirrorBuildTask {
  key: KeyTransfer;
  keysDir: string;
  dataDir: string;
  config: MirrorConfig;
}

/** Builds the static mirror as `buildMirror` does, in a worker thread: a large archive cannot stall the caller's event loop. */
export interface MirrorBuildThread {
  build(): Promise<BuildResult>;
  close(): Promise<void>;
}

export function createMirrorBuildThread(options: MirrorBuildThreadOptions): MirrorBuildThread {
  const runner = createThreadRunner<MirrorBuildTask, BuildResult>({
    script: threadScript(__dirname, 'build-thread'),
    name: 'mirror-build',
    deadlineMs: options.deadlineMs ?? MIRROR_BUILD_DEADLINE_MS,
  });
  return {
    async build() {
      const { current } = await options.keys.snapshot();
      return runner.run({ key: toKeyTransfer(current), keysDir: options.keysDir, dataDir: options.dataDir, config: options.config });
    },
    close: () => runner.close(),
  };
}
