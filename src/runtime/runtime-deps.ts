import type { ViewBudgets } from '../http/view-budget';
import { systemResolveHost, type ResolveHost } from '../net/resolve-host';
import type { MailRetry } from '../subscriptions/subscriptions';

/**
 * What the running service takes from its host besides its config, handed to `startApi` and
 * `startWorkers` (never read from the environment nor set on a module) so that one stand-in, such
 * as a test's scripted DNS, reaches every place that uses it.
 */
export interface RuntimeDeps {
  /**
   * Resolves recipient host names: for the enrolment check in the API and for every connection
   * the webhook, Slack and Mastodon channels open. Default: the system resolver.
   */
  resolveHost: ResolveHost;
  /**
   * The time, for what expires by the wall clock (a subscription's confirmation link). Default:
   * Date.now; a test moves it forward instead of waiting 48 hours.
   */
  now?: () => number;
  /**
   * How a subscription mail that no relay took is sent again. Default: 5 attempts, 30 s before
   * the second, each wait doubling; a test waits milliseconds instead.
   */
  subscriptionMailRetry?: MailRetry;
  /**
   * How many recipients' states the API's delivery lists hold at once (see http/view-budget.ts).
   * Default: 100,000 for the public's reads and as many for the admin's, 10 s of waiting for room.
   */
  viewBudgets?: ViewBudgets;
}

/** The real thing: names resolved by the operating system. */
export const systemRuntimeDeps: RuntimeDeps = { resolveHost: systemResolveHost };
