import { CfnElement, CfnResource, Stack } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/**
 * Helpers shared by the EphemeraRT rules. They read a resource the way
 * CloudFormation will see it and answer small questions about its values.
 *
 * Every question about a value has three answers: yes, no, and "cannot be
 * decided at synth time" (an intrinsic such as `Fn::If`, `Fn::ImportValue`
 * or a `Ref` to a parameter). The rules treat "cannot be decided" as
 * compliant: a finding is raised only when a value is absent or is known to
 * be wrong.
 */

/** A JSON object as it appears in a rendered template. */
export type CfnObject = Record<string, unknown>;

/** Yes, no, or cannot be decided at synth time. */
export type Decision = 'yes' | 'no' | 'unknown';

/**
 * The resource's `Properties` exactly as they will be written to the template:
 * CloudFormation (PascalCase) property names, tokens resolved to intrinsics,
 * and `addOverride`/`addPropertyOverride` escape hatches applied. Untyped
 * `new CfnResource(...)` resources work the same way as generated L1 classes.
 */
export function templateProperties(node: CfnResource): CfnObject {
  const stack = Stack.of(node);
  const rendered = stack.resolve(node._toCloudFormation()) as {
    Resources?: Record<string, { Properties?: unknown }>;
  };
  const [body] = Object.values(rendered.Resources ?? {});
  return isObject(body?.Properties) ? body.Properties : {};
}

/** The resource's logical id in its stack, with any `overrideLogicalId` applied. */
export function logicalIdOf(element: CfnElement): string {
  return Stack.of(element).resolve(element.logicalId) as string;
}

/** Every resource of `type` in the same stack as `node` (nested stacks excluded). */
export function resourcesOfType(node: CfnResource, type: string): CfnResource[] {
  const stack = Stack.of(node);
  return stack.node
    .findAll()
    .filter(
      (c): c is CfnResource =>
        CfnResource.isCfnResource(c) && c.cfnResourceType === type && Stack.of(c) === stack,
    );
}

/** The element (resource, parameter, ...) with `logicalId` in the stack of `node`. */
export function findElement(node: CfnResource, logicalId: string): CfnElement | undefined {
  const stack = Stack.of(node);
  return stack.node
    .findAll()
    .find(
      (c): c is CfnElement =>
        CfnElement.isCfnElement(c) && Stack.of(c) === stack && logicalIdOf(c) === logicalId,
    );
}

export function isObject(value: unknown): value is CfnObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ "Ref": ... }` or `{ "Fn::...": ... }`: a value only known at deploy time. */
export function isIntrinsic(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** Not in the template: undefined, null, empty string, or `Ref: AWS::NoValue`. */
export function isAbsent(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    (isObject(value) && value.Ref === 'AWS::NoValue')
  );
}

/** A CloudFormation boolean: `true`/`"true"` is yes, an intrinsic is undecidable, anything else no. */
export function booleanValue(value: unknown): Decision {
  if (value === true || (typeof value === 'string' && value.toLowerCase() === 'true')) return 'yes';
  return isIntrinsic(value) && !isAbsent(value) ? 'unknown' : 'no';
}

/** A case-insensitive string comparison; intrinsics are undecidable, absent is `no`. */
export function equalsIgnoreCase(value: unknown, expected: string): Decision {
  if (typeof value === 'string')
    return value.toLowerCase() === expected.toLowerCase() ? 'yes' : 'no';
  return isIntrinsic(value) && !isAbsent(value) ? 'unknown' : 'no';
}

/** Present in the template (any value, including an intrinsic). */
export function isPresent(value: unknown): Decision {
  return isAbsent(value) ? 'no' : 'yes';
}

/** Only a known `no` is a finding; `unknown` (cannot be decided at synth time) passes. */
export function verdict(decision: Decision): NagRuleCompliance {
  return decision === 'no' ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}

/** All must hold: `no` wins, then `unknown`. */
export function allOf(...decisions: Decision[]): Decision {
  if (decisions.includes('no')) return 'no';
  return decisions.includes('unknown') ? 'unknown' : 'yes';
}

/** One must hold: `yes` wins, then `unknown`. */
export function anyOf(decisions: Decision[]): Decision {
  if (decisions.includes('yes')) return 'yes';
  return decisions.includes('unknown') ? 'unknown' : 'no';
}

/**
 * The list at `value`: the array itself, `[]` when absent, or `undefined`
 * when an intrinsic hides it (undecidable).
 */
export function listValue(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isAbsent(value)) return [];
  return isIntrinsic(value) ? undefined : [];
}

/**
 * The logical id that a `Ref` or `Fn::GetAtt` points at, or `undefined` for
 * anything else (literal strings, joins, imports). Pseudo parameters such as
 * `AWS::Region` are returned as-is and never match a resource.
 */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/**
 * What `value` resolves to when it names a resource: the logical id for
 * `Ref`/`Fn::GetAtt`, the literal otherwise (cdk-nag's
 * `resolveResourceFromIntrinsic`, applied to an already rendered value).
 */
export function resourceOrLiteral(node: CfnResource, value: unknown): unknown {
  return NagRules.resolveResourceFromIntrinsic(node, value) as unknown;
}

/** How a KMS key reference was classified. */
export type KmsKeyKind =
  /** A key or alias resource in this stack, or an explicit key id/ARN/alias not under `alias/aws/`. */
  | 'customer-managed'
  /** An AWS managed key (`alias/aws/<service>`). */
  | 'aws-managed'
  /** No key in the template: the service's default (AWS owned or AWS managed) key is used. */
  | 'absent'
  /** A `Ref`/`Fn::GetAtt` to a resource that is not a KMS key or alias. */
  | 'not-a-key'
  /** A parameter, import, pseudo parameter, custom resource or other intrinsic. */
  | 'undecidable';

const KMS_KEY_TYPES = new Set(['AWS::KMS::Key', 'AWS::KMS::ReplicaKey', 'AWS::KMS::Alias']);
const AWS_MANAGED_ALIAS = /(^|:)alias\/aws\//;

/**
 * Classifies a KMS key reference found in a resource property.
 *
 * - A `Ref`/`Fn::GetAtt` to an `AWS::KMS::Key`, `AWS::KMS::ReplicaKey` or
 *   `AWS::KMS::Alias` in the same stack is customer managed (alias names
 *   under `alias/aws/` are reserved by AWS, so an alias resource always names
 *   a customer managed key).
 * - A literal containing `alias/aws/` (alias name or alias ARN) is AWS managed;
 *   any other literal key id, key ARN or alias is taken as customer managed.
 * - An intrinsic whose text mentions `alias/aws/` (for example a `Fn::Join`
 *   that builds an alias ARN) is AWS managed; other intrinsics, parameters,
 *   imports and custom resources are undecidable.
 */
export function classifyKmsKey(node: CfnResource, value: unknown): KmsKeyKind {
  if (isAbsent(value)) return 'absent';
  if (typeof value === 'string') {
    return AWS_MANAGED_ALIAS.test(value) ? 'aws-managed' : 'customer-managed';
  }
  const target = referencedLogicalId(value);
  if (target !== undefined) {
    const element = findElement(node, target);
    // Parameters, pseudo parameters and resources of other stacks cannot be decided.
    if (element === undefined || !CfnResource.isCfnResource(element)) return 'undecidable';
    const type = element.cfnResourceType;
    if (KMS_KEY_TYPES.has(type)) return 'customer-managed';
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') {
      return 'undecidable';
    }
    return 'not-a-key';
  }
  return JSON.stringify(value).includes('alias/aws/') ? 'aws-managed' : 'undecidable';
}

/** A key property that counts as customer managed (or cannot be decided). */
export function customerManagedKey(node: CfnResource, value: unknown): Decision {
  const kind = classifyKmsKey(node, value);
  if (kind === 'customer-managed') return 'yes';
  return kind === 'undecidable' ? 'unknown' : 'no';
}

/**
 * Renders an ARN-like value to a comparable string: literals as-is,
 * `Ref: X` as `{Ref:X}`, `Fn::GetAtt: [X, A]` as `{GetAtt:X.A}`, `Fn::Join`
 * joined and `Fn::Sub` substituted the same way. Anything else is `undefined`.
 */
export function renderReference(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value) || !isIntrinsic(value)) return undefined;
  if (typeof value.Ref === 'string') return `{Ref:${value.Ref}}`;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt.length === 2) return `{GetAtt:${getAtt[0]}.${getAtt[1]}}`;
  if (typeof getAtt === 'string') return `{GetAtt:${getAtt}}`;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map(renderReference);
    return parts.every((p): p is string => p !== undefined) ? parts.join(join[0]) : undefined;
  }
  const sub = value['Fn::Sub'];
  const [template, vars] = Array.isArray(sub) ? sub : [sub, {}];
  if (typeof template === 'string' && isObject(vars)) {
    let unresolved = false;
    const text = template.replace(/\$\{([^!}][^}]*)\}/g, (_m, name: string) => {
      if (name in vars) {
        const rendered = renderReference(vars[name]);
        if (rendered === undefined) unresolved = true;
        return rendered ?? '';
      }
      const dot = name.indexOf('.');
      return dot > 0 ? `{GetAtt:${name}}` : `{Ref:${name}}`;
    });
    return unresolved ? undefined : text;
  }
  return undefined;
}
