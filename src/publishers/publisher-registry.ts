import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import type { Logger } from 'pino';
import { loadPublisherKeyring, unusableReason, type PublisherKeyring } from '../pgp/publisher-keyring';
import { fsyncDir, writeFileDurable } from '../storage/durable-file';
import type { AuditEntry } from './audit-chain';
import { openAuditLog, type AuditLog } from './audit-log';
import { readEnrolableKey, refuseSharedKeyIds } from './enrolment-checks';
import { PublisherAlreadyEnrolledError, PublisherNotEnrolledError } from './publisher-errors';

/** The actor named in the audit log for key files that appeared or vanished without the API. */
export const FILESYSTEM_ACTOR = 'filesystem';

/** An enrolled publisher as the admin API shows it. */
export interface PublisherView {
  fingerprint: string;
  user_ids: string[];
  created_at: string;
  expires_at: string | null;
  /** `valid`, or why the key may not publish now (`revoked`, `expired on ...`). */
  status: string;
  /** Files under keys/publishers/ that hold the key. */
  files: string[];
}

export interface PublisherRegistry {
  /** The keyring in force now; enrolment and removal replace it at once. */
  keyring(): PublisherKeyring;
  list(): Promise<PublisherView[]>;
  enrol(armoredKey: string, actor: string): Promise<{ publisher: PublisherView; audit: AuditEntry }>;
  remove(fingerprint: string, actor: string): Promise<AuditEntry>;
  /** Re-reads the directory; key files added or deleted by hand are recorded as by `filesystem`. */
  reload(): Promise<void>;
  auditHead(): AuditEntry | null;
  close(): Promise<void>;
}

async function view(key: openpgp.PublicKey, files: readonly string[]): Promise<PublisherView> {
  const expires = await key.getExpirationTime();
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    user_ids: key.getUserIDs(),
    created_at: key.getCreationTime().toISOString(),
    expires_at: expires instanceof Date ? expires.toISOString() : null,
    status: (await unusableReason(key)) ?? 'valid',
    files: [...files],
  };
}

/**
 * The enrolled publishers: key files under `dir` (the truth the keyring is read from) and the
 * audit log that records every change to them. Every change runs under one lock, and the log is
 * written on the safe side of a crash: before a key file appears, after one disappears.
 */
export async function openPublisherRegistry(options: { dir: string; dataDir: string; log: Logger }): Promise<PublisherRegistry> {
  const { dir, log } = options;
  const audit: AuditLog = await openAuditLog(options.dataDir, log);
  let current: PublisherKeyring = await loadPublisherKeyring(dir);
  let lock: Promise<unknown> = Promise.resolve();

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  }

  async function reloadLocked(): Promise<void> {
    const next = await loadPublisherKeyring(dir);
    const inLog = audit.enrolled();
    for (const fingerprint of next.files.keys()) {
      if (inLog.has(fingerprint)) continue;
      const entry = await audit.record(FILESYSTEM_ACTOR, 'enrol', fingerprint);
      log.warn({ fingerprint, files: next.files.get(fingerprint), seq: entry.seq }, 'publisher key appeared in the keys directory without the admin API: recorded as enrolled by "filesystem"');
    }
    for (const fingerprint of inLog) {
      if (next.files.has(fingerprint)) continue;
      const entry = await audit.record(FILESYSTEM_ACTOR, 'remove', fingerprint);
      log.warn({ fingerprint, seq: entry.seq }, 'publisher key vanished from the keys directory without the admin API: recorded as removed by "filesystem"');
    }
    current = next;
  }

  await exclusive(reloadLocked);

  return {
    keyring: () => current,

    async list() {
      return Promise.all(current.keys.map((k) => view(k, current.files.get(k.getFingerprint().toUpperCase()) ?? [])));
    },

    async enrol(armoredKey, actor) {
      const key = await readEnrolableKey(armoredKey);
      const fingerprint = key.getFingerprint().toUpperCase();
      return exclusive(async () => {
        if (current.files.has(fingerprint)) throw new PublisherAlreadyEnrolledError(fingerprint);
        refuseSharedKeyIds(key, current.keys);
        const entry = await audit.record(actor, 'enrol', fingerprint);
        try {
          await writeFileDurable(path.join(dir, `${fingerprint}.asc`), key.armor());
        } finally {
          // On failure this records the key as gone again, so the log never claims a key that is not there.
          await reloadLocked();
        }
        log.info({ fingerprint, actor, seq: entry.seq }, 'publisher enrolled');
        return { publisher: await view(key, current.files.get(fingerprint) ?? []), audit: entry };
      });
    },

    async remove(fingerprint, actor) {
      return exclusive(async () => {
        const files = current.files.get(fingerprint);
        if (!files) throw new PublisherNotEnrolledError(fingerprint);
        for (const file of files) {
          const full = path.join(dir, file);
          const others = (await openpgp.readKeys({ armoredKeys: await readFile(full, 'utf8') })).filter((k) => k.getFingerprint().toUpperCase() !== fingerprint);
          if (others.length === 0) await rm(full, { force: true });
          else await writeFileDurable(full, others.map((k) => k.armor()).join('\n'));
        }
        await fsyncDir(dir);
        const entry = await audit.record(actor, 'remove', fingerprint);
        await reloadLocked();
        log.info({ fingerprint, actor, seq: entry.seq }, 'publisher removed');
        return entry;
      });
    },

    reload: () => exclusive(reloadLocked),
    auditHead: () => audit.head(),
    close: () => audit.close(),
  };
}
