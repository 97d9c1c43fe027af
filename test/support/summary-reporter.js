/**
 * Prints the number of `expect` calls the tests made, then one plain closing
 * line, `N passed, N failed` (and `, N skipped`), alone on the last line of
 * the run, so CI can read the verdict and a change to the suite can show it
 * dropped no assertion. The calls are counted in each test file by
 * test/support/count-expects.ts, which appends each file's total to a tally
 * in a directory this reporter creates for the run (its workers inherit the
 * variable naming it).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const TALLY_ENV = 'EPHEMERA_EXPECT_TALLY_DIR';

class SummaryReporter {
  constructor() {
    this.tallies = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-expects-'));
    process.env[TALLY_ENV] = this.tallies;
    process.once('exit', () => fs.rmSync(this.tallies, { recursive: true, force: true }));
  }

  /** A new run (watch mode): counts start again. */
  onRunStart() {
    for (const tally of fs.readdirSync(this.tallies)) fs.rmSync(path.join(this.tallies, tally));
  }

  /** Each test file's count of `expect` calls, by its path. */
  expectCallsByFile() {
    const byFile = {};
    for (const tally of fs.readdirSync(this.tallies)) {
      for (const line of fs.readFileSync(path.join(this.tallies, tally), 'utf8').split('\n')) {
        const [calls, file] = line.split('\t');
        if (file) byFile[file] = (byFile[file] ?? 0) + Number(calls);
      }
    }
    return byFile;
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed`;
    const verdict = skipped ? `${line}, ${skipped} skipped` : line;
    const byFile = this.expectCallsByFile();
    const calls = Object.values(byFile).reduce((a, b) => a + b, 0);
    if (process.env.EPHEMERA_EXPECT_COUNTS) {
      const sorted = Object.fromEntries(
        Object.entries(byFile).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      fs.writeFileSync(process.env.EPHEMERA_EXPECT_COUNTS, JSON.stringify(sorted, null, 2));
    }
    const text = `\n${calls} expect calls\n${verdict}\n`;
    // After jest's own summary, which other reporters print in this same hook.
    process.once('exit', () => fs.writeSync(1, text));
  }
}
module.exports = SummaryReporter;
