/**
 * Counts `expect` calls, so a change to the suite (a split file, a shared
 * synth) can show it dropped no assertion. After each test it adds the test's
 * `expect.getState().assertionCalls` (jest resets it after the test ends;
 * calls made in `beforeAll` count towards the first test), and after the
 * file it appends the file's total (and its path) to a per-worker tally the
 * summary reporter (test/support/summary-reporter.js) adds up. With
 * EPHEMERA_EXPECT_COUNTS=<file>, the reporter also writes the count of each
 * file there, to compare two runs file by file.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The directory of the tallies, set by the summary reporter for the run. */
export const EXPECT_TALLY_ENV = 'EPHEMERA_EXPECT_TALLY_DIR';

let calls = 0;

afterEach(() => {
  calls += expect.getState().assertionCalls;
});

afterAll(() => {
  const dir = process.env[EXPECT_TALLY_ENV];
  if (!dir || !fs.existsSync(dir)) return;
  const file = path.relative(path.join(__dirname, '..', '..'), expect.getState().testPath ?? '?');
  fs.appendFileSync(path.join(dir, `${process.pid}.tally`), `${calls}\t${file}\n`);
});
