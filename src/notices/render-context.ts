import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import type { BroadcasterSigner } from '../pgp/broadcaster-keys';
import type { NoticeVariant } from './notice-variant';

/**
 * What rendering needs: tocsin's keys as they sign now (each channel's notice is signed once), and
 * the templates. Every renderer takes it and render-notices.ts imports every renderer, so it lives
 * below both.
 */
export interface RenderContext {
  broadcaster: BroadcasterSigner;
  publicUrl: string;
  templatesDir: string;
  /** Embargo, update: what this rendering of the revision says beyond the revision itself (none: an ordinary notice). */
  variant?: NoticeVariant;
}

/** Renders and signs one channel's notice for one revision: the same bytes go to every recipient. */
export type NoticeRenderer = (archived: ArchivedAdvisory, ctx: RenderContext) => Promise<Notice>;
