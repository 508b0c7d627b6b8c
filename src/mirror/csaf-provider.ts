import type { MirrorConfig } from '../config';
import { csafRelativePath, sitePaths, absolute, csafPath } from './site-paths';
import { firstOf, latestOf, newestFirst, updatedAt, type MirrorEntry } from './mirror-entry';

const CSAF_SCHEMA = 'https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json';

/**
 * provider-metadata.json for a CSAF trusted provider: both distribution forms (year folders with
 * index.txt and changes.csv, and a ROLIE feed), and tocsin's key, which signs every document.
 * `last_updated` is the newest acceptance, not the build time, so rebuilding changes nothing.
 */
export function renderProviderMetadata(entries: MirrorEntry[], config: MirrorConfig, fingerprint: string, epoch: string): Record<string, unknown> {
  const newest = [...entries].sort(newestFirst)[0];
  return {
    canonical_url: absolute(config.baseUrl, sitePaths.providerMetadata),
    distributions: [
      {
        directory_url: `${absolute(config.baseUrl, sitePaths.csafDistribution)}/`,
        rolie: {
          feeds: [{ summary: 'All TLP:CLEAR (TLP:WHITE) advisories broadcast by tocsin.', tlp_label: 'WHITE', url: absolute(config.baseUrl, sitePaths.rolieFeed) }],
        },
      },
    ],
    last_updated: newest ? updatedAt(newest) : epoch,
    list_on_CSAF_aggregators: true,
    metadata_version: '2.0',
    mirror_on_CSAF_aggregators: true,
    public_openpgp_keys: [{ fingerprint, url: absolute(config.baseUrl, sitePaths.csafKey(fingerprint)) }],
    publisher: { ...config.publisher },
    role: 'csaf_trusted_provider',
  };
}

/** index.txt: every CSAF file, relative to the distribution folder, in path order. */
export function renderIndexTxt(entries: MirrorEntry[]): string {
  return entries.map(csafRelativePath).sort().map((p) => `${p}\n`).join('');
}

/** changes.csv: path and current release date of every CSAF file, most recent change first. */
export function renderChangesCsv(entries: MirrorEntry[]): string {
  return [...entries]
    .sort(newestFirst)
    .map((e) => `"${csafRelativePath(e)}","${updatedAt(e)}"\n`)
    .join('');
}

/** The ROLIE feed (RFC 8322, in CSAF's JSON form), newest entry first. */
export function renderRolieFeed(entries: MirrorEntry[], config: MirrorConfig, epoch: string): Record<string, unknown> {
  const sorted = [...entries].sort(newestFirst);
  return {
    feed: {
      id: 'tocsin-csaf-feed-tlp-white',
      title: `${config.publisher.name} CSAF feed (TLP:WHITE)`,
      link: [{ rel: 'self', href: absolute(config.baseUrl, sitePaths.rolieFeed) }],
      category: [{ scheme: 'urn:ietf:params:rolie:category:information-type', term: 'csaf' }],
      updated: sorted[0] ? updatedAt(sorted[0]) : epoch,
      entry: sorted.map((e) => {
        const url = absolute(config.baseUrl, csafPath(e));
        const { doc } = latestOf(e);
        return {
          id: e.id,
          title: e.withdrawn ? `WITHDRAWN: ${doc.title}` : doc.title,
          link: [
            { rel: 'self', href: url },
            { rel: 'hash', href: `${url}.sha256` },
            { rel: 'hash', href: `${url}.sha512` },
            { rel: 'signature', href: `${url}.asc` },
          ],
          published: firstOf(e).archived.record.accepted_at,
          updated: updatedAt(e),
          summary: { content: e.withdrawn ? `Withdrawn by its publishers: ${e.withdrawn.doc.summary}` : doc.summary },
          content: { type: 'application/json', src: url },
          format: { schema: CSAF_SCHEMA, version: '2.0' },
        };
      }),
    },
  };
}
