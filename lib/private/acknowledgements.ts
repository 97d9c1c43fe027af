import { Stack, Validations } from 'aws-cdk-lib';
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

/**
 * Acknowledges AwsSolutions-IAM5 for one wildcard `resource` in `principal`'s
 * policy. The finding names the resource as the principal's template writes
 * it, which is only known once the app is prepared: an attribute of a
 * resource in the same stack, a literal ARN, or an import from another stack.
 * So the acknowledgement is made when the tree is validated, just before the
 * templates are written and the rule packs run.
 */
export function acknowledgeWildcardResource(
  principal: IConstruct,
  resource: string,
  reason: string,
): void {
  let acknowledged = false;
  principal.node.addValidation({
    validate: () => {
      if (!acknowledged) {
        acknowledged = true;
        const written = flattenReference(Stack.of(principal).resolve(resource));
        Validations.of(principal).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${written}]`,
          reason,
        });
      }
      return [];
    },
  });
}

/**
 * A resolved CloudFormation value as the rule packs print it in a finding id:
 * joins concatenated, `Ref` as `<Name>`, `Fn::GetAtt` as `<Name.Attribute>`,
 * an import as its export name.
 */
export function flattenReference(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenReference).join(delimiter);
    }
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [name, attribute] = node['Fn::GetAtt'] as unknown[];
      return `<${flattenReference(name)}.${flattenReference(attribute)}>`;
    }
    if ('Fn::ImportValue' in node) return flattenReference(node['Fn::ImportValue']);
    if ('Ref' in node) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
