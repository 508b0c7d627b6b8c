/**
 * `npm run bench [-- --mode webhook|email|import] [options]`: picks the benchmark and hands it the rest
 * of the options. Each benchmark runs on import.
 */
const argv = process.argv;
const at = argv.indexOf('--mode');
const mode = at >= 0 ? argv[at + 1] : 'webhook';
if (at >= 0) argv.splice(at, 2);

if (mode === 'webhook') void import('./webhook-bench');
else if (mode === 'email') void import('./email-bench');
else if (mode === 'import') void import('./import-bench');
else {
  console.error(`--mode must be webhook, email or import (got ${String(mode)})`);
  process.exit(2);
}
