/**
 * Node 22 is recommended; Node 20 still runs everything here (synth, the
 * tools, local mode, the tests). On Node older than 22 the AWS SDK for
 * JavaScript prints a seven-line NodeVersionSupportWarning in every process
 * that makes a client (each test worker, local mode, its child processes).
 * The entry points turn it off with the SDK's own switch and say it once, in
 * one line of their own: the jest global setup, local mode's banner, and the
 * `keys` and `preflight` tools.
 */

/**
 * The SDK's switch (read by `emitWarningIfUnsupportedVersion` in
 * @aws-sdk/core, and by the SDK bundled in the aws-cdk CLI): exactly `true`
 * silences the warning.
 */
export const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export const RECOMMENDED_NODE_MAJOR = 22;

/** End of life of the older Node lines that still run the project (nodejs.org release schedule). */
const END_OF_LIFE: Readonly<Record<number, string>> = { 20: '2026-04-30' };

/** The major version of a `process.version` string (`v20.19.1` is 20); NaN when malformed. */
export function nodeMajor(version: string = process.version): number {
  const m = /^v?(\d+)\./.exec(version);
  return m ? Number(m[1]) : Number.NaN;
}

const older = (version: string) => nodeMajor(version) < RECOMMENDED_NODE_MAJOR;

/** The one line to print on Node older than 22; undefined on 22 or newer. */
export function nodeVersionNote(
  version: string = process.version,
  now: Date = new Date(),
): string | undefined {
  if (!older(version)) return undefined;
  const major = nodeMajor(version);
  const eol = END_OF_LIFE[major];
  const life =
    eol === undefined
      ? 'is past its end of life'
      : `${now.toISOString().slice(0, 10) < eol ? 'reaches' : 'reached'} end of life on ${eol}`;
  return (
    `note: Node ${major} ${life}; Node ${RECOMMENDED_NODE_MAJOR} is recommended ` +
    `(AWS SDK releases after the first week of January 2027 require it)`
  );
}

/**
 * On Node older than 22, turns the SDK's warning off for this process and the
 * processes it starts (they inherit its environment), unless the switch is
 * set already; on 22 or newer it changes nothing, so a later warning of the
 * SDK's still shows. Call it before the first client is made.
 */
export function quietSdkNodeWarning(
  env: NodeJS.ProcessEnv = process.env,
  version: string = process.version,
): void {
  if (older(version) && env[SDK_NODE_WARNING_SWITCH] === undefined) {
    env[SDK_NODE_WARNING_SWITCH] = 'true';
  }
}

/** At the start of an entry point: quiets the SDK's warning and hands the note, if any, to `write`. */
export function replaceSdkNodeWarning(write: (line: string) => void): void {
  quietSdkNodeWarning();
  const note = nodeVersionNote();
  if (note) write(note);
}
