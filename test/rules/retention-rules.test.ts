import { CfnParameter, CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance } from 'cdk-nag';
import {
  DynamoDBTableTTL,
  LogGroupRetention,
  S3BucketExpiration,
  SQSQueueRetention,
  SecretRotation,
} from '../../lib/rules';
import { newStack, ruleIdsFor } from './helpers';

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = NagRuleCompliance;

process.env.CDK_VALIDATION = 'false';

/** The stack's one customer managed key. */
function keyIn(stack: Stack): kms.Key {
  return (stack.node.tryFindChild('Key') as kms.Key | undefined) ?? new kms.Key(stack, 'Key');
}

describe('EphemeraRT-LogGroupRetention', () => {
  test('a log group with RetentionInDays and a CMK has no findings', () => {
    const { stack } = newStack();
    const group = new logs.CfnLogGroup(stack, 'Logs', {
      retentionInDays: 30,
      kmsKeyId: keyIn(stack).keyArn,
    });
    expect(ruleIdsFor(group)).toEqual([]);
  });

  test('a log group without RetentionInDays is reported', () => {
    const { stack } = newStack();
    const group = new logs.CfnLogGroup(stack, 'Logs', { kmsKeyId: keyIn(stack).keyArn });
    expect(ruleIdsFor(group)).toEqual(['EphemeraRT-LogGroupRetention']);
  });

  test('an L2 log group with RetentionDays.INFINITE is reported', () => {
    const { stack } = newStack();
    const group = new logs.LogGroup(stack, 'Logs', {
      retention: logs.RetentionDays.INFINITE,
      encryptionKey: keyIn(stack),
    });
    expect(ruleIdsFor(group)).toEqual(['EphemeraRT-LogGroupRetention']);
  });

  test('a retention from a parameter cannot be decided and passes', () => {
    const { stack } = newStack();
    const days = new CfnParameter(stack, 'Days', { type: 'Number' });
    const group = new logs.CfnLogGroup(stack, 'Logs', { retentionInDays: days.valueAsNumber });
    expect(LogGroupRetention(group)).toBe(COMPLIANT);
  });

  test('a property override is seen (the rendered template is checked)', () => {
    const { stack } = newStack();
    const group = new logs.CfnLogGroup(stack, 'Logs', {});
    expect(LogGroupRetention(group)).toBe(NON_COMPLIANT);
    group.addPropertyOverride('RetentionInDays', 7);
    expect(LogGroupRetention(group)).toBe(COMPLIANT);
  });

  test('other resource types are not applicable', () => {
    const { stack } = newStack();
    expect(LogGroupRetention(new sqs.CfnQueue(stack, 'Q'))).toBe(NOT_APPLICABLE);
  });
});

describe('EphemeraRT-SQSQueueRetention', () => {
  test('a queue with MessageRetentionPeriod and a CMK has no findings', () => {
    const { stack } = newStack();
    const queue = new sqs.Queue(stack, 'Queue', {
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: keyIn(stack),
    });
    expect(ruleIdsFor(queue)).toEqual([]);
  });

  test('a queue that relies on the default retention is reported', () => {
    const { stack } = newStack();
    const queue = new sqs.Queue(stack, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: keyIn(stack),
    });
    expect(ruleIdsFor(queue)).toEqual(['EphemeraRT-SQSQueueRetention']);
  });

  test('an untyped CfnResource is checked like the generated L1', () => {
    const { stack } = newStack();
    const raw = new CfnResource(stack, 'Raw', {
      type: 'AWS::SQS::Queue',
      properties: { MessageRetentionPeriod: 60 },
    });
    const bare = new CfnResource(stack, 'Bare', { type: 'AWS::SQS::Queue' });
    expect(SQSQueueRetention(raw)).toBe(COMPLIANT);
    expect(SQSQueueRetention(bare)).toBe(NON_COMPLIANT);
  });
});

describe('EphemeraRT-DynamoDBTableTTL', () => {
  const keySchema = [{ attributeName: 'pk', keyType: 'HASH' }];
  const attributeDefinitions = [{ attributeName: 'pk', attributeType: 'S' }];

  test('a table with TTL enabled and a CMK has no findings', () => {
    const { stack } = newStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: keyIn(stack),
      timeToLiveAttribute: 'ttl',
    });
    expect(ruleIdsFor(table)).toEqual([]);
  });

  test('a table without TTL is reported', () => {
    const { stack } = newStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: keyIn(stack),
    });
    expect(ruleIdsFor(table)).toEqual(['EphemeraRT-DynamoDBTableTTL']);
  });

  test('TTL with Enabled false is reported', () => {
    const { stack } = newStack();
    const table = new dynamodb.CfnTable(stack, 'Table', {
      keySchema,
      attributeDefinitions,
      timeToLiveSpecification: { enabled: false, attributeName: 'ttl' },
    });
    expect(DynamoDBTableTTL(table)).toBe(NON_COMPLIANT);
  });

  test('a global table is checked the same way', () => {
    const { stack } = newStack();
    const withTtl = new dynamodb.CfnGlobalTable(stack, 'WithTtl', {
      keySchema,
      attributeDefinitions,
      replicas: [{ region: 'eu-west-1' }],
      timeToLiveSpecification: { enabled: true, attributeName: 'ttl' },
    });
    const withoutTtl = new dynamodb.CfnGlobalTable(stack, 'WithoutTtl', {
      keySchema,
      attributeDefinitions,
      replicas: [{ region: 'eu-west-1' }],
    });
    expect(DynamoDBTableTTL(withTtl)).toBe(COMPLIANT);
    expect(DynamoDBTableTTL(withoutTtl)).toBe(NON_COMPLIANT);
  });
});

describe('EphemeraRT-S3BucketExpiration', () => {
  function bucketWith(props: s3.CfnBucketProps): s3.CfnBucket {
    const { stack } = newStack();
    return new s3.CfnBucket(stack, 'Bucket', props);
  }

  test('an L2 bucket with an expiration lifecycle rule passes this rule', () => {
    const { stack } = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', {
      lifecycleRules: [{ expiration: Duration.days(1) }],
    });
    expect(ruleIdsFor(bucket)).not.toContain('EphemeraRT-S3BucketExpiration');
    expect(S3BucketExpiration(bucket.node.defaultChild as s3.CfnBucket)).toBe(COMPLIANT);
  });

  test('an L2 bucket without lifecycle rules is reported', () => {
    const { stack } = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    expect(ruleIdsFor(bucket)).toContain('EphemeraRT-S3BucketExpiration');
  });

  test('an ExpirationDate counts as an expiration', () => {
    const bucket = bucketWith({
      lifecycleConfiguration: {
        rules: [{ status: 'Enabled', expirationDate: new Date('2030-01-01T00:00:00Z') }],
      },
    });
    expect(S3BucketExpiration(bucket)).toBe(COMPLIANT);
  });

  test.each([
    ['a prefix filter', { prefix: 'images/' }],
    ['a tag filter', { tagFilters: [{ key: 'class', value: 'tmp' }] }],
    ['a size filter', { objectSizeGreaterThan: 1024 }],
  ])('a rule with %s does not cover the bucket', (_name, filter) => {
    const bucket = bucketWith({
      lifecycleConfiguration: {
        rules: [{ status: 'Enabled', expirationInDays: 1, ...filter }],
      },
    });
    expect(S3BucketExpiration(bucket)).toBe(NON_COMPLIANT);
  });

  test('an empty prefix is no filter', () => {
    const bucket = bucketWith({
      lifecycleConfiguration: { rules: [{ status: 'Enabled', expirationInDays: 1, prefix: '' }] },
    });
    expect(S3BucketExpiration(bucket)).toBe(COMPLIANT);
  });

  test('a disabled rule does not count', () => {
    const bucket = bucketWith({
      lifecycleConfiguration: { rules: [{ status: 'Disabled', expirationInDays: 1 }] },
    });
    expect(S3BucketExpiration(bucket)).toBe(NON_COMPLIANT);
  });

  test('a rule that only transitions or aborts uploads does not count', () => {
    const bucket = bucketWith({
      lifecycleConfiguration: {
        rules: [
          {
            status: 'Enabled',
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            transitions: [{ storageClass: 'GLACIER', transitionInDays: 30 }],
          },
        ],
      },
    });
    expect(S3BucketExpiration(bucket)).toBe(NON_COMPLIANT);
  });

  test('a versioned bucket must also expire noncurrent versions', () => {
    const expiresCurrent = bucketWith({
      versioningConfiguration: { status: 'Enabled' },
      lifecycleConfiguration: { rules: [{ status: 'Enabled', expirationInDays: 1 }] },
    });
    const expiresBoth = bucketWith({
      versioningConfiguration: { status: 'Enabled' },
      lifecycleConfiguration: {
        rules: [
          { status: 'Enabled', expirationInDays: 1 },
          { status: 'Enabled', noncurrentVersionExpiration: { noncurrentDays: 1 } },
        ],
      },
    });
    expect(S3BucketExpiration(expiresCurrent)).toBe(NON_COMPLIANT);
    expect(S3BucketExpiration(expiresBoth)).toBe(COMPLIANT);
  });

  test('a status from a parameter cannot be decided and passes', () => {
    const { stack } = newStack();
    const status = new CfnParameter(stack, 'Status', { type: 'String' });
    const bucket = new s3.CfnBucket(stack, 'Bucket', {
      lifecycleConfiguration: {
        rules: [{ status: status.valueAsString, expirationInDays: 1 }],
      },
    });
    expect(S3BucketExpiration(bucket)).toBe(COMPLIANT);
  });
});

describe('EphemeraRT-SecretRotation', () => {
  const rotationLambdaArn = 'arn:aws:lambda:eu-west-1:111111111111:function:rotate';

  function secretWithKey(stack: Stack, id = 'Secret', name?: string): secretsmanager.CfnSecret {
    return new secretsmanager.CfnSecret(stack, id, { name, kmsKeyId: keyIn(stack).keyArn });
  }

  test('a secret with a rotation schedule in the stack has no findings', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack);
    new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
      secretId: secret.ref,
      rotationLambdaArn,
      rotationRules: { automaticallyAfterDays: 30 },
    });
    expect(ruleIdsFor(secret)).toEqual([]);
  });

  test('a secret without a rotation schedule is reported', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack);
    expect(ruleIdsFor(secret)).toEqual(['EphemeraRT-SecretRotation']);
  });

  test('a schedule for another secret does not count', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack);
    const other = new secretsmanager.CfnSecret(stack, 'Other', {});
    new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
      secretId: other.ref,
      rotationLambdaArn,
      rotationRules: { automaticallyAfterDays: 30 },
    });
    expect(SecretRotation(secret)).toBe(NON_COMPLIANT);
    expect(SecretRotation(other)).toBe(COMPLIANT);
  });

  test('a schedule with no rotation rules, or zero days, does not count', () => {
    const { stack } = newStack();
    const unscheduled = secretWithKey(stack, 'Unscheduled');
    const zero = secretWithKey(stack, 'Zero');
    new secretsmanager.CfnRotationSchedule(stack, 'R1', {
      secretId: unscheduled.ref,
      rotationLambdaArn,
    });
    new secretsmanager.CfnRotationSchedule(stack, 'R2', {
      secretId: zero.ref,
      rotationLambdaArn,
      rotationRules: { automaticallyAfterDays: 0 },
    });
    expect(SecretRotation(unscheduled)).toBe(NON_COMPLIANT);
    expect(SecretRotation(zero)).toBe(NON_COMPLIANT);
  });

  test('a schedule expression counts', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack);
    new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
      secretId: secret.ref,
      rotationLambdaArn,
      rotationRules: { scheduleExpression: 'rate(10 days)' },
    });
    expect(SecretRotation(secret)).toBe(COMPLIANT);
  });

  test('a schedule on the secret target attachment counts (database secrets)', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack);
    const attachment = new secretsmanager.CfnSecretTargetAttachment(stack, 'Attachment', {
      secretId: secret.ref,
      targetId: 'db-instance',
      targetType: 'AWS::RDS::DBInstance',
    });
    new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
      secretId: attachment.ref,
      rotationLambdaArn,
      rotationRules: { automaticallyAfterDays: 30 },
    });
    expect(SecretRotation(secret)).toBe(COMPLIANT);
  });

  test('a schedule that names the secret by its literal name counts', () => {
    const { stack } = newStack();
    const secret = secretWithKey(stack, 'Secret', 'ephemera/upstream');
    new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
      secretId: 'ephemera/upstream',
      rotationLambdaArn,
      rotationRules: { automaticallyAfterDays: 30 },
    });
    expect(SecretRotation(secret)).toBe(COMPLIANT);
  });

  test('an L2 secret with hosted rotation passes', () => {
    const { stack } = newStack();
    const secret = new secretsmanager.Secret(stack, 'Secret', { encryptionKey: keyIn(stack) });
    secret.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.mysqlSingleUser(),
      automaticallyAfter: Duration.days(30),
    });
    expect(ruleIdsFor(secret)).toEqual([]);
  });
});
