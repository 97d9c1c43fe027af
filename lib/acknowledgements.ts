import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

/**
 * Acknowledgements that recur on several constructs of the same kind. Each is
 * applied to the one construct it concerns, never stack-wide.
 */

/** Rule id of the Control Tower rule that wants log retention of 365 days or more. */
export const CT_LOG_RETENTION =
  'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check';

/** Ephemera keeps metadata-only logs for a bounded, configurable period (P4). */
export function acknowledgeShortLogRetention(logGroup: IConstruct): void {
  Validations.of(logGroup).acknowledge({
    id: CT_LOG_RETENTION,
    reason:
      'Data minimisation: logs hold metadata only and are kept for logRetentionDays (default 30, configurable up to 10 years); a 365-day floor would keep pseudonymous usage data longer than the service needs.',
  });
}

/** CDK writes a role's least-privilege statements as an inline policy of that role. */
export function acknowledgeInlinePolicy(role: IConstruct, what: string): void {
  const reason = `The inline policy of ${what} holds least-privilege statements for this role alone; an inline policy cannot be attached to another principal by mistake.`;
  Validations.of(role).acknowledge(
    { id: 'HIPAA.Security-IAMNoInlinePolicy', reason },
    { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason },
    { id: 'PCI.DSS.321-IAMNoInlinePolicy', reason },
  );
}

/** Why a bucket has no server access logs, and why it keeps no versions or replicas. */
export interface MinimisedBucketReasons {
  readonly noAccessLogs: string;
  readonly noVersions: string;
}

/**
 * A bucket whose objects must disappear when they expire: no versioning, no
 * replication, no object lock, and no server access logs (each would keep a
 * copy or a trace past the object's life). Acknowledges the rules of every
 * pack that ask for them.
 */
export function acknowledgeMinimisedBucket(bucket: IConstruct, r: MinimisedBucketReasons): void {
  const packs = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'];
  Validations.of(bucket).acknowledge(
    { id: 'AwsSolutions-S1', reason: r.noAccessLogs },
    ...packs.map((p) => ({ id: `${p}-S3BucketLoggingEnabled`, reason: r.noAccessLogs })),
    ...packs.map((p) => ({ id: `${p}-S3BucketVersioningEnabled`, reason: r.noVersions })),
    ...packs.map((p) => ({ id: `${p}-S3BucketReplicationEnabled`, reason: r.noVersions })),
    { id: 'cdk-validator-cfnguard::s3_bucket_logging_enabled_check', reason: r.noAccessLogs },
    { id: 'cdk-validator-cfnguard::s3_bucket_versioning_enabled_check', reason: r.noVersions },
    {
      id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      reason: `${r.noVersions} Object lock would forbid the deletion that retention requires.`,
    },
  );
}

/**
 * Sends the bucket's object events to EventBridge through the native
 * CloudFormation property (CDK's `eventBridgeEnabled` adds a Lambda-backed
 * custom resource for the same thing). Events carry keys, never content.
 */
export function enableEventBridgeNotifications(bucket: s3.Bucket): void {
  (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
    eventBridgeConfiguration: { eventBridgeEnabled: true },
  };
}
