import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, PRIVATE_FILE_MODE, readOptional, writeSynced } from '../storage/durable-file';

/** Under TOCSIN_DATA_DIR: the secret every drill acknowledgement token is derived from. */
export const DRILL_ACK_KEY_FILE = 'drill-ack.key';

/** A token is HMAC-SHA256 in base64url: 43 characters. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Derives each recipient's acknowledgement token for a drill, and finds whose a token is.
 *
 * Derived, not stored: a worker sending the drill computes the same token as the API checking
 * it, with no store between them and nothing to lose. The secret is 32 random bytes in the data
 * directory (0600), which the workers already share with the API for the receipts; whoever
 * reads it can acknowledge any drill, which is no more than whoever reads the archive can learn.
 */
export interface DrillAckKey {
  tokenFor(drillId: string, recipientId: string): string;
  /** Which of `candidates` `token` belongs to for this drill, comparing in constant time; null for none. */
  recipientOf(drillId: string, token: string, candidates: readonly string[]): string | null;
}

export function drillAckKey(secret: Buffer): DrillAckKey {
  const mac = (drillId: string, recipientId: string) => createHmac('sha256', secret).update(`tocsin drill ack v1\0${drillId}\0${recipientId}`).digest();
  return {
    tokenFor: (drillId, recipientId) => mac(drillId, recipientId).toString('base64url'),
    recipientOf(drillId, token, candidates) {
      if (!TOKEN.test(token)) return null;
      const given = Buffer.from(token, 'base64url');
      let found: string | null = null;
      // Every candidate is compared, a match or not: the time taken tells nothing of which.
      for (const id of candidates) if (timingSafeEqual(given, mac(drillId, id)) && found === null) found = id;
      return found;
    },
  };
}

/**
 * Reads the secret, making it on first use. Two processes starting at once make one between
 * them: each writes its own candidate aside and links it into place, which fails for the second,
 * who then reads the first's.
 */
export async function openDrillAckKey(dataDir: string): Promise<DrillAckKey> {
  const file = path.join(dataDir, DRILL_ACK_KEY_FILE);
  let text = await readOptional(file);
  if (text === null) {
    const tmp = path.join(dataDir, `.${DRILL_ACK_KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeSynced(tmp, randomBytes(32).toString('base64'), PRIVATE_FILE_MODE);
      await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await fsyncDir(dataDir);
    } finally {
      await rm(tmp, { force: true });
    }
    text = await readOptional(file);
  }
  const secret = Buffer.from((text ?? '').trim(), 'base64');
  if (secret.length < 32) throw new Error(`${file} holds no usable drill acknowledgement secret (32 bytes, base64)`);
  return drillAckKey(secret);
}

/** The link a drill notice carries for one recipient: `GET /v1/drills/:id/ack?token=...`. */
export function drillAckUrl(publicUrl: string, drillId: string, token: string): string {
  return `${publicUrl}/v1/drills/${encodeURIComponent(drillId)}/ack?token=${token}`;
}

/** What a channel is given to put a recipient's link beside a drill notice, outside its signature. */
export type DrillAckLink = (drillId: string, recipientId: string) => Promise<string>;

/**
 * The secret as the workers read it: the API makes it at start, and a worker never does. A worker
 * given another data directory than the API's would otherwise make a secret of its own and send
 * links the API refuses, silently; this way its drill sends fail, loudly, and are retried.
 */
export async function readDrillAckKey(dataDir: string): Promise<DrillAckKey> {
  const file = path.join(dataDir, DRILL_ACK_KEY_FILE);
  const text = await readOptional(file);
  if (text === null) throw new Error(`${file} does not exist: the API makes it at start, and workers must share the API's TOCSIN_DATA_DIR to put acknowledgement links in drill notices`);
  const secret = Buffer.from(text.trim(), 'base64');
  if (secret.length < 32) throw new Error(`${file} holds no usable drill acknowledgement secret (32 bytes, base64)`);
  return drillAckKey(secret);
}

/** A {@link DrillAckLink} that reads the key at its first drill, and again after a failure. */
export function createDrillAckLinks(dataDir: string, publicUrl: string): DrillAckLink {
  let key: Promise<DrillAckKey> | undefined;
  return async (drillId, recipientId) => {
    key ??= readDrillAckKey(dataDir).catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    return drillAckUrl(publicUrl, drillId, (await key).tokenFor(drillId, recipientId));
  };
}
