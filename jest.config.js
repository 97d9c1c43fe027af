const os = require('os');

/**
 * Four projects, run together by one `npm test` with a worker per core, and one more
 * (`npx jest --selectProjects unit` runs one): the synth and compliance
 * tests (test/app, test/constructs, test/rules, test/integ), the installed
 * package (test/package), local mode end to end (test/local and the smoke
 * CLI against it), and every other test file (unit and handler tests, the
 * CLIs). `unit` takes whatever the others do not, so a new folder of tests
 * runs without a change here. The longest files start first
 * (test/support/slow-first-sequencer.js), and a synth several files inspect
 * is done once per run (test/support/shared-synth.ts).
 */
const GROUPS = {
  synth: ['test/app/', 'test/constructs/', 'test/rules/', 'test/integ/'],
  package: ['test/package/'],
  local: ['test/local/', 'test/bin/smoke.test.ts'],
};
/** A folder's test files, or one file, as a testMatch glob. */
const glob = (p) => `<rootDir>/${p.endsWith('/') ? `${p}**/*.test.ts` : p}`;
/** The same as a testPathIgnorePatterns regular expression. */
const pattern = (p) =>
  `<rootDir>/${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${p.endsWith('/') ? '' : '$'}`;

/** What every project shares. */
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.ts'],
  // Node < 22: one line about the Node version instead of the AWS SDK's warning
  // in every worker (run once: jest runs each distinct global setup once).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Counts expect calls for the summary reporter.
  setupFilesAfterEnv: ['<rootDir>/test/support/count-expects.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [glob('test/')],
      testPathIgnorePatterns: ['/node_modules/', ...Object.values(GROUPS).flat().map(pattern)],
    },
    ...Object.entries(GROUPS).map(([displayName, paths]) => ({
      ...common,
      displayName,
      testMatch: paths.map(glob),
    })),
  ],
  // One worker more than the cores: the local end-to-end tests spend much of
  // their time waiting (on servers, TTLs, timers), which another worker fills.
  // On 2 cores a clean run took 335 s with 2 workers, 252 s with 3, 284 s with 4.
  maxWorkers: (os.availableParallelism ? os.availableParallelism() : os.cpus().length) + 1,
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  collectCoverageFrom: ['lib/**/*.ts', 'lambda/**/*.ts', '!**/*.d.ts'],
};
