import { routingChanges } from '../../src/cli/recipient-commands';
import { CliFailure } from '../../src/cli/commands';
import { applyRoutingChanges, routingChangeProblem, updateRecipientSchema, type Recipient } from '../../src/recipients/recipient';

const webhook: Recipient = { id: 'rcpt_1', type: 'webhook', url: 'https://partner.example/hook', secret: 'whsec_x', created_at: '2026-01-01T00:00:00.000Z' };
const mastodon: Recipient = { id: 'rcpt_2', type: 'mastodon', instance_url: 'https://mastodon.example', access_token: 'token-0123456789', created_at: '2026-01-01T00:00:00.000Z' };

/** What a PATCH (and `recipients update`) does to a recipient's groups, tlp and filter. */
describe('routing changes', () => {
  it('replaces each field given whole, keeps the rest, and removes the filter on null', () => {
    const routed = applyRoutingChanges(webhook, { groups: ['distros', 'cert'], tlp: 'AMBER', filter: { products: ['acme'], min_severity: 'high' } });
    expect(routed).toEqual({ ...webhook, groups: ['distros', 'cert'], tlp: 'AMBER', filter: { products: ['acme'], min_severity: 'high' } });
    expect(applyRoutingChanges(routed, { filter: { kinds: ['mitigation'] } })).toEqual({ ...routed, filter: { kinds: ['mitigation'] } });
    expect(applyRoutingChanges(routed, { groups: [] })).toEqual({ ...routed, groups: [] });
    const cleared = applyRoutingChanges(routed, { filter: null });
    expect(cleared).not.toHaveProperty('filter');
    expect(cleared).toMatchObject({ groups: ['distros', 'cert'], tlp: 'AMBER', secret: 'whsec_x' });
    // Pure: the input is left as it was (the store applies a logged change to what is current).
    expect(routed.filter).toEqual({ products: ['acme'], min_severity: 'high' });
  });

  it('refuses an empty change and a Mastodon tlp above CLEAR, naming the field', () => {
    expect(routingChangeProblem(webhook, {})).toEqual({ field: '(body)', message: expect.stringContaining('nothing to change') });
    expect(routingChangeProblem(webhook, updateRecipientSchema.parse({ tlp: 'AMBER+STRICT' }))).toBeNull();
    expect(routingChangeProblem(mastodon, { tlp: 'GREEN' })).toEqual({ field: 'tlp', message: expect.stringContaining('public') });
    expect(routingChangeProblem(mastodon, { tlp: 'CLEAR', groups: ['public'] })).toBeNull();
  });

  it('turns `recipients update` options into the PATCH body: only what they name', () => {
    expect(routingChanges({ tlp: 'GREEN', groups: true, filter: true })).toEqual({ tlp: 'GREEN' });
    expect(routingChanges({ group: ['a', 'b'], product: ['acme'], kind: ['advisory'], groups: true, filter: true })).toEqual({ groups: ['a', 'b'], filter: { products: ['acme'], kinds: ['advisory'] } });
    expect(routingChanges({ minSeverity: 'high', groups: true, filter: true })).toEqual({ filter: { min_severity: 'high' } });
    expect(routingChanges({ groups: false, filter: false })).toEqual({ groups: [], filter: null });
    // Bad usage: exit 2, before anything is sent.
    const exitOf = (options: Parameters<typeof routingChanges>[0]) => {
      try {
        routingChanges(options);
        return 0;
      } catch (err) {
        return err instanceof CliFailure ? err.exitCode : -1;
      }
    };
    for (const usage of [{ groups: true, filter: true }, { group: ['a'], groups: false }, { product: ['acme'], filter: false }]) expect({ usage, exit: exitOf(usage) }).toEqual({ usage, exit: 2 });
  });
});
