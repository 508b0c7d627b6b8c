/**
 * What a process started with TOCSIN_BENCH_RECEIPTS_OFF says at start. The switch exists so that
 * `npm run bench -- --receipts off` can measure what durable receipts cost; an installation that
 * ran with it would re-send delivered advisories after a Redis data loss.
 */
export const RECEIPTS_OFF_WARNING =
  '*** TOCSIN_BENCH_RECEIPTS_OFF IS SET: DELIVERY RECEIPTS ARE NOT WRITTEN. This switch is for "npm run bench" only: ' +
  'after a Redis data loss every delivered advisory would be sent again, and /metrics counts no deliveries. Unset it. ***';
