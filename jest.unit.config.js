/**
 * The fast tier (`npm run test:unit`): pure functions only. No build, no Redis, no gpg or sq, no
 * browser: no global setup either, since that is what checks for and starts those. `npm test`
 * runs these too, with everything else.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config file
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
