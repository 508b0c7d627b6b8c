import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAppendLog } from '../storage/append-log';
import { enrolledBy, nextEntry, verifyChain, type AuditAction, type AuditEntry } from './audit-chain';

/** Where the audit log lives under TOCSIN_DATA_DIR. */
export const auditLogPath = (dataDir: string) => path.join(dataDir, 'audit.jsonl');

/**
 * The append-only, hash-chained record of every change to the enrolled publishers. Only the API
 * process writes it, one entry at a time (callers serialise), each fsynced before `record` resolves.
 */
export interface AuditLog {
  record(actor: string, action: AuditAction, fingerprint: string): Promise<AuditEntry>;
  /** The last entry, or null while the log is empty. */
  head(): AuditEntry | null;
  /** Fingerprints enrolled according to the log. */
  enrolled(): Set<string>;
  close(): Promise<void>;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export async function openAuditLog(dataDir: string, log: Logger): Promise<AuditLog> {
  const file = auditLogPath(dataDir);
  const verdict = verifyChain(await readText(file));
  let entries = verdict.entries;
  if (!verdict.ok) {
    // Tocsin keeps running (it is the emergency channel) but says so loudly; new entries chain
    // onto the last line that still parses, so `tocsin audit verify` keeps naming the break.
    log.error({ file, line: verdict.line, problem: verdict.problem }, 'THE PUBLISHER AUDIT LOG DOES NOT VERIFY: run "tocsin audit verify"');
    entries = [...entries, ...salvage(await readText(file), verdict.line)];
  }
  const appender = createAppendLog<AuditEntry>(file);
  return {
    async record(actor, action, fingerprint) {
      const entry = nextEntry(entries.at(-1) ?? null, { at: new Date().toISOString(), actor, action, fingerprint });
      await appender.append(entry);
      entries = [...entries, entry];
      return entry;
    },
    head: () => entries.at(-1) ?? null,
    enrolled: () => enrolledBy(entries),
    close: () => appender.close(),
  };
}

/** The lines from a broken one on that still parse as entries (a torn last line never does). */
function salvage(text: string, fromLine: number): AuditEntry[] {
  const lines = text.split('\n');
  lines.pop();
  const out: AuditEntry[] = [];
  for (const line of lines.slice(fromLine - 1)) {
    try {
      const e = JSON.parse(line) as AuditEntry;
      if (typeof e.seq === 'number' && typeof e.hash === 'string' && typeof e.fingerprint === 'string') out.push(e);
    } catch {
      // unreadable: skipped, and still named by `tocsin audit verify`
    }
  }
  return out;
}
