import { once } from 'node:events';
import type { Response } from 'express';
import { inPieces } from '../util/text-pieces';

/** What is written at once: large enough for few writes, small enough never to hold much. */
const PIECE = 64 * 1024;

/**
 * A JSON object whose one large field, an array, is written an item at a time: `before` and
 * `after` are the fields around it, in that order (the order res.json would write them in).
 */
export interface JsonStream {
  before: Record<string, unknown>;
  key: string;
  items: AsyncIterable<unknown> | Iterable<unknown>;
  after?: Record<string, unknown>;
}

/** The object's text up to the array's first item, and after its last. */
function frame(body: JsonStream): { head: string; tail: string } {
  const before = JSON.stringify(body.before).slice(0, -1);
  const after = body.after && Object.keys(body.after).length > 0 ? `,${JSON.stringify(body.after).slice(1)}` : '}';
  return { head: `${before}${before.length > 1 ? ',' : ''}${JSON.stringify(body.key)}:[`, tail: `]${after}` };
}

/**
 * Answers `body` (the text res.json would send for it) as its items are yielded, a piece at a
 * time, waiting whenever the client reads slower than the items come. A failure before the first
 * piece goes to express's error handler; one after the status is sent can only cut the answer
 * short (the client sees a torn body, never a whole wrong one).
 */
export async function streamJson(res: Response, status: number, headers: Record<string, string>, body: JsonStream): Promise<void> {
  const { head, tail } = frame(body);
  let started = false;
  const start = () => {
    res.status(status).set(headers).type('application/json');
    started = true;
  };
  const write = async (piece: string) => {
    if (!started) start();
    if (res.write(piece) || res.destroyed) return;
    // Whichever comes first; the other's listener is taken off, or every wait would leave one behind.
    const waiting = new AbortController();
    await Promise.race([once(res, 'drain', { signal: waiting.signal }), once(res, 'close', { signal: waiting.signal })]).finally(() => waiting.abort());
  };
  async function* texts(): AsyncGenerator<string> {
    yield head;
    let first = true;
    for await (const item of body.items) {
      if (res.destroyed) return; // the client went away: stop producing items
      yield `${first ? '' : ','}${JSON.stringify(item)}`;
      first = false;
    }
    yield tail;
  }
  try {
    // One piece behind, so that an answer that fits in one is sent whole, with its length.
    let held: string | undefined;
    for await (const piece of inPieces(texts(), PIECE)) {
      if (held !== undefined) await write(held);
      held = piece;
    }
    if (res.destroyed) return;
    if (!started) {
      start();
      res.end(held);
      return;
    }
    await write(held!);
    res.end();
  } catch (err) {
    if (!started) throw err;
    res.destroy(err as Error);
  }
}
