import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { advisoryDocumentSchema, type IncidentState } from '../advisory/schema';
import { fieldProblems } from '../util/zod-fields';
import { CliFailure, signFile } from './commands';
import { publishCommand } from './publish-command';

const run = promisify(execFile);

export interface StatusPostOptions {
  incident: string;
  state: IncidentState;
  title: string;
  summary: string;
  affectedServices: string[];
  nextUpdateBy?: string | undefined;
  /** Default: one higher than the latest public revision of the incident, or 1. */
  revision?: number | undefined;
  /** An armored secret key file (signed by tocsin's own code), or else a gpg key id (signed by gpg). */
  sign: string;
  /** Where the composed document is kept. Default `<incident>-<revision>.json`. */
  out?: string | undefined;
  url: string;
  timeoutSeconds: number;
  passphrase?: string | undefined;
  lineEveryMs: number;
}

/** The latest revision of `incident` the server shows anyone, or 0 when it knows none. */
async function latestRevision(url: string, incident: string, timeoutSeconds: number): Promise<number> {
  const endpoint = new URL(`/v1/advisories/${encodeURIComponent(incident)}`, url);
  const response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  if (response.status === 404) return 0;
  if (!response.ok) throw new CliFailure(`${endpoint.href} answered ${response.status}: give --revision to say which update this is`);
  return Number(((await response.json()) as { revision?: unknown }).revision) || 0;
}

/** gpg's own detached armored signature, made with the key `keyId` from the user's keyring. */
async function gpgSign(file: string, keyId: string): Promise<string> {
  const out = `${file}.asc`;
  try {
    await run('gpg', ['--batch', '--yes', '--local-user', keyId, '--armor', '--detach-sign', '--output', out, file]);
  } catch (err) {
    throw new CliFailure(`gpg could not sign with ${keyId}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`, 2);
  }
  return out;
}

/**
 * `tocsin status post`: composes an incident's status update, checks it as the server will,
 * signs it and publishes it, in one command, since it is typed during an outage. The document is
 * kept beside its signature (`<incident>-<revision>.json` and `.asc`), so that a second publisher
 * can sign the same bytes when the two-person rule asks for one.
 */
export async function statusPost(o: StatusPostOptions): Promise<void> {
  const revision = o.revision ?? (await latestRevision(o.url, o.incident, o.timeoutSeconds)) + 1;
  const doc = {
    id: o.incident,
    revision,
    kind: 'status',
    incident: o.incident,
    state: o.state,
    title: o.title,
    summary: o.summary,
    // Whole seconds: what a person would type, and what they will read back.
    published: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    ...(o.affectedServices.length > 0 ? { affected_services: o.affectedServices } : {}),
    ...(o.nextUpdateBy !== undefined ? { next_update_by: o.nextUpdateBy } : {}),
  };
  const parsed = advisoryDocumentSchema.safeParse(doc);
  if (!parsed.success) {
    throw new CliFailure(fieldProblems(parsed.error, 'document').map((p) => `${p.field}: ${p.message}`).join('\n'), 2);
  }
  const file = o.out ?? `${o.incident}-${revision}.json`;
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  const signature = existsSync(o.sign) ? await signFile(file, o.sign, o.passphrase) : await gpgSign(file, o.sign);
  await publishCommand(file, { sig: [signature], url: o.url, timeoutSeconds: o.timeoutSeconds, wait: false, json: false, lineEveryMs: o.lineEveryMs });
}
