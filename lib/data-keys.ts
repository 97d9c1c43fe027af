import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PropsValidator } from './private/validation';

/** The classes of data Ephemera keeps at rest, one encryption key each (P6). */
export type DataClass = 'metadata' | 'images' | 'logs' | 'queues';

export interface DataKeysProps {
  /**
   * How often KMS rotates the key material of the symmetric keys.
   * @default Duration.days(365)
   */
  readonly rotationPeriod?: Duration;

  /**
   * Prefix of the key aliases; each key gets `<prefix>/<name>`. Alias names
   * are unique in an account and region, so two stacks there need different
   * prefixes: the default derives from the stack name.
   * @default - `alias/` and the stack name in lower case (`alias/ephemera` in a stack named `Ephemera`)
   */
  readonly aliasPrefix?: string;

  /**
   * Waiting period before a key scheduled for deletion is deleted (7 to 30 days).
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the keys when the stack is deleted. Keys outlive the stack
   * by default so that data encrypted under them is never made unreadable by accident.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Customer-managed KMS keys, one per data class (P6): AES-256 symmetric keys
 * with rotation on for metadata, images, logs and queues; an HMAC_256 key for
 * keyed hashes of customer ids and API key secrets; and an asymmetric ECC key
 * that signs deletion receipts.
 *
 * Every key policy keeps the account root statement (so that IAM policies can
 * delegate use, and the key can never become unmanageable) and denies
 * `kms:CreateGrant` unless the grant is for an AWS resource. Services that
 * must use a key directly (CloudWatch Logs, SNS, EventBridge, CloudWatch
 * alarms) are allowed only on the key of their data class, with conditions
 * that tie them to this account.
 */
export class DataKeys extends Construct {
  /** Encrypts the DynamoDB tables and the config bucket. */
  public readonly metadataKey: kms.Key;
  /** Encrypts the image bucket. */
  public readonly imagesKey: kms.Key;
  /** Encrypts CloudWatch log groups. */
  public readonly logsKey: kms.Key;
  /** Encrypts SQS queues and SNS topics. */
  public readonly queuesKey: kms.Key;
  /** HMAC_256 key for keyed hashes (GenerateMac / VerifyMac). */
  public readonly hmacKey: kms.Key;
  /** ECC_NIST_P256 key that signs deletion receipts. */
  public readonly signingKey: kms.Key;

  constructor(scope: Construct, id: string, props: DataKeysProps = {}) {
    super(scope, id);
    const rotationPeriod = props.rotationPeriod ?? Duration.days(365);
    const pendingWindow = props.pendingWindow ?? Duration.days(30);
    const stackName = Stack.of(this).stackName;
    // Alias names are unique in an account and region: by default they derive from the stack name.
    const unnamed = props.aliasPrefix === undefined && Token.isUnresolved(stackName);
    const aliasPrefix = props.aliasPrefix ?? `alias/${stackName.toLowerCase()}`;
    new PropsValidator('DataKeys')
      .duration('rotationPeriod', rotationPeriod, Duration.days(90), Duration.days(2560))
      .duration('pendingWindow', pendingWindow, Duration.days(7), Duration.days(30))
      .check(
        !unnamed,
        'aliasPrefix is required where the stack name is not known at synth (a nested stack): alias names must be unique in the account and region',
      )
      .check(
        unnamed ||
          (/^alias\/[A-Za-z0-9/_-]{1,200}$/.test(aliasPrefix) &&
            !aliasPrefix.startsWith('alias/aws')),
        `aliasPrefix must look like 'alias/<name>' and not start with 'alias/aws' (got '${aliasPrefix}')`,
      )
      .throwIfInvalid();

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const symmetric = (name: DataClass, description: string) =>
      this.newKey(name, {
        description,
        alias: `${aliasPrefix}/${name}`,
        enableKeyRotation: true,
        rotationPeriod,
        pendingWindow,
        removalPolicy,
      });

    this.metadataKey = symmetric(
      'metadata',
      'Ephemera: usage, key and deletion-job tables, config',
    );
    this.imagesKey = symmetric('images', 'Ephemera: generated images kept for their short TTL');
    this.logsKey = symmetric('logs', 'Ephemera: metadata-only CloudWatch log groups');
    this.queuesKey = symmetric('queues', 'Ephemera: SQS queues and SNS alarm topic');

    // KMS does not rotate HMAC or asymmetric keys automatically; see docs/security.md.
    this.hmacKey = this.newKey('hmac', {
      description: 'Ephemera: keyed hashes of customer ids and API key secrets',
      alias: `${aliasPrefix}/hmac`,
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      pendingWindow,
      removalPolicy,
    });
    this.signingKey = this.newKey('signing', {
      description: 'Ephemera: signs deletion receipts',
      alias: `${aliasPrefix}/signing`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      pendingWindow,
      removalPolicy,
    });

    this.allowLogsService();
    this.allowNotificationServices();
  }

  /** Every key this construct owns, for alarms on key state. */
  public get allKeys(): kms.IKey[] {
    return [
      this.metadataKey,
      this.imagesKey,
      this.logsKey,
      this.queuesKey,
      this.hmacKey,
      this.signingKey,
    ];
  }

  /** The key of a data class. */
  public keyFor(dataClass: DataClass): kms.IKey {
    switch (dataClass) {
      case 'metadata':
        return this.metadataKey;
      case 'images':
        return this.imagesKey;
      case 'logs':
        return this.logsKey;
      case 'queues':
        return this.queuesKey;
    }
  }

  private newKey(id: string, props: kms.KeyProps): kms.Key {
    const key = new kms.Key(this, id, props);
    // Grants only for AWS resources created by AWS services (Control Tower CT.KMS.PR.3).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsExceptForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.ArnPrincipal('*')],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: {
            'kms:GrantIsForAWSResource': 'false',
            'aws:PrincipalIsAWSService': 'false',
          },
        },
      }),
    );
    return key;
  }

  /** CloudWatch Logs encrypts log groups of this account with the logs key only. */
  private allowLogsService(): void {
    const stack = Stack.of(this);
    this.logsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt*',
          'kms:Decrypt*',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:Describe*',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }

  /**
   * CloudWatch alarms publish to the encrypted alarm topic, so they need to
   * create data keys under the queues key, from this account only. (EventBridge
   * publishes through a role of its rule, granted by IAM.)
   */
  private allowNotificationServices(): void {
    this.queuesKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsFromThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }
}
