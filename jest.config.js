/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault-injection suite runs on its own: `npm run test:faults` (jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // masto's CommonJS build requires change-case, which ships only ES modules: Node loads those
    // with require(), Jest's module loader does not, so Jest gets a CommonJS copy.
    // The BSI's CSAF validator (a test dependency) ships only ES modules too, for the same reason.
    '/node_modules/(change-case|@secvisogram/csaf-validator-lib)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'CommonJS', isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!change-case/|@secvisogram/csaf-validator-lib/)'],
  testTimeout: 60000,
  // Two suites at a time, even on two cores (Jest's default there is one): most wait on child
  // processes, sockets and gpg rather than compute, and one at a time took 15 of CI's 16 minutes.
  maxWorkers: 2,
  // Checks (or installs) redis-server, gpg, sq and Chromium, starts a Redis for the run when none
  // answers on 127.0.0.1:6379 (the teardown stops it), and builds once for the end-to-end tests.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
