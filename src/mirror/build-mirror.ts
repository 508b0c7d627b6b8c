import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdvisoryRecord, ArchivedAdvisory } from '../advisory/record';
import { advisoryDocumentSchema, type AdvisoryDocument } from '../advisory/schema';
import { tlpOf } from '../advisory/tlp';
import type { MirrorConfig } from '../config';
import type { BroadcasterKey } from '../pgp/broadcaster-key';
import type { KeyHistory } from '../pgp/key-history';
import { signDetached, verifyDetached } from '../pgp/detached';
import { publicView } from '../release/public-view';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import { renderAtomFeed } from './atom-feed';
import { renderCsaf } from './csaf-document';
import { renderChangesCsv, renderIndexTxt, renderProviderMetadata, renderRolieFeed } from './csaf-provider';
import { renderIndexPage } from './index-page';
import { nextPromise, type IncidentEntry, type IncidentUpdate } from './incident-entry';
import type { MirrorEntry, MirrorRetraction, RetractionEntry } from './mirror-entry';
import { renderOsv } from './osv-document';
import { replaceDirectory } from './replace-dir';
import { SiteFiles } from './site-files';
import { csafFileName, csafOwners, csafPath, sitePaths } from './site-paths';
import { renderStatusFeed } from './status-feed';
import { renderStatusJson } from './status-json';
import { renderStatusBanner, renderStatusPage } from './status-page';
import { openpgpBrowserBuild, renderVerifyPage } from './verify-page';

export interface BuildMirrorOptions {
  archive: AdvisoryArchive;
  /** Signs the CSAF and OSV files (tocsin is their provider); its public key is verify.html's current key. */
  broadcaster: BroadcasterKey;
  /** The earlier keys the mirror serves and verify.html knows (see readKeyHistory). */
  keyHistory: KeyHistory;
  config: MirrorConfig;
  /** Where the site goes; replaced whole, never half-written. */
  outDir: string;
  /** The instant whose public view the site shows (tocsin's own clock, UTC). Default: now. */
  now?: Date;
}

export interface BuildResult {
  outDir: string;
  advisories: number;
  revisions: number;
  files: number;
  /** Advisories left out of the CSAF and OSV renderings, and why. */
  skipped: string[];
  ms: number;
  /**
   * When an embargo ends and a rebuild would show more, or an incident's promised update becomes
   * overdue (RFC 3339, UTC); absent when none is ahead.
   */
  nextChange?: string;
}

/** What the site shows: the public advisories, the public retractions and the incidents, in id order. */
interface Loaded {
  entries: MirrorEntry[];
  retractions: RetractionEntry[];
  /** Status updates (always public): never advisories, so never in CSAF, OSV or feed.atom. */
  incidents: IncidentEntry[];
  /** When the public view next changes by the clock alone (an embargo ends). */
  nextChange: Date | undefined;
}

/**
 * Every advisory with the revisions the public may see at `now`, and every public retraction.
 * Nothing else is read into the site: what is not public there cannot leak from any rendering.
 */
async function loadEntries(archive: AdvisoryArchive, now: Date, skipped: string[]): Promise<Loaded> {
  const records = await archive.records();
  const view = publicView(records, now);
  const ids = [...new Set(records.map((r) => r.id))].sort();
  const load = async (record: AdvisoryRecord) => {
    const archived = await archive.get(record);
    if (!archived) return null;
    const doc = archivedDocument(archived.document);
    if (!doc) skipped.push(`${record.id} revision ${record.revision}: its document no longer validates`);
    // The public view hides drills already; should one get here, it is still never shown.
    else if (doc.kind === 'drill') return null;
    // The view was decided from the record; the document is what would be shown. Should they
    // ever disagree about who may read it, the stricter wins: not shown.
    else if ((doc.kind === 'advisory' || doc.kind === 'mitigation') && (tlpOf(doc) !== tlpOf(archived.record) || doc.embargo_until !== archived.record.embargo_until)) {
      skipped.push(`${record.id} revision ${record.revision}: its record and document disagree on tlp or embargo_until`);
      return null;
    } else if (doc.kind === 'status' && (tlpOf(archived.record) !== 'CLEAR' || archived.record.embargo_until !== undefined)) {
      skipped.push(`${record.id} revision ${record.revision}: its record and document disagree on tlp or embargo_until`);
      return null;
    }
    return doc ? { archived, doc } : null;
  };
  const entries: MirrorEntry[] = [];
  const retractions: RetractionEntry[] = [];
  const incidents: IncidentEntry[] = [];
  for (const id of ids) {
    const revisions: MirrorEntry['revisions'] = [];
    const withdrawals: MirrorRetraction[] = [];
    const updates: IncidentUpdate[] = [];
    for (const record of view.revisions(id)) {
      const loaded = await load(record);
      if (!loaded) continue;
      if (loaded.doc.kind === 'retraction') withdrawals.push({ archived: loaded.archived, doc: loaded.doc });
      else if (loaded.doc.kind === 'status') updates.push({ archived: loaded.archived, doc: loaded.doc });
      else revisions.push({ archived: loaded.archived, doc: loaded.doc });
    }
    if (withdrawals.length > 0) retractions.push({ id, retracts: withdrawals[0]!.doc.retracts, revisions: withdrawals });
    if (updates.length > 0) incidents.push({ id, updates });
    if (revisions.length === 0) continue;
    const withdrawal = view.withdrawal(id);
    const retraction = withdrawal ? await load(withdrawal) : null;
    entries.push({ id, revisions, ...(retraction?.doc.kind === 'retraction' ? { withdrawn: { archived: retraction.archived, doc: retraction.doc } } : {}) });
  }
  const promise = nextPromise(incidents, now);
  const nextChange = [view.nextChange, promise].filter((d): d is Date => d !== undefined).sort((a, b) => a.getTime() - b.getTime())[0];
  return { entries, retractions, incidents, nextChange };
}

/**
 * Signs `bytes` for the file at `relative`, reusing the signature the site already has when the
 * file is unchanged and that signature still verifies with the current key. openpgp.js salts
 * every signature (a defence against fault attacks), so re-signing would change the bytes of
 * every .asc on every rebuild; reusing keeps a rebuild of an unchanged archive byte-identical.
 */
async function signReusing(previousSite: string, relative: string, bytes: Buffer, key: BroadcasterKey): Promise<string> {
  const previous = path.join(previousSite, ...relative.split('/'));
  const [oldBytes, oldSignature] = await Promise.all([readFile(previous).catch(() => null), readFile(`${previous}.asc`, 'utf8').catch(() => null)]);
  if (oldBytes && oldSignature && oldBytes.equals(bytes)) {
    const check = await verifyDetached(bytes, [oldSignature], [key.publicKey]).catch(() => null);
    if (check?.valid.some((v) => v.fingerprint === key.fingerprint)) return oldSignature;
  }
  return signDetached(bytes, key.privateKey);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function addRevision(files: SiteFiles, archived: ArchivedAdvisory): void {
  const { id, revision } = archived.record;
  const document = sitePaths.document(id, revision);
  files.addWithHashes(document, archived.document);
  files.add(`${document}.asc`, archived.broadcasterSignature);
  for (const [i, signature] of archived.publisherSignatures.entries()) files.add(sitePaths.publisherSignature(id, revision, i + 1), signature);
}

/** Builds the whole static mirror from the archive and swaps it into `outDir`. */
export async function buildMirror(options: BuildMirrorOptions): Promise<BuildResult> {
  const started = Date.now();
  const { broadcaster, config } = options;
  const skipped: string[] = [];
  const now = options.now ?? new Date();
  const { entries, retractions, incidents, nextChange } = await loadEntries(options.archive, now, skipped);
  // Dates of an empty mirror: a fixed instant, so that rebuilding it changes nothing either.
  const epoch = broadcaster.privateKey.getCreationTime().toISOString();
  const files = new SiteFiles();
  const sign = (relative: string, bytes: Buffer) => signReusing(options.outDir, relative, bytes, broadcaster);

  // CSAF names its files by lowercased id: two ids differing only in case would share one.
  const owners = csafOwners(entries);
  const rendered: MirrorEntry[] = [];
  for (const retraction of retractions) for (const { archived } of retraction.revisions) addRevision(files, archived);
  for (const incident of incidents) for (const { archived } of incident.updates) addRevision(files, archived);
  for (const entry of entries) {
    for (const { archived } of entry.revisions) addRevision(files, archived);
    const owner = owners.get(csafFileName(entry.id));
    if (owner !== entry.id) {
      skipped.push(`${entry.id}: its CSAF file name is already taken by ${owner ?? 'another advisory'}, accepted earlier`);
      continue;
    }
    rendered.push(entry);
    const csaf = Buffer.from(json(renderCsaf(entry, config)));
    files.addWithHashes(csafPath(entry), csaf);
    files.add(`${csafPath(entry)}.asc`, await sign(csafPath(entry), csaf));
    const osv = Buffer.from(json(renderOsv(entry, config)));
    files.addWithHashes(sitePaths.osv(entry.id), osv);
    files.add(`${sitePaths.osv(entry.id)}.asc`, await sign(sitePaths.osv(entry.id), osv));
  }

  const metadata = renderProviderMetadata(rendered, config, broadcaster.fingerprint, epoch);
  const metadataBytes = Buffer.from(json(metadata));
  files.add(sitePaths.providerMetadata, metadataBytes);
  files.add(`${sitePaths.providerMetadata}.asc`, await sign(sitePaths.providerMetadata, metadataBytes));
  files.add(`${sitePaths.csafDistribution}/index.txt`, renderIndexTxt(rendered));
  files.add(`${sitePaths.csafDistribution}/changes.csv`, renderChangesCsv(rendered));
  files.add(sitePaths.rolieFeed, json(renderRolieFeed(rendered, config, epoch)));
  files.add(sitePaths.csafKey(broadcaster.fingerprint), broadcaster.armoredPublicKey);
  files.add(sitePaths.broadcasterKey, broadcaster.armoredPublicKey);
  const history = options.keyHistory;
  for (const earlier of [...history.retired, ...history.revoked]) {
    if (earlier.fingerprint !== broadcaster.fingerprint) files.add(sitePaths.earlierKey(earlier.fingerprint), earlier.publicKey.armor());
  }

  files.add(sitePaths.index, renderIndexPage(entries, retractions, config, history, renderStatusBanner(incidents, now)));
  files.add(sitePaths.status, renderStatusPage(incidents, config, broadcaster.fingerprint, now));
  files.add(sitePaths.statusJson, json(renderStatusJson(incidents, config, now)));
  files.add(sitePaths.statusAtom, renderStatusFeed(incidents, config, broadcaster.fingerprint, epoch));
  files.add(sitePaths.atom, renderAtomFeed(entries, config, broadcaster.fingerprint, epoch));
  files.add(sitePaths.verify, await renderVerifyPage(history, config.publisher.name));
  files.add('licenses/openpgp.js.txt', await readFile(openpgpBrowserBuild().license));

  await replaceDirectory(options.outDir, (dir) => files.writeTo(dir, options.outDir));
  return {
    outDir: options.outDir,
    advisories: entries.length,
    revisions: entries.reduce((n, e) => n + e.revisions.length, 0),
    files: files.size,
    skipped,
    ms: Date.now() - started,
    ...(nextChange ? { nextChange: nextChange.toISOString() } : {}),
  };
}

/**
 * An archived document as the mirror reads it. Intake's refinements grow stricter (the text rule,
 * purls), and what was accepted under older rules was already sent: it stays published. Only a
 * document whose shape no longer fits (a field of the wrong type, a value outside its set) is
 * skipped, since the renderings could not read it.
 */
function archivedDocument(text: string): AdvisoryDocument | null {
  const json: unknown = JSON.parse(text);
  const parsed = advisoryDocumentSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  return parsed.error.issues.every((issue) => issue.code === 'custom') ? (json as AdvisoryDocument) : null;
}
