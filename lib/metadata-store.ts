import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DELETION_PENDING_INDEX, TTL_ATTRIBUTE, USAGE_CUSTOMER_INDEX } from './core/tables';
import { POINT_IN_TIME_RECOVERY_DAYS } from './core/receipt-scope';

export { TTL_ATTRIBUTE } from './core/tables';
/** The usage table's index by keyed customer hash, newest first by `timestamp`. */
export const CUSTOMER_INDEX = USAGE_CUSTOMER_INDEX;

export interface MetadataStoreProps {
  /** Key that encrypts the tables (the project's metadata key). */
  readonly encryptionKey: kms.IKey;

  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Deletion protection of the tables.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * Ephemera's DynamoDB tables, which hold metadata only (P4): usage
 * records (with a GSI on the keyed customer hash), API keys (keyed hashes of
 * the secrets, never the secrets) and deletion jobs. Encrypted with the
 * metadata key, on-demand, expiring items through the `ttl` attribute, and
 * point-in-time recovery with the shortest recovery period (1 day) so that
 * erased records do not linger in backups.
 */
export class MetadataStore extends Construct {
  public readonly usageTable: dynamodb.Table;
  public readonly keyTable: dynamodb.Table;
  public readonly deletionTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: MetadataStoreProps) {
    super(scope, id);
    const common: Omit<dynamodb.TableProps, 'partitionKey'> = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: POINT_IN_TIME_RECOVERY_DAYS,
      },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };

    this.usageTable = new dynamodb.Table(this, 'UsageTable', {
      ...common,
      partitionKey: { name: 'request_id', type: dynamodb.AttributeType.STRING },
    });
    this.usageTable.addGlobalSecondaryIndex({
      indexName: CUSTOMER_INDEX,
      partitionKey: { name: 'customer_hash', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'timestamp', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.keyTable = new dynamodb.Table(this, 'KeyTable', {
      ...common,
      partitionKey: { name: 'key_id', type: dynamodb.AttributeType.STRING },
    });

    this.deletionTable = new dynamodb.Table(this, 'DeletionTable', {
      ...common,
      partitionKey: { name: 'deletion_id', type: dynamodb.AttributeType.STRING },
    });
    // Sparse: only open jobs carry `pending`, so the watchdog reads what is
    // open, oldest first, without scanning the audit history.
    this.deletionTable.addGlobalSecondaryIndex({
      indexName: DELETION_PENDING_INDEX,
      partitionKey: { name: 'pending', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'requested_at', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });

    const backups =
      'Point-in-time recovery with a 1-day window is the backup; an AWS Backup plan would keep erased records well past the 24-hour erasure promise (P7).';
    for (const table of [this.usageTable, this.keyTable, this.deletionTable]) {
      Validations.of(table).acknowledge(
        { id: 'HIPAA.Security-DynamoDBInBackupPlan', reason: backups },
        { id: 'NIST.800.53.R5-DynamoDBInBackupPlan', reason: backups },
        { id: 'PCI.DSS.321-DynamoDBInBackupPlan', reason: backups },
      );
    }
  }

  /** The tables, for alarms and erasure. */
  public get tables(): dynamodb.Table[] {
    return [this.usageTable, this.keyTable, this.deletionTable];
  }
}
