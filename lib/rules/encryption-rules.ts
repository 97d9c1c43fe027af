import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import {
  Decision,
  allOf,
  anyOf,
  booleanValue,
  customerManagedKey,
  equalsIgnoreCase,
  isAbsent,
  isIntrinsic,
  isObject,
  listValue,
  templateProperties,
  verdict,
} from './cfn-values';

/**
 * Encryption rules: data at rest is encrypted under a customer managed KMS
 * key, as classified by `classifyKmsKey` (a key or alias resource of the same
 * stack, or an explicit key id/ARN/alias that is not `alias/aws/...`).
 */

/** The object at `value`, or the decision to return when it is not one. */
function objectOr(value: unknown): Record<string, unknown> | Decision {
  if (isObject(value) && !isIntrinsic(value)) return value;
  return isIntrinsic(value) && !isAbsent(value) ? 'unknown' : 'no';
}

/**
 * A property that names one key, checked on resources of one type. Used for
 * log groups (`KmsKeyId`), SQS queues and SNS topics (`KmsMasterKeyId`) and
 * Secrets Manager secrets (`KmsKeyId`).
 */
function keyProperty(type: string, property: string) {
  return (node: CfnResource): NagRuleCompliance => {
    if (node.cfnResourceType !== type) return NagRuleCompliance.NOT_APPLICABLE;
    return verdict(customerManagedKey(node, templateProperties(node)[property]));
  };
}

/** AWS::Logs::LogGroup has `KmsKeyId` set to a customer managed key. */
export function LogGroupCMK(node: CfnResource): NagRuleCompliance {
  return keyProperty('AWS::Logs::LogGroup', 'KmsKeyId')(node);
}

/**
 * AWS::SQS::Queue has `KmsMasterKeyId` set to a customer managed key
 * (`alias/aws/sqs` and `SqsManagedSseEnabled` do not count).
 */
export function SQSQueueCMK(node: CfnResource): NagRuleCompliance {
  return keyProperty('AWS::SQS::Queue', 'KmsMasterKeyId')(node);
}

/** AWS::SNS::Topic has `KmsMasterKeyId` set to a customer managed key (not `alias/aws/sns`). */
export function SNSTopicCMK(node: CfnResource): NagRuleCompliance {
  return keyProperty('AWS::SNS::Topic', 'KmsMasterKeyId')(node);
}

/**
 * AWS::SecretsManager::Secret has `KmsKeyId` set to a customer managed key
 * (absent means `aws/secretsmanager`).
 */
export function SecretCMK(node: CfnResource): NagRuleCompliance {
  return keyProperty('AWS::SecretsManager::Secret', 'KmsKeyId')(node);
}

const KMS_ALGORITHMS = ['aws:kms', 'aws:kms:dsse'];

/**
 * AWS::S3::Bucket has a `BucketEncryption.ServerSideEncryptionConfiguration`
 * entry whose `ServerSideEncryptionByDefault` has `SSEAlgorithm` `aws:kms` or
 * `aws:kms:dsse` and `KMSMasterKeyID` set to a customer managed key.
 */
export function S3BucketCMK(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::S3::Bucket') return NagRuleCompliance.NOT_APPLICABLE;
  const encryption = objectOr(templateProperties(node).BucketEncryption);
  if (typeof encryption === 'string') return verdict(encryption);
  const entries = listValue(encryption.ServerSideEncryptionConfiguration);
  if (entries === undefined) return NagRuleCompliance.COMPLIANT;
  return verdict(
    anyOf(
      entries.map((entry) => {
        const rule = objectOr(entry);
        if (typeof rule === 'string') return rule;
        const byDefault = objectOr(rule.ServerSideEncryptionByDefault);
        if (typeof byDefault === 'string') return byDefault;
        return allOf(
          anyOf(KMS_ALGORITHMS.map((alg) => equalsIgnoreCase(byDefault.SSEAlgorithm, alg))),
          customerManagedKey(node, byDefault.KMSMasterKeyID),
        );
      }),
    ),
  );
}

/**
 * AWS::DynamoDB::Table has `SSESpecification` with `SSEEnabled` true,
 * `SSEType` `KMS` and `KMSMasterKeyId` set to a customer managed key.
 * AWS::DynamoDB::GlobalTable has `SSESpecification` with `SSEEnabled` true and
 * `SSEType` `KMS`, and every entry of `Replicas` has
 * `SSESpecification.KMSMasterKeyId` set to a customer managed key.
 */
export function DynamoDBTableCMK(node: CfnResource): NagRuleCompliance {
  const type = node.cfnResourceType;
  if (type !== 'AWS::DynamoDB::Table' && type !== 'AWS::DynamoDB::GlobalTable') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const props = templateProperties(node);
  const sse = objectOr(props.SSESpecification);
  if (typeof sse === 'string') return verdict(sse);
  const kmsEnabled = allOf(booleanValue(sse.SSEEnabled), equalsIgnoreCase(sse.SSEType, 'KMS'));
  if (type === 'AWS::DynamoDB::Table') {
    return verdict(allOf(kmsEnabled, customerManagedKey(node, sse.KMSMasterKeyId)));
  }
  const replicas = listValue(props.Replicas);
  if (replicas === undefined) return verdict(kmsEnabled);
  const replicaKeys = replicas.map((replica): Decision => {
    const r = objectOr(replica);
    if (typeof r === 'string') return r;
    const replicaSse = objectOr(r.SSESpecification);
    if (typeof replicaSse === 'string') return replicaSse;
    return customerManagedKey(node, replicaSse.KMSMasterKeyId);
  });
  return verdict(allOf(kmsEnabled, replicas.length > 0 ? 'yes' : 'no', ...replicaKeys));
}
