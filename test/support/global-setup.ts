/**
 * Runs once, in jest's own process, before any test. On Node older than 22 it
 * turns off the AWS SDK's seven-line Node version warning (bin/node-support.ts)
 * and prints one line instead. The workers, each test file's `process.env`,
 * and the local mode and CLI processes the tests start with it all inherit
 * the switch.
 */
import { replaceSdkNodeWarning } from '../../bin/node-support';

export default function globalSetup(): void {
  replaceSdkNodeWarning((line) => process.stderr.write(`${line}\n`));
}
