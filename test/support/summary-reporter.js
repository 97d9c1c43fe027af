/**
 * Prints one plain closing line, `N passed, N failed` (and `, N skipped`),
 * alone on the last line of the run, so CI can read the verdict.
 */
const fs = require('fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed`;
    const text = `\n${skipped ? `${line}, ${skipped} skipped` : line}\n`;
    // After jest's own summary, which other reporters print in this same hook.
    process.once('exit', () => fs.writeSync(1, text));
  }
}
module.exports = SummaryReporter;
