import { once } from 'node:events';
import type { Response } from 'express';
import { publicView, type Recipient } from '../recipients/recipient';

/** What is written at once: large enough for few writes, small enough never to hold much. */
const PIECE = 64 * 1024;

/**
 * Answers `{"recipients":[...]}` (each as publicView shows it: the body res.json would send) as the
 * directory yields them, a piece at a time, waiting whenever the client reads slower than the
 * directory is read. A failure before the first piece goes to express's error handler; one after
 * the status is sent can only cut the answer short (the client sees a torn body, never a whole
 * wrong one).
 */
export async function streamRecipients(recipients: AsyncIterable<Recipient>, res: Response): Promise<void> {
  let piece = '{"recipients":[';
  let first = true;
  let started = false;
  const flush = async () => {
    if (!started) {
      res.status(200).type('application/json');
      started = true;
    }
    const more = res.write(piece);
    piece = '';
    if (more || res.destroyed) return;
    // Whichever comes first; the other's listener is taken off, or every wait would leave one behind.
    const waiting = new AbortController();
    await Promise.race([once(res, 'drain', { signal: waiting.signal }), once(res, 'close', { signal: waiting.signal })]).finally(() => waiting.abort());
  };
  try {
    for await (const r of recipients) {
      if (res.destroyed) return; // the client went away: stop reading the directory
      piece += `${first ? '' : ','}${JSON.stringify(publicView(r))}`;
      first = false;
      if (piece.length >= PIECE) await flush();
    }
    piece += ']}';
    if (!started) {
      res.status(200).type('application/json').end(piece);
      return;
    }
    await flush();
    res.end();
  } catch (err) {
    if (!started) throw err;
    res.destroy(err as Error);
  }
}
