import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { DELETION_PENDING_INDEX, TTL_ATTRIBUTE, USAGE_CUSTOMER_INDEX } from './core/tables';
import { POINT_IN_TIME_RECOVERY_DAYS } from './core/receipt-scope';
import { TABLE_KEY_ACTIONS, viaService } from './private/kms-statements';

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
 * What other constructs need of the metadata tables: the tables, their key,
 * and one grant per kind of use, each with exactly the DynamoDB actions that
 * use needs and the metadata key's data-key actions through DynamoDB only
 * (`kms:ViaService`). A `MetadataStore`, or one in another stack imported
 * with `MetadataStore.fromMetadataStoreAttributes`. The grants are the only
 * place DynamoDB actions are named (a test keeps it so).
 */
export interface IMetadataStore extends IConstruct {
  /** Usage records, with the customer index (`CUSTOMER_INDEX`). */
  readonly usageTable: dynamodb.ITable;
  /** API key records (keyed hashes of the secrets). */
  readonly keyTable: dynamodb.ITable;
  /** Deletion jobs and their signed receipts, with the sparse index of open jobs. */
  readonly deletionTable: dynamodb.ITable;
  /** The key the tables are encrypted with (the project's metadata key). */
  readonly encryptionKey: kms.IKey;

  /**
   * The request path: read one API key record (`GetItem` on the key table)
   * and write usage records (`PutItem` on the usage table). It can neither
   * scan, query nor delete.
   */
  grantAuthenticateAndRecordUsage(grantee: iam.IGrantable): iam.Grant;

  /**
   * Key administration and erasure requests (the admin API): read, create,
   * update and list API key records (`GetItem`, `PutItem`, `UpdateItem`,
   * `Scan`); read usage records by request id (`GetItem`) and by customer
   * (`Query` on the customer index); read, create and update deletion jobs
   * (`GetItem`, `PutItem`, `UpdateItem`). It cannot delete usage records.
   */
  grantKeyAdminAndErasureRequests(grantee: iam.IGrantable): iam.Grant;

  /**
   * Erasure by customer (the deletion worker): find a customer's usage
   * records (`Query` on the customer index), read and delete them in batches
   * (`BatchGetItem`, `BatchWriteItem`), and read and update deletion jobs
   * (`GetItem`, `UpdateItem`). No key records.
   */
  grantEraseCustomer(grantee: iam.IGrantable): iam.Grant;

  /**
   * Counting (the watchdog): `Query` on the sparse index of open deletion
   * jobs and `Scan` of the key table (ids and expiry dates), with
   * `kms:Decrypt` only: it writes nothing.
   */
  grantCountOpenJobsAndKeys(grantee: iam.IGrantable): iam.Grant;

  /**
   * Reading one deletion job and its signed receipt (`GetItem` on the
   * deletion table), with `kms:Decrypt` only: it writes nothing.
   */
  grantReadDeletionJobs(grantee: iam.IGrantable): iam.Grant;
}

/** Metadata tables defined elsewhere (another stack, another app). */
export interface MetadataStoreAttributes {
  /** ARN of the usage table (its customer index is `CUSTOMER_INDEX`). */
  readonly usageTableArn: string;
  /** ARN of the API key table. */
  readonly keyTableArn: string;
  /** ARN of the deletion-job table (its index of open jobs is `pending`). */
  readonly deletionTableArn: string;
  /** ARN of the key the tables are encrypted with. */
  readonly encryptionKeyArn: string;
}

/** What one grant allows on one table (or one of its indexes). */
interface TableAccess {
  readonly actions: string[];
  readonly resource: string;
}

/** The grants, shared by a store defined here and an imported one. */
abstract class MetadataStoreBase extends Construct implements IMetadataStore {
  public abstract readonly usageTable: dynamodb.ITable;
  public abstract readonly keyTable: dynamodb.ITable;
  public abstract readonly deletionTable: dynamodb.ITable;
  public abstract readonly encryptionKey: kms.IKey;

  public grantAuthenticateAndRecordUsage(grantee: iam.IGrantable): iam.Grant {
    return this.grant(
      grantee,
      [this.on(this.keyTable, 'GetItem'), this.on(this.usageTable, 'PutItem')],
      TABLE_KEY_ACTIONS,
    );
  }

  public grantKeyAdminAndErasureRequests(grantee: iam.IGrantable): iam.Grant {
    return this.grant(
      grantee,
      [
        this.on(this.keyTable, 'GetItem', 'PutItem', 'UpdateItem', 'Scan'),
        this.on(this.usageTable, 'GetItem'),
        this.usageByCustomer(),
        this.on(this.deletionTable, 'GetItem', 'PutItem', 'UpdateItem'),
      ],
      TABLE_KEY_ACTIONS,
    );
  }

  public grantEraseCustomer(grantee: iam.IGrantable): iam.Grant {
    return this.grant(
      grantee,
      [
        this.usageByCustomer(),
        this.on(this.usageTable, 'BatchGetItem', 'BatchWriteItem'),
        this.on(this.deletionTable, 'GetItem', 'UpdateItem'),
      ],
      TABLE_KEY_ACTIONS,
    );
  }

  public grantCountOpenJobsAndKeys(grantee: iam.IGrantable): iam.Grant {
    return this.grant(
      grantee,
      [
        {
          actions: ['dynamodb:Query'],
          resource: `${this.deletionTable.tableArn}/index/${DELETION_PENDING_INDEX}`,
        },
        this.on(this.keyTable, 'Scan'),
      ],
      ['kms:Decrypt'],
    );
  }

  public grantReadDeletionJobs(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, [this.on(this.deletionTable, 'GetItem')], ['kms:Decrypt']);
  }

  /** `Query` on the usage table's customer index. */
  private usageByCustomer(): TableAccess {
    return {
      actions: ['dynamodb:Query'],
      resource: `${this.usageTable.tableArn}/index/${CUSTOMER_INDEX}`,
    };
  }

  /** DynamoDB `actions` (without the `dynamodb:` prefix) on `table` itself. */
  private on(table: dynamodb.ITable, ...actions: string[]): TableAccess {
    return { actions: actions.map((a) => `dynamodb:${a}`), resource: table.tableArn };
  }

  /**
   * One statement per table access, in order, then one statement for the
   * metadata key: `keyActions` only through DynamoDB in this region.
   */
  private grant(grantee: iam.IGrantable, access: TableAccess[], keyActions: string[]): iam.Grant {
    const grants = access.map(({ actions, resource }) =>
      iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [resource] }),
    );
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: keyActions,
        resourceArns: [this.encryptionKey.keyArn],
        conditions: viaService(this, 'dynamodb'),
      }),
    );
    return grants.reduce((all, g) => all.combine(g));
  }
}

/**
 * Ephemera's DynamoDB tables, which hold metadata only (P4): usage
 * records (with a GSI on the keyed customer hash), API keys (keyed hashes of
 * the secrets, never the secrets) and deletion jobs. Encrypted with the
 * metadata key, on-demand, expiring items through the `ttl` attribute, and
 * point-in-time recovery with the shortest recovery period (1 day) so that
 * erased records do not linger in backups.
 */
export class MetadataStore extends MetadataStoreBase {
  /**
   * Refers to metadata tables defined elsewhere, for constructs in another
   * stack. Grants add to the grantee's policy only: neither the tables nor
   * the key's policy change.
   */
  public static fromMetadataStoreAttributes(
    scope: Construct,
    id: string,
    attrs: MetadataStoreAttributes,
  ): IMetadataStore {
    class Import extends MetadataStoreBase {
      public readonly usageTable = dynamodb.Table.fromTableArn(
        this,
        'UsageTable',
        attrs.usageTableArn,
      );
      public readonly keyTable = dynamodb.Table.fromTableArn(this, 'KeyTable', attrs.keyTableArn);
      public readonly deletionTable = dynamodb.Table.fromTableArn(
        this,
        'DeletionTable',
        attrs.deletionTableArn,
      );
      public readonly encryptionKey = kms.Key.fromKeyArn(this, 'Key', attrs.encryptionKeyArn);
    }
    return new Import(scope, id);
  }

  public readonly usageTable: dynamodb.Table;
  public readonly keyTable: dynamodb.Table;
  public readonly deletionTable: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: MetadataStoreProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
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
