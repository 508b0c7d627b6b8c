/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // masto's CommonJS build requires change-case, which ships only ES modules: Node loads those
    // with require(), Jest's module loader does not, so Jest gets a CommonJS copy.
    '/node_modules/change-case/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'CommonJS', isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!change-case/)'],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
