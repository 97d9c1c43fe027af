import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import {
  Decision,
  allOf,
  anyOf,
  booleanValue,
  equalsIgnoreCase,
  isAbsent,
  isIntrinsic,
  isObject,
  isPresent,
  listValue,
  logicalIdOf,
  referencedLogicalId,
  resourcesOfType,
  templateProperties,
  verdict,
} from './cfn-values';

/**
 * Retention rules: every stateful resource forgets its data after a bounded
 * time. Each rule is a pure function of one CfnResource (it may read other
 * resources of the same stack) and returns NOT_APPLICABLE for other types.
 */

/** AWS::Logs::LogGroup has `RetentionInDays` (absent means the logs never expire). */
export function LogGroupRetention(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::Logs::LogGroup') return NagRuleCompliance.NOT_APPLICABLE;
  return verdict(isPresent(templateProperties(node).RetentionInDays));
}

/** AWS::SQS::Queue sets `MessageRetentionPeriod` explicitly (rather than the 4-day default). */
export function SQSQueueRetention(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::SQS::Queue') return NagRuleCompliance.NOT_APPLICABLE;
  return verdict(isPresent(templateProperties(node).MessageRetentionPeriod));
}

/**
 * AWS::DynamoDB::Table and AWS::DynamoDB::GlobalTable have
 * `TimeToLiveSpecification.Enabled` true and an `AttributeName`.
 */
export function DynamoDBTableTTL(node: CfnResource): NagRuleCompliance {
  const type = node.cfnResourceType;
  if (type !== 'AWS::DynamoDB::Table' && type !== 'AWS::DynamoDB::GlobalTable') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const ttl = templateProperties(node).TimeToLiveSpecification;
  if (isIntrinsic(ttl) && !isAbsent(ttl)) return NagRuleCompliance.COMPLIANT;
  if (!isObject(ttl)) return NagRuleCompliance.NON_COMPLIANT;
  return verdict(allOf(booleanValue(ttl.Enabled), isPresent(ttl.AttributeName)));
}

const FILTER_KEYS = ['Prefix', 'TagFilters', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'];

/** A lifecycle rule that is enabled and has no prefix, tag or size filter. */
function wholeBucketRule(rule: unknown): Decision {
  if (!isObject(rule)) return isIntrinsic(rule) ? 'unknown' : 'no';
  const filtered = FILTER_KEYS.some((key) => {
    const value = rule[key];
    return !isAbsent(value) && !(Array.isArray(value) && value.length === 0);
  });
  return filtered ? 'no' : equalsIgnoreCase(rule.Status, 'Enabled');
}

/**
 * AWS::S3::Bucket has a lifecycle rule that is `Enabled`, has no filter
 * (`Prefix`, `TagFilters`, `ObjectSizeGreaterThan`, `ObjectSizeLessThan`)
 * and sets `ExpirationInDays` or `ExpirationDate`. When versioning is
 * `Enabled` or `Suspended`, an enabled unfiltered rule must also set
 * `NoncurrentVersionExpiration` (or the older `NoncurrentVersionExpirationInDays`),
 * because expiring the current version of an object leaves its earlier
 * versions in place.
 */
export function S3BucketExpiration(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::S3::Bucket') return NagRuleCompliance.NOT_APPLICABLE;
  const props = templateProperties(node);
  const lifecycle = props.LifecycleConfiguration;
  if (isIntrinsic(lifecycle) && !isAbsent(lifecycle)) return NagRuleCompliance.COMPLIANT;
  const rules = isObject(lifecycle) ? listValue(lifecycle.Rules) : [];
  if (rules === undefined) return NagRuleCompliance.COMPLIANT;

  const expires = anyOf(
    rules.map((rule) =>
      allOf(
        wholeBucketRule(rule),
        isObject(rule)
          ? anyOf([isPresent(rule.ExpirationInDays), isPresent(rule.ExpirationDate)])
          : 'unknown',
      ),
    ),
  );

  const versioning = isObject(props.VersioningConfiguration)
    ? props.VersioningConfiguration.Status
    : undefined;
  const versioned = anyOf([
    equalsIgnoreCase(versioning, 'Enabled'),
    equalsIgnoreCase(versioning, 'Suspended'),
  ]);
  const noncurrentExpires =
    versioned === 'no'
      ? 'yes'
      : anyOf(
          rules.map((rule) =>
            allOf(
              wholeBucketRule(rule),
              isObject(rule)
                ? anyOf([
                    isPresent(rule.NoncurrentVersionExpiration),
                    isPresent(rule.NoncurrentVersionExpirationInDays),
                  ])
                : 'unknown',
            ),
          ),
        );
  return verdict(allOf(expires, noncurrentExpires));
}

/** A RotationSchedule with a schedule: `AutomaticallyAfterDays` > 0 or `ScheduleExpression`. */
function hasSchedule(props: Record<string, unknown>): Decision {
  const rules = props.RotationRules;
  if (isIntrinsic(rules) && !isAbsent(rules)) return 'unknown';
  if (!isObject(rules)) return 'no';
  const days = rules.AutomaticallyAfterDays;
  const byDays: Decision =
    typeof days === 'number' ? (days > 0 ? 'yes' : 'no') : isAbsent(days) ? 'no' : 'unknown';
  return anyOf([byDays, isPresent(rules.ScheduleExpression)]);
}

/**
 * AWS::SecretsManager::Secret is rotated: the same stack holds an
 * AWS::SecretsManager::RotationSchedule whose `SecretId` is a `Ref` to this
 * secret, a `Ref` to an AWS::SecretsManager::SecretTargetAttachment of this
 * secret (what CDK generates for database secrets), or the secret's literal
 * `Name`; and whose `RotationRules` set `AutomaticallyAfterDays` (> 0) or
 * `ScheduleExpression`. Rotation configured outside the stack (another stack,
 * the console, managed rotation by another service) is not seen: acknowledge
 * the finding with the reason.
 */
export function SecretRotation(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::SecretsManager::Secret') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const secretId = logicalIdOf(node);
  const name = templateProperties(node).Name;
  const attachments = new Set(
    resourcesOfType(node, 'AWS::SecretsManager::SecretTargetAttachment')
      .filter((a) => referencedLogicalId(templateProperties(a).SecretId) === secretId)
      .map(logicalIdOf),
  );
  const refersToSecret = (value: unknown): boolean => {
    const target = referencedLogicalId(value);
    if (target !== undefined) return target === secretId || attachments.has(target);
    return typeof value === 'string' && typeof name === 'string' && value === name;
  };
  const schedules = resourcesOfType(node, 'AWS::SecretsManager::RotationSchedule')
    .map(templateProperties)
    .filter((props) => refersToSecret(props.SecretId));
  return verdict(anyOf(schedules.map(hasSchedule)));
}
