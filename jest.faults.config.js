/**
 * The fault-injection suite (`npm run test:faults`): its own config, so `npm test` does not run it
 * and it runs alone, with the machine to itself, where its timing means something.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config file
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
  // One suite at a time: each kills and restarts processes, and its timing must be its own.
  maxWorkers: 1,
};
