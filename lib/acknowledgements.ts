import { Validations } from 'aws-cdk-lib';
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
