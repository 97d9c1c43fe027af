/**
 * What the integration tests read from the environment.
 *
 * integ-runner synthesizes each test app twice: for the snapshot (with its
 * fake `CDK_INTEG_*` environment, no AWS account) and for a deployment (with
 * the caller's environment). What depends on the sandbox account (the hosted
 * zone that names the load balancer) is read from `EPHEMERA_INTEG_*` only in
 * the second case; a snapshot holds fixed placeholders, so that a deployment
 * from any account (which integ-runner follows with a snapshot synth) leaves
 * the committed snapshot as it was.
 */

/** Environment variables a sandbox run reads (the ALB test needs the first two). */
export const ENV = {
  hostedZoneId: 'EPHEMERA_INTEG_HOSTED_ZONE_ID',
  hostedZoneName: 'EPHEMERA_INTEG_HOSTED_ZONE_NAME',
  domainName: 'EPHEMERA_INTEG_DOMAIN_NAME',
  certificateArn: 'EPHEMERA_INTEG_CERTIFICATE_ARN',
} as const;

/** What a snapshot holds instead of a sandbox account's values. */
export const SNAPSHOT_PLACEHOLDERS = {
  hostedZoneId: 'Z00000000000000000000',
  hostedZoneName: 'sandbox.example.com',
} as const;

/** The name the load balancer gets in the hosted zone unless EPHEMERA_INTEG_DOMAIN_NAME says otherwise. */
export const DEFAULT_HOST = 'ephemera-integ';

/**
 * Whether integ-runner is synthesizing for a snapshot: it sets its fake
 * `CDK_INTEG_ACCOUNT` then, and only then.
 */
export function isSnapshotSynth(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CDK_INTEG_ACCOUNT !== undefined;
}

/**
 * The load balancer's context (frontDoorKind alb): its DNS name in a public
 * hosted zone of the sandbox account (an alias record the stack writes), and
 * its certificate: `EPHEMERA_INTEG_CERTIFICATE_ARN` (in the test's region,
 * covering the name), else a new one the stack requests and validates in the
 * zone. The assertions call the API on that name, so TLS is verified as a
 * client would.
 */
export function albContext(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const snapshot = isSnapshotSynth(env);
  const zoneId = snapshot ? SNAPSHOT_PLACEHOLDERS.hostedZoneId : env[ENV.hostedZoneId];
  const zoneName = snapshot ? SNAPSHOT_PLACEHOLDERS.hostedZoneName : env[ENV.hostedZoneName];
  if (!zoneId || !zoneName) {
    throw new Error(
      `The ALB integration test needs ${ENV.hostedZoneId} and ${ENV.hostedZoneName}: a public Route 53 hosted zone of the sandbox account, for the load balancer's name and certificate (see docs/deploy.md, "Integration tests in a sandbox account")`,
    );
  }
  const domainName = (!snapshot && env[ENV.domainName]) || `${DEFAULT_HOST}.${zoneName}`;
  const certificateArn = (!snapshot && env[ENV.certificateArn]) || '';
  return { hostedZoneId: zoneId, hostedZoneName: zoneName, domainName, certificateArn };
}
