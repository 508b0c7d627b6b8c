import path from 'node:path';
import { createDirOnce, ensureDir, fsyncDir, readOptional, visibleEntries } from './durable-file';

/** One recipient's confirmation that a drill reached a person. */
export interface DrillAckRecord {
  recipient: string;
  channel: 'email' | 'slack';
  /** RFC 3339. */
  at: string;
}

/**
 * Acknowledgements under TOCSIN_DATA_DIR/drill-acks/<drill id>/<recipient id>/, one directory
 * each, created whole or not at all: the first use of a link is recorded, a second finds it there.
 */
export interface DrillAckStore {
  /** Records `ack` unless the recipient already acknowledged this drill: then the earlier record. */
  record(drillId: string, ack: DrillAckRecord): Promise<{ first: boolean; ack: DrillAckRecord }>;
  get(drillId: string, recipientId: string): Promise<DrillAckRecord | null>;
  list(drillId: string): Promise<DrillAckRecord[]>;
}

const FILE = 'ack.json';

export function createDrillAckStore(dataDir: string): DrillAckStore {
  const root = path.join(dataDir, 'drill-acks');
  // Both ids are checked by their callers (an advisory id, a recipient id from the archive).
  const dirOf = (drillId: string) => path.join(root, drillId);

  async function get(drillId: string, recipientId: string): Promise<DrillAckRecord | null> {
    const text = await readOptional(path.join(dirOf(drillId), recipientId, FILE));
    return text === null ? null : (JSON.parse(text) as DrillAckRecord);
  }

  return {
    async record(drillId, ack) {
      const dir = dirOf(drillId);
      await ensureDir(root);
      await ensureDir(dir);
      const first = await createDirOnce(path.join(dir, ack.recipient), { [FILE]: `${JSON.stringify(ack)}\n` });
      if (first) {
        await fsyncDir(dir);
        return { first, ack };
      }
      return { first, ack: (await get(drillId, ack.recipient)) ?? ack };
    },
    get,
    async list(drillId) {
      const out: DrillAckRecord[] = [];
      for (const recipient of await visibleEntries(dirOf(drillId))) {
        const ack = await get(drillId, recipient);
        if (ack) out.push(ack);
      }
      return out.sort((a, b) => a.at.localeCompare(b.at) || a.recipient.localeCompare(b.recipient));
    },
  };
}
