import { CfnParameter, CfnResource, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance } from 'cdk-nag';
import {
  DynamoDBTableCMK,
  LogGroupCMK,
  S3BucketCMK,
  SNSTopicCMK,
  SQSQueueCMK,
  SecretCMK,
  classifyKmsKey,
} from '../../lib/rules';
import { newStack, ruleIdsFor } from './helpers';

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = NagRuleCompliance;

process.env.CDK_VALIDATION = 'false';

function keyIn(stack: Stack): kms.Key {
  return (stack.node.tryFindChild('Key') as kms.Key | undefined) ?? new kms.Key(stack, 'Key');
}

describe('classifyKmsKey', () => {
  function classify(value: (stack: Stack) => unknown): string {
    const { stack } = newStack();
    const probe = new sqs.CfnQueue(stack, 'Probe');
    return classifyKmsKey(probe, stack.resolve(value(stack)));
  }

  test.each<[string, (stack: Stack) => unknown, string]>([
    ['Ref to a key of the stack', (s) => keyIn(s).keyId, 'customer-managed'],
    ['GetAtt Arn of a key of the stack', (s) => keyIn(s).keyArn, 'customer-managed'],
    [
      'Ref to an alias of the stack',
      (s) => new kms.Alias(s, 'Alias', { aliasName: 'alias/app', targetKey: keyIn(s) }).aliasName,
      'customer-managed',
    ],
    ['a literal key ARN', () => 'arn:aws:kms:eu-west-1:111111111111:key/1234', 'customer-managed'],
    ['a literal customer alias', () => 'alias/ephemera/logs', 'customer-managed'],
    ['alias/aws/sqs', () => 'alias/aws/sqs', 'aws-managed'],
    [
      'an AWS managed alias ARN',
      () => 'arn:aws:kms:eu-west-1:111111111111:alias/aws/sns',
      'aws-managed',
    ],
    [
      'an imported AWS managed alias',
      (s) => kms.Alias.fromAliasName(s, 'Managed', 'alias/aws/s3').keyArn,
      'aws-managed',
    ],
    ['nothing', () => undefined, 'absent'],
    ['AWS::NoValue', () => Fn.ref('AWS::NoValue'), 'absent'],
    ['GetAtt of a bucket', (s) => new s3.CfnBucket(s, 'Bucket').attrArn, 'not-a-key'],
    [
      'a parameter',
      (s) => new CfnParameter(s, 'KeyArn', { type: 'String' }).valueAsString,
      'undecidable',
    ],
    ['an import', () => Fn.importValue('shared-key-arn'), 'undecidable'],
    [
      'a custom resource attribute',
      (s) => new CfnResource(s, 'Custom', { type: 'Custom::Key' }).getAtt('Arn'),
      'undecidable',
    ],
  ])('%s', (_name, value, expected) => {
    expect(classify(value)).toBe(expected);
  });
});

describe('EphemeraRT-S3BucketCMK', () => {
  function bucketWith(
    byDefault: (stack: Stack) => s3.CfnBucket.ServerSideEncryptionByDefaultProperty,
  ): s3.CfnBucket {
    const { stack } = newStack();
    return new s3.CfnBucket(stack, 'Bucket', {
      bucketEncryption: {
        serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: byDefault(stack) }],
      },
    });
  }

  test('an L2 bucket with a customer managed key passes this rule', () => {
    const { stack } = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: keyIn(stack) });
    expect(ruleIdsFor(bucket)).not.toContain('EphemeraRT-S3BucketCMK');
  });

  test.each([
    ['default (SSE-S3)', {}],
    ['S3_MANAGED', { encryption: s3.BucketEncryption.S3_MANAGED }],
    ['KMS_MANAGED (alias/aws/s3)', { encryption: s3.BucketEncryption.KMS_MANAGED }],
  ])('an L2 bucket with %s encryption is reported', (_name, props) => {
    const { stack } = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', props);
    expect(ruleIdsFor(bucket)).toContain('EphemeraRT-S3BucketCMK');
  });

  test('DSSE with a customer managed key passes', () => {
    const bucket = bucketWith((s) => ({
      sseAlgorithm: 'aws:kms:dsse',
      kmsMasterKeyId: keyIn(s).keyArn,
    }));
    expect(S3BucketCMK(bucket)).toBe(COMPLIANT);
  });

  test('aws:kms naming alias/aws/s3 is reported', () => {
    const bucket = bucketWith(() => ({ sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'alias/aws/s3' }));
    expect(S3BucketCMK(bucket)).toBe(NON_COMPLIANT);
  });

  test('AES256 with a key id still is not KMS', () => {
    const bucket = bucketWith((s) => ({ sseAlgorithm: 'AES256', kmsMasterKeyId: keyIn(s).keyArn }));
    expect(S3BucketCMK(bucket)).toBe(NON_COMPLIANT);
  });
});

describe('EphemeraRT-DynamoDBTableCMK', () => {
  const keySchema = [{ attributeName: 'pk', keyType: 'HASH' }];
  const attributeDefinitions = [{ attributeName: 'pk', attributeType: 'S' }];
  const partitionKey = { name: 'pk', type: dynamodb.AttributeType.STRING };

  test('a Table with CUSTOMER_MANAGED encryption passes', () => {
    const { stack } = newStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: keyIn(stack),
    });
    expect(DynamoDBTableCMK(table.node.defaultChild as dynamodb.CfnTable)).toBe(COMPLIANT);
  });

  test.each([
    ['default (AWS owned key)', undefined],
    ['AWS_MANAGED', dynamodb.TableEncryption.AWS_MANAGED],
  ])('a Table with %s encryption is reported', (_name, encryption) => {
    const { stack } = newStack();
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey,
      encryption,
      timeToLiveAttribute: 'ttl',
    });
    expect(ruleIdsFor(table)).toEqual(['EphemeraRT-DynamoDBTableCMK']);
  });

  test('SSEType must be KMS', () => {
    const { stack } = newStack();
    const table = new dynamodb.CfnTable(stack, 'Table', {
      keySchema,
      attributeDefinitions,
      sseSpecification: { sseEnabled: true, kmsMasterKeyId: keyIn(stack).keyArn },
    });
    expect(DynamoDBTableCMK(table)).toBe(NON_COMPLIANT);
  });

  test('a TableV2 with a customer managed key passes', () => {
    const { stack } = newStack();
    const table = new dynamodb.TableV2(stack, 'Table', {
      partitionKey,
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(keyIn(stack)),
    });
    expect(DynamoDBTableCMK(table.node.defaultChild as dynamodb.CfnGlobalTable)).toBe(COMPLIANT);
  });

  test('a TableV2 with the AWS managed key is reported', () => {
    const { stack } = newStack();
    const table = new dynamodb.TableV2(stack, 'Table', {
      partitionKey,
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: 'ttl',
    });
    expect(ruleIdsFor(table)).toEqual(['EphemeraRT-DynamoDBTableCMK']);
  });

  test('a global table needs a customer managed key on every replica', () => {
    const { stack } = newStack();
    const key = keyIn(stack);
    const table = new dynamodb.CfnGlobalTable(stack, 'Global', {
      keySchema,
      attributeDefinitions,
      sseSpecification: { sseEnabled: true, sseType: 'KMS' },
      replicas: [
        { region: 'eu-west-1', sseSpecification: { kmsMasterKeyId: key.keyArn } },
        { region: 'eu-central-1' },
      ],
    });
    expect(DynamoDBTableCMK(table)).toBe(NON_COMPLIANT);
    table.addPropertyOverride('Replicas.1.SSESpecification.KMSMasterKeyId', 'alias/ephemera-eu');
    expect(DynamoDBTableCMK(table)).toBe(COMPLIANT);
  });
});

describe('EphemeraRT-LogGroupCMK', () => {
  test('a log group with a key passes and one without is reported', () => {
    const { stack } = newStack();
    const withKey = new logs.LogGroup(stack, 'WithKey', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: keyIn(stack),
    });
    const withoutKey = new logs.LogGroup(stack, 'WithoutKey', {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    expect(ruleIdsFor(withKey)).toEqual([]);
    expect(ruleIdsFor(withoutKey)).toEqual(['EphemeraRT-LogGroupCMK']);
  });
});

describe('EphemeraRT-SQSQueueCMK', () => {
  test('a queue with a customer managed key passes', () => {
    const { stack } = newStack();
    const queue = new sqs.Queue(stack, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: keyIn(stack),
    });
    expect(SQSQueueCMK(queue.node.defaultChild as sqs.CfnQueue)).toBe(COMPLIANT);
  });

  test.each([
    ['SQS managed SSE (the default)', {}],
    ['KMS_MANAGED (alias/aws/sqs)', { encryption: sqs.QueueEncryption.KMS_MANAGED }],
    ['UNENCRYPTED', { encryption: sqs.QueueEncryption.UNENCRYPTED }],
  ])('a queue with %s is reported', (_name, props) => {
    const { stack } = newStack();
    const queue = new sqs.Queue(stack, 'Queue', { retentionPeriod: Duration.days(4), ...props });
    expect(ruleIdsFor(queue)).toEqual(['EphemeraRT-SQSQueueCMK']);
  });
});

describe('EphemeraRT-SNSTopicCMK', () => {
  test('a topic with a customer managed key has no findings', () => {
    const { stack } = newStack();
    const topic = new sns.Topic(stack, 'Topic', { masterKey: keyIn(stack) });
    expect(ruleIdsFor(topic)).toEqual([]);
  });

  test('a topic without a key, or with alias/aws/sns, is reported', () => {
    const { stack } = newStack();
    const plain = new sns.Topic(stack, 'Plain');
    const managed = new sns.CfnTopic(stack, 'Managed', { kmsMasterKeyId: 'alias/aws/sns' });
    expect(ruleIdsFor(plain)).toEqual(['EphemeraRT-SNSTopicCMK']);
    expect(SNSTopicCMK(managed)).toBe(NON_COMPLIANT);
  });

  test('other resource types are not applicable', () => {
    const { stack } = newStack();
    expect(SNSTopicCMK(new sqs.CfnQueue(stack, 'Queue'))).toBe(NOT_APPLICABLE);
  });
});

describe('EphemeraRT-SecretCMK', () => {
  test('a secret with a key passes and one without is reported', () => {
    const { stack } = newStack();
    const withKey = new secretsmanager.CfnSecret(stack, 'WithKey', {
      kmsKeyId: keyIn(stack).keyArn,
    });
    const withoutKey = new secretsmanager.CfnSecret(stack, 'WithoutKey', {});
    expect(SecretCMK(withKey)).toBe(COMPLIANT);
    expect(SecretCMK(withoutKey)).toBe(NON_COMPLIANT);
    expect(ruleIdsFor(withoutKey)).toEqual(['EphemeraRT-SecretCMK', 'EphemeraRT-SecretRotation']);
  });
});

describe('LogGroupCMK on other types', () => {
  test('is not applicable', () => {
    const { stack } = newStack();
    expect(LogGroupCMK(new sqs.CfnQueue(stack, 'Queue'))).toBe(NOT_APPLICABLE);
  });
});
