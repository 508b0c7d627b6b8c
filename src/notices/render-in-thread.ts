import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import type { ChannelName } from '../channels/channel-names';
import type { BroadcasterSigner } from '../pgp/broadcaster-keys';
import { toSignerTransfer, type SignerTransfer } from '../pgp/key-transfer';
import type { Audience } from '../storage/advisory-archive';
import { createThreadRunner, threadScript } from '../util/thread-runner';
import type { NoticeVariant } from './notice-variant';

/**
 * How long rendering one revision's notices may take: far beyond any real document (a 1 MB one
 * renders in well under a second), short enough that a document which hangs a renderer holds the
 * thread briefly. Past it the thread is replaced and the render fails; the advisory stays
 * archived and recovery renders it again later.
 */
export const RENDER_DEADLINE_MS = 30_000;

export interface NoticeRenderThreadOptions {
  /**
   * The keys to sign with, asked on this thread before every render (it throws when the current
   * key cannot sign), so that a rotation or revocation applies to the next notice.
   */
  signer: () => Promise<BroadcasterSigner>;
  publicUrl: string;
  templatesDir: string;
  /** Default {@link RENDER_DEADLINE_MS}. */
  deadlineMs?: number;
}

/** One render as it crosses into the thread: plain data only. */
export interface RenderTask {
  archived: ArchivedAdvisory;
  audience: Audience;
  variant: NoticeVariant;
  signer: SignerTransfer;
  publicUrl: string;
  templatesDir: string;
}

/** Renders notices as `renderNotices` does, in a worker thread: no document can stall the caller's event loop. */
export interface NoticeRenderThread {
  render(archived: ArchivedAdvisory, audience: Audience, variant?: NoticeVariant): Promise<Map<ChannelName, Notice>>;
  close(): Promise<void>;
}

export function createNoticeRenderThread(options: NoticeRenderThreadOptions): NoticeRenderThread {
  const runner = createThreadRunner<RenderTask, Map<ChannelName, Notice>>({
    script: threadScript(__dirname, 'render-thread'),
    name: 'notice-render',
    deadlineMs: options.deadlineMs ?? RENDER_DEADLINE_MS,
  });
  return {
    async render(archived, audience, variant = {}) {
      const signer = toSignerTransfer(await options.signer());
      return runner.run({ archived, audience, variant, signer, publicUrl: options.publicUrl, templatesDir: options.templatesDir });
    },
    close: () => runner.close(),
  };
}
