import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { TRUST_STORE_OBJECT_KEY } from './core/config-objects';
import { viaService } from './private/kms-statements';

export interface ConfigBucketProps {
  /** Key of the objects (the project's metadata key). */
  readonly encryptionKey: kms.IKey;

  /**
   * Whether an admin may switch outbound calls to the trust store's
   * `insecure_trust_all` mode (no certificate verification). Every function
   * given this bucket's environment follows it: where it is off, a store in
   * that mode is read as `uploaded_and_public`. While the mode is on, every
   * response carries a warning header and the watchdog's alarm fires.
   * @default false
   */
  readonly allowInsecureTrustAll?: boolean;

  /**
   * What happens to the bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What a function needs of the config bucket to follow the outbound trust
 * store: its environment and a read grant (the admin API also writes). A
 * `ConfigBucket`, or one in another stack imported with
 * `ConfigBucket.fromConfigBucketAttributes`.
 */
export interface IConfigBucket extends IConstruct {
  /** The bucket holding the trust store object. */
  readonly bucket: s3.IBucket;
  /** The key its objects are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /** Whether the trust store's `insecure_trust_all` mode may be used. */
  readonly allowInsecureTrustAll: boolean;
  /** The environment a function needs to read the trust store (with `grantTrustRead`). */
  handlerEnvironment(): Record<string, string>;
  /** Read the trust store object (and decrypt it through S3). */
  grantTrustRead(grantee: iam.IGrantable): iam.Grant;
  /** Read and replace the trust store object (the admin API). */
  grantTrustReadWrite(grantee: iam.IGrantable): iam.Grant;
}

/** A config bucket defined elsewhere (another stack, another app). */
export interface ConfigBucketAttributes {
  /** Name of the bucket. */
  readonly bucketName: string;
  /** ARN of the key its objects are encrypted with. */
  readonly encryptionKeyArn: string;
  /**
   * Whether the bucket's deployment allows `insecure_trust_all`; must match
   * it, since every function reading the store is told this.
   * @default false
   */
  readonly allowInsecureTrustAll?: boolean;
}

/** The environment and grants, shared by a bucket defined here and an imported one. */
abstract class ConfigBucketBase extends Construct implements IConfigBucket {
  public abstract readonly bucket: s3.IBucket;
  public abstract readonly encryptionKey: kms.IKey;
  public abstract readonly allowInsecureTrustAll: boolean;

  public handlerEnvironment(): Record<string, string> {
    return {
      CONFIG_BUCKET_NAME: this.bucket.bucketName,
      ALLOW_INSECURE_TRUST_ALL: String(this.allowInsecureTrustAll),
    };
  }

  public grantTrustRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantTrust(grantee, ['s3:GetObject'], ['kms:Decrypt']);
  }

  public grantTrustReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantTrust(
      grantee,
      ['s3:GetObject', 's3:PutObject'],
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    );
  }

  private grantTrust(grantee: iam.IGrantable, actions: string[], keyActions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.bucket.arnForObjects(TRUST_STORE_OBJECT_KEY)],
    });
    return grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: keyActions,
        resourceArns: [this.encryptionKey.keyArn],
        conditions: viaService(this, 's3'),
      }),
    );
  }
}

/**
 * The config bucket: settings the admin API changes at run time and the
 * handlers read, today the outbound trust store (P10): one JSON object with
 * the trust mode and the uploaded PEM bundle (a bundle can exceed DynamoDB's
 * 400 KB item limit). SSE-KMS under the metadata key, TLS 1.2+ only, all
 * public access blocked, no versions: an object is kept until it is replaced,
 * and a replaced bundle is gone.
 */
export class ConfigBucket extends ConfigBucketBase {
  /**
   * Refers to a config bucket defined elsewhere, for functions in another
   * stack. Grants add to the grantee's policy only.
   */
  public static fromConfigBucketAttributes(
    scope: Construct,
    id: string,
    attrs: ConfigBucketAttributes,
  ): IConfigBucket {
    class Import extends ConfigBucketBase {
      public readonly bucket = s3.Bucket.fromBucketName(this, 'Bucket', attrs.bucketName);
      public readonly encryptionKey = kms.Key.fromKeyArn(this, 'Key', attrs.encryptionKeyArn);
      public readonly allowInsecureTrustAll = attrs.allowInsecureTrustAll ?? false;
    }
    return new Import(scope, id);
  }

  public readonly bucket: s3.Bucket;
  public readonly encryptionKey: kms.IKey;
  /** Whether the trust store's `insecure_trust_all` mode may be used. */
  public readonly allowInsecureTrustAll: boolean;

  constructor(scope: Construct, id: string, props: ConfigBucketProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.allowInsecureTrustAll = props.allowInsecureTrustAll ?? false;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Changes to the trust store reach EventBridge (keys only, never content):
    // the native property, not CDK's custom-resource-backed `eventBridgeEnabled`.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    const noAccessLogs =
      'The bucket holds one object, the outbound trust store (public certificates and a mode), changed only through the authenticated admin API, whose every call writes a metadata-only admin log line; S3 server access logs would add an unencrypted second trail.';
    const noVersions =
      'A replaced trust bundle must stop being trusted and stop existing: versions or replicas would keep every certificate ever uploaded. The object is small and rewritten whole by the admin API.';
    const packs = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'];
    Validations.of(this.bucket).acknowledge(
      { id: 'AwsSolutions-S1', reason: noAccessLogs },
      ...packs.map((p) => ({ id: `${p}-S3BucketLoggingEnabled`, reason: noAccessLogs })),
      ...packs.map((p) => ({ id: `${p}-S3BucketVersioningEnabled`, reason: noVersions })),
      ...packs.map((p) => ({ id: `${p}-S3BucketReplicationEnabled`, reason: noVersions })),
      { id: 'cdk-validator-cfnguard::s3_bucket_logging_enabled_check', reason: noAccessLogs },
      { id: 'cdk-validator-cfnguard::s3_bucket_versioning_enabled_check', reason: noVersions },
      {
        id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
        reason: `${noVersions} Object lock would forbid replacing it.`,
      },
      {
        id: 'EphemeraRT-S3BucketExpiration',
        reason:
          'The trust store is configuration, kept until an admin replaces or deletes it; expiring it would silently change which servers outbound calls trust. It holds certificates and a mode, never request content.',
      },
    );
  }
}
