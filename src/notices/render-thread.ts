/**
 * The notice-render worker thread (see render-in-thread.ts): renders and signs a revision's
 * notices with the keys the API handed over, off the API's event loop.
 */
import { fromSignerTransfer } from '../pgp/key-transfer';
import { serveThread } from '../util/serve-thread';
import { renderNotices } from './render-notices';
import type { RenderTask } from './render-in-thread';

serveThread(async (task: RenderTask) =>
  renderNotices(task.archived, task.audience, { broadcaster: await fromSignerTransfer(task.signer), publicUrl: task.publicUrl, templatesDir: task.templatesDir, variant: task.variant }),
);
