/**
 * Runs the longest test files first, so the run ends when its longest file
 * does, not when a slow file picked up last does. Jest orders by the
 * durations it cached in an earlier run on this machine, and by file size
 * without them (a fresh clone, CI); this sequencer also knows the durations
 * committed in test/support/test-durations.json (seconds, on 2 cores with 2
 * workers), and takes the larger of the two for each file. Files in neither
 * follow, largest first. A listed file that no longer exists is ignored; a
 * new slow file only runs late until it is listed (or cached).
 */
const fs = require('fs');
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;

const DURATIONS = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'test-durations.json'), 'utf8'),
).seconds;

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const known = (test) => {
      const relative = path.relative(test.context.config.rootDir, test.path).split(path.sep);
      const seconds = DURATIONS[relative.join('/')];
      return typeof seconds === 'number' ? seconds * 1000 : 0;
    };
    const size = (test) => test.context.hasteFS.getSize(test.path) ?? 0;
    const estimate = new Map(
      tests.map((test) => [test, Math.max(this.time(test) ?? 0, known(test))]),
    );
    for (const test of tests) test.duration = estimate.get(test) || undefined;
    return [...tests].sort((a, b) => estimate.get(b) - estimate.get(a) || size(b) - size(a));
  }
}
module.exports = SlowFirstSequencer;

/**
 * `node test/support/slow-first-sequencer.js results.json` (the output of
 * `npx jest --json --outputFile=results.json`) writes the durations of the
 * files that took 5 s or more into test-durations.json.
 */
/** `test/...` of a result's file, also when the results come from another checkout. */
function relativeToRoot(root, file) {
  const relative = path.relative(root, file);
  const inRoot = relative.startsWith('..')
    ? file.slice(file.indexOf(`${path.sep}test${path.sep}`) + 1)
    : relative;
  return inRoot.split(path.sep).join('/');
}

if (require.main === module) {
  const root = path.join(__dirname, '..', '..');
  const results = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const seconds = Object.fromEntries(
    results.testResults
      .map((r) => [relativeToRoot(root, r.name), (r.endTime - r.startTime) / 1000])
      .filter(([, s]) => s >= 5)
      .sort(([, a], [, b]) => b - a)
      .map(([file, s]) => [file, Math.round(s)]),
  );
  const file = path.join(__dirname, 'test-durations.json');
  const { note } = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, `${JSON.stringify({ note, seconds }, null, 2)}\n`);
}
