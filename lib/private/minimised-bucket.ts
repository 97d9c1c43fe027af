import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Why a bucket has no server access logs, and why it keeps no versions or replicas. */
export interface MinimisedBucketReasons {
  readonly noAccessLogs: string;
  readonly noVersions: string;
}

export interface MinimisedBucketProps {
  /** SSE-KMS under this key (with a bucket key); without it, SSE-S3. */
  readonly encryptionKey?: kms.IKey;
  /** Every object expires this long after it is written; incomplete uploads after 1 day. */
  readonly expiration: Duration;
  /** Id of the lifecycle rule. */
  readonly lifecycleRuleId: string;
  readonly removalPolicy: RemovalPolicy;
  /** The reasons given to reviewers for what the bucket deliberately lacks. */
  readonly reasons: MinimisedBucketReasons;
}

/**
 * A bucket whose objects must disappear when they expire: all public access
 * blocked, TLS 1.2+ only, owner-enforced objects, a lifecycle expiration, and
 * object events to EventBridge; no versioning, replication, object lock or
 * server access logs (each would keep a copy or a trace past the object's
 * life), with the rule packs' findings for those acknowledged on the bucket.
 */
export function newMinimisedBucket(
  scope: Construct,
  id: string,
  props: MinimisedBucketProps,
): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    ...(props.encryptionKey
      ? {
          encryption: s3.BucketEncryption.KMS,
          encryptionKey: props.encryptionKey,
          bucketKeyEnabled: true,
        }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: false,
    lifecycleRules: [
      {
        id: props.lifecycleRuleId,
        enabled: true,
        expiration: props.expiration,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy: props.removalPolicy,
  });
  // The native CloudFormation property; CDK's `eventBridgeEnabled` adds a
  // Lambda-backed custom resource for the same thing. Events carry keys only.
  (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
    eventBridgeConfiguration: { eventBridgeEnabled: true },
  };
  acknowledgeMinimisedBucket(bucket, props.reasons);
  return bucket;
}

/**
 * A bucket whose objects must disappear when they expire: no versioning, no
 * replication, no object lock, and no server access logs (each would keep a
 * copy or a trace past the object's life). Acknowledges the rules of every
 * pack that ask for them.
 */
function acknowledgeMinimisedBucket(bucket: Construct, r: MinimisedBucketReasons): void {
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
