import type { AdvisoryRecord } from '../advisory/record';
import type { HoldStatus } from '../publish/advisory-intake';
import { callApi, type ApiTarget } from './api-client';
import { printJson, table } from './cli-output';

/** An accepted revision as `GET /v1/advisories/:id` answers it. */
type AdvisoryAnswer = AdvisoryRecord & { revisions: number[]; document: string; publisher_signatures: string[]; broadcaster_signature: string };

/** `tocsin advisories list`: the latest revision of each advisory, newest first (public read). */
export async function advisoriesList(target: ApiTarget, options: { json?: boolean }): Promise<void> {
  const answer = (await callApi(target, 'GET', '/v1/advisories')) as { advisories: AdvisoryRecord[] };
  if (options.json) {
    printJson(answer);
    return;
  }
  if (answer.advisories.length === 0) {
    console.log('no advisories');
    return;
  }
  const rows = [['ID', 'REV', 'SEVERITY', 'KIND', 'ACCEPTED', 'TITLE']];
  for (const a of answer.advisories) rows.push([a.id, String(a.revision), a.severity, a.kind, a.accepted_at, a.title]);
  console.log(table(rows));
}

/** `tocsin advisories show ID [--revision N]`: the record, then the signed document as it was signed. */
export async function advisoriesShow(target: ApiTarget, id: string, options: { revision?: number; json?: boolean }): Promise<void> {
  const query = options.revision !== undefined ? `?revision=${options.revision}` : '';
  const answer = (await callApi(target, 'GET', `/v1/advisories/${encodeURIComponent(id)}${query}`)) as AdvisoryAnswer | HoldStatus;
  if (options.json) {
    printJson(answer);
    return;
  }
  if (!('document' in answer)) {
    // Held: too few publishers signed it for tocsin to show its text as an advisory.
    console.log(`${answer.id} revision ${answer.revision}: ${answer.status}, ${answer.missing} more signature(s) needed of ${answer.required}, expires ${answer.expires_at}`);
    return;
  }
  console.log(
    table([
      ['id:', answer.id],
      ['revision:', `${answer.revision} (revisions: ${answer.revisions.join(', ')})`],
      ['title:', answer.title],
      ['severity:', answer.severity],
      ['kind:', answer.kind],
      ['accepted:', answer.accepted_at],
      ['sha256:', answer.sha256],
      ['publishers:', answer.publishers.join(', ')],
      ['signed by:', answer.broadcaster_fingerprint],
    ]),
  );
  console.log('');
  console.log(answer.document);
}
