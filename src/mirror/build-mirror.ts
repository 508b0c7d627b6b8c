import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArchivedAdvisory } from '../advisory/record';
import { bulletinDocumentSchema, type BulletinDocument } from '../advisory/schema';
import type { MirrorConfig } from '../config';
import type { BroadcasterKey } from '../pgp/broadcaster-key';
import type { KeyHistory } from '../pgp/key-history';
import { signDetached, verifyDetached } from '../pgp/detached';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import { renderAtomFeed } from './atom-feed';
import { renderCsaf } from './csaf-document';
import { renderChangesCsv, renderIndexTxt, renderProviderMetadata, renderRolieFeed } from './csaf-provider';
import { renderIndexPage } from './index-page';
import type { MirrorEntry } from './mirror-entry';
import { renderOsv } from './osv-document';
import { replaceDirectory } from './replace-dir';
import { SiteFiles } from './site-files';
import { csafFileName, csafOwners, csafPath, sitePaths } from './site-paths';
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
}

export interface BuildResult {
  outDir: string;
  advisories: number;
  revisions: number;
  files: number;
  /** Advisories left out of the CSAF and OSV renderings, and why. */
  skipped: string[];
  ms: number;
}

/** Every archived advisory with all its revisions, in id order. */
async function loadEntries(archive: AdvisoryArchive, skipped: string[]): Promise<MirrorEntry[]> {
  const ids = [...new Set((await archive.records()).map((r) => r.id))].sort();
  const entries: MirrorEntry[] = [];
  for (const id of ids) {
    const revisions: MirrorEntry['revisions'] = [];
    for (const revision of await archive.revisions(id)) {
      const archived = await archive.get({ id, revision });
      if (!archived) continue;
      const doc = archivedDocument(archived.document);
      if (!doc) {
        skipped.push(`${id} revision ${revision}: its document no longer validates`);
        continue;
      }
      revisions.push({ archived, doc });
    }
    if (revisions.length > 0) entries.push({ id, revisions });
  }
  return entries;
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
  const entries = await loadEntries(options.archive, skipped);
  // Dates of an empty mirror: a fixed instant, so that rebuilding it changes nothing either.
  const epoch = broadcaster.privateKey.getCreationTime().toISOString();
  const files = new SiteFiles();
  const sign = (relative: string, bytes: Buffer) => signReusing(options.outDir, relative, bytes, broadcaster);

  // CSAF names its files by lowercased id: two ids differing only in case would share one.
  const owners = csafOwners(entries);
  const rendered: MirrorEntry[] = [];
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

  files.add(sitePaths.index, renderIndexPage(entries, config, history));
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
  };
}

/**
 * An archived document as the mirror reads it. Intake's refinements grow stricter (the text rule,
 * purls), and what was accepted under older rules was already sent: it stays published. Only a
 * document whose shape no longer fits (a field of the wrong type, a value outside its set) is
 * skipped, since the renderings could not read it.
 */
function archivedDocument(text: string): BulletinDocument | null {
  const json: unknown = JSON.parse(text);
  const parsed = bulletinDocumentSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  return parsed.error.issues.every((issue) => issue.code === 'custom') ? (json as BulletinDocument) : null;
}
