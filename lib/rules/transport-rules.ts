import { CfnParameter, CfnResource, Stack } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import {
  CfnObject,
  Decision,
  allOf,
  anyOf,
  booleanValue,
  equalsIgnoreCase,
  isAbsent,
  isIntrinsic,
  isObject,
  listValue,
  logicalIdOf,
  referencedLogicalId,
  renderReference,
  resourceOrLiteral,
  resourcesOfType,
  templateProperties,
  verdict,
} from './cfn-values';

/**
 * Transport rules: no content travels over plain HTTP or TLS below 1.2.
 */

/**
 * The predefined ELB security policies whose lowest protocol is TLS 1.2 or
 * TLS 1.3, from the Application and Network Load Balancer "Security policies"
 * tables. Everything else (ELBSecurityPolicy-2016-08, the CloudFormation
 * default, and every `TLS13-1-0`, `TLS13-1-1`, `TLS-1-1`, `TLS-1-0`,
 * `FS-2018-06`, `FS-1-1` and `2015-05` policy) allows TLS 1.0 or 1.1.
 */
export const TLS12_MINIMUM_ELB_POLICIES: readonly string[] = [
  // TLS 1.3 only
  'ELBSecurityPolicy-TLS13-1-3-2021-06',
  'ELBSecurityPolicy-TLS13-1-3-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-3-RFC9151-FIPS-2023-07',
  // TLS 1.2 and 1.3
  'ELBSecurityPolicy-TLS13-1-2-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06',
  'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04',
  'ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09',
  'ELBSecurityPolicy-TLS13-1-2-RFC9151-FIPS-2023-07',
  'ELBSecurityPolicy-TLS13-1-2-Ext0-RFC9151-FIPS-2023-07',
  'ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP1-FIPS-2023-07',
  'ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP2-FIPS-2023-07',
  'ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP3-FIPS-2023-07',
  'ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07',
  // TLS 1.2 only
  'ELBSecurityPolicy-TLS-1-2-2017-01',
  'ELBSecurityPolicy-TLS-1-2-Ext-2018-06',
  'ELBSecurityPolicy-FS-1-2-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2019-08',
  'ELBSecurityPolicy-FS-1-2-Res-2020-10',
];

const TLS12_POLICY_SET = new Set(TLS12_MINIMUM_ELB_POLICIES);

/**
 * AWS::ElasticLoadBalancingV2::Listener with `Protocol` `HTTPS` (ALB) or `TLS`
 * (NLB) has an `SslPolicy` from `TLS12_MINIMUM_ELB_POLICIES`. A missing
 * `SslPolicy` fails: CloudFormation then applies ELBSecurityPolicy-2016-08,
 * which accepts TLS 1.0. A `SslPolicy` set from an intrinsic passes.
 */
export function ELBListenerTLSPolicy(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::ElasticLoadBalancingV2::Listener') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const props = templateProperties(node);
  const secure = anyOf([
    equalsIgnoreCase(props.Protocol, 'HTTPS'),
    equalsIgnoreCase(props.Protocol, 'TLS'),
  ]);
  if (secure !== 'yes') return NagRuleCompliance.NOT_APPLICABLE;
  const policy = props.SslPolicy;
  if (typeof policy === 'string') {
    return TLS12_POLICY_SET.has(policy)
      ? NagRuleCompliance.COMPLIANT
      : NagRuleCompliance.NON_COMPLIANT;
  }
  return verdict(isIntrinsic(policy) && !isAbsent(policy) ? 'unknown' : 'no');
}

/** Every action in the list redirects to HTTPS. */
function allRedirectToHttps(actions: unknown): Decision {
  const list = listValue(actions);
  if (list === undefined) return 'unknown';
  if (list.length === 0) return 'no';
  return allOf(
    ...list.map((action): Decision => {
      if (!isObject(action)) return isIntrinsic(action) ? 'unknown' : 'no';
      const redirect = action.RedirectConfig;
      // An absent RedirectConfig.Protocol keeps the request's protocol (#{protocol}): HTTP.
      const toHttps: Decision = isIntrinsic(redirect)
        ? 'unknown'
        : isObject(redirect)
          ? equalsIgnoreCase(redirect.Protocol, 'HTTPS')
          : 'no';
      return allOf(equalsIgnoreCase(action.Type, 'redirect'), toHttps);
    }),
  );
}

/**
 * AWS::ElasticLoadBalancingV2::Listener with `Protocol` `HTTP` only redirects
 * to HTTPS: every one of its `DefaultActions`, and every action of each
 * AWS::ElasticLoadBalancingV2::ListenerRule in the same stack whose
 * `ListenerArn` refers to it, is `Type: redirect` with
 * `RedirectConfig.Protocol: HTTPS`. A forward or fixed-response action would
 * serve content over plain HTTP.
 */
export function ALBListenerHTTPRedirect(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::ElasticLoadBalancingV2::Listener') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const props = templateProperties(node);
  if (equalsIgnoreCase(props.Protocol, 'HTTP') !== 'yes') return NagRuleCompliance.NOT_APPLICABLE;
  const listenerId = logicalIdOf(node);
  const ruleActions = resourcesOfType(node, 'AWS::ElasticLoadBalancingV2::ListenerRule')
    .map(templateProperties)
    .filter((rule) => referencedLogicalId(rule.ListenerArn) === listenerId)
    .map((rule) => allRedirectToHttps(rule.Actions));
  return verdict(allOf(allRedirectToHttps(props.DefaultActions), ...ruleActions));
}

const DROP_INVALID_HEADERS = 'routing.http.drop_invalid_header_fields.enabled';

/**
 * AWS::ElasticLoadBalancingV2::LoadBalancer of `Type` `application` (or no
 * `Type`, which defaults to application) has the load balancer attribute
 * `routing.http.drop_invalid_header_fields.enabled` set to `true`.
 */
export function ALBDropInvalidHeaders(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::ElasticLoadBalancingV2::LoadBalancer') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const props = templateProperties(node);
  if (!isAbsent(props.Type) && equalsIgnoreCase(props.Type, 'application') !== 'yes') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const attributes = listValue(props.LoadBalancerAttributes);
  if (attributes === undefined) return NagRuleCompliance.COMPLIANT;
  const entry = attributes.find((a) => isObject(a) && a.Key === DROP_INVALID_HEADERS);
  if (isObject(entry)) return verdict(booleanValue(entry.Value));
  const hidden = attributes.some((a) => isIntrinsic(a) || (isObject(a) && isIntrinsic(a.Key)));
  return verdict(hidden ? 'unknown' : 'no');
}

/** `Principal: "*"` or `Principal: { AWS: "*" }` (or `["*"]`). */
function everyone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (!isObject(principal)) return false;
  const aws = principal.AWS;
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
}

/** `Action` includes `*` or `s3:*`. */
function everyAction(action: unknown): boolean {
  const actions = Array.isArray(action) ? action : [action];
  return actions.some((a) => typeof a === 'string' && (a === '*' || a.toLowerCase() === 's3:*'));
}

/** `Resource` includes both the bucket ARN and the ARN of all its objects. */
function wholeBucket(resource: unknown, bucketArns: RegExp, objectArns: RegExp): boolean {
  const rendered = (Array.isArray(resource) ? resource : [resource]).map(renderReference);
  return (
    rendered.some((r) => r !== undefined && bucketArns.test(r)) &&
    rendered.some((r) => r !== undefined && objectArns.test(r))
  );
}

/**
 * The statement's `Condition` is exactly one operator (one of `operators`)
 * holding exactly one key (`key`), and returns that key's values. A statement
 * that also tests other keys denies less (conditions are ANDed), so it does
 * not count.
 */
function onlyCondition(
  condition: unknown,
  operators: string[],
  key: string,
): unknown[] | undefined {
  if (!isObject(condition)) return undefined;
  const entries = Object.entries(condition);
  if (entries.length !== 1) return undefined;
  const [operator, body] = entries[0];
  if (!operators.includes(operator) || !isObject(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0].toLowerCase() !== key.toLowerCase()) return undefined;
  const value = body[keys[0]];
  return Array.isArray(value) ? value : [value];
}

function deniesInsecureTransport(condition: unknown): boolean {
  const values = onlyCondition(condition, ['Bool', 'BoolIfExists'], 'aws:SecureTransport');
  return values !== undefined && values.some((v) => v === false || v === 'false');
}

function deniesOldTls(condition: unknown): boolean {
  const values = onlyCondition(
    condition,
    ['NumericLessThan', 'NumericLessThanIfExists'],
    's3:TlsVersion',
  );
  if (values === undefined) return false;
  const numbers = values.map(Number).filter((n) => Number.isFinite(n));
  return numbers.length > 0 && Math.max(...numbers) >= 1.2;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * AWS::S3::Bucket is covered by an AWS::S3::BucketPolicy of the same stack
 * (its `Bucket` is a `Ref` to this bucket, or the bucket's literal
 * `BucketName`) with both of these statements:
 *
 * - `Effect: Deny` on `Condition: { Bool: { "aws:SecureTransport": "false" } }`;
 * - `Effect: Deny` on `Condition: { NumericLessThan: { "s3:TlsVersion": 1.2 } }`
 *   (any threshold of 1.2 or more).
 *
 * Each statement must apply to every principal (`*` or `{ AWS: "*" }`), to
 * `s3:*` or `*`, and to both the bucket ARN and `<bucket ARN>/*`, and its
 * `Condition` must hold only that one test. This is what CDK writes for
 * `enforceSSL: true` and `minimumTLSVersion: 1.2`.
 */
export function S3BucketTLSOnly(node: CfnResource): NagRuleCompliance {
  if (node.cfnResourceType !== 'AWS::S3::Bucket') return NagRuleCompliance.NOT_APPLICABLE;
  const bucketId = logicalIdOf(node);
  const bucketName = templateProperties(node).BucketName;
  const names = [`\\{Ref:${escapeRegExp(bucketId)}\\}`];
  if (typeof bucketName === 'string') names.push(escapeRegExp(bucketName));
  const arn = `(\\{GetAtt:${escapeRegExp(bucketId)}\\.Arn\\}|arn:[^:]+:s3:::(${names.join('|')}))`;
  const bucketArns = new RegExp(`^${arn}$`);
  const objectArns = new RegExp(`^${arn}/\\*$`);

  const policies = resourcesOfType(node, 'AWS::S3::BucketPolicy')
    .map((policy) => ({ policy, props: templateProperties(policy) }))
    .filter(({ policy, props }) => {
      const target = resourceOrLiteral(policy, props.Bucket);
      return target === bucketId || (typeof bucketName === 'string' && target === bucketName);
    });

  let secureTransport: Decision = 'no';
  let tlsVersion: Decision = 'no';
  for (const { props } of policies) {
    const document = props.PolicyDocument;
    const statements = isIntrinsic(document)
      ? undefined
      : isObject(document)
        ? listValue(document.Statement)
        : [];
    if (statements === undefined) {
      // The document is built at deploy time: it cannot be decided.
      secureTransport = anyOf([secureTransport, 'unknown']);
      tlsVersion = anyOf([tlsVersion, 'unknown']);
      continue;
    }
    for (const statement of statements) {
      if (!isObject(statement) || !applyToWholeBucket(statement, bucketArns, objectArns)) continue;
      if (deniesInsecureTransport(statement.Condition)) secureTransport = 'yes';
      if (deniesOldTls(statement.Condition)) tlsVersion = 'yes';
    }
  }
  return verdict(allOf(secureTransport, tlsVersion));
}

function applyToWholeBucket(statement: CfnObject, bucketArns: RegExp, objectArns: RegExp): boolean {
  return (
    statement.Effect === 'Deny' &&
    statement.NotPrincipal === undefined &&
    statement.NotAction === undefined &&
    statement.NotResource === undefined &&
    everyone(statement.Principal) &&
    everyAction(statement.Action) &&
    wholeBucket(statement.Resource, bucketArns, objectArns)
  );
}

const ACM_CERTIFICATE_ARN = /^arn:aws[a-z0-9-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]{1,64}$/;

/**
 * An HTTPS or TLS listener's certificates (and those of its
 * `ListenerCertificate` resources) come from ACM: a literal ACM ARN, a `Ref`
 * to an `AWS::CertificateManager::Certificate` in the stack, or a `Ref` to a
 * template parameter whose `AllowedPattern` only admits ACM certificate ARNs.
 * This is Control Tower's CT.ELASTICLOADBALANCING.PR.2, which the cfn-guard
 * plugin cannot evaluate when the certificate is a parameter.
 */
export function ALBListenerACMCertificate(node: CfnResource): NagRuleCompliance {
  const type = node.cfnResourceType;
  const props = templateProperties(node);
  if (type === 'AWS::ElasticLoadBalancingV2::Listener') {
    const secure = anyOf([
      equalsIgnoreCase(props.Protocol, 'HTTPS'),
      equalsIgnoreCase(props.Protocol, 'TLS'),
    ]);
    if (secure !== 'yes') return NagRuleCompliance.NOT_APPLICABLE;
  } else if (type !== 'AWS::ElasticLoadBalancingV2::ListenerCertificate') {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const certificates = listValue(props.Certificates);
  if (!certificates || certificates.length === 0) return NagRuleCompliance.NON_COMPLIANT;
  return verdict(
    allOf(
      ...certificates.map((c) => (isObject(c) ? acmCertificate(node, c.CertificateArn) : 'no')),
    ),
  );
}

function acmCertificate(node: CfnResource, arn: unknown): Decision {
  if (typeof arn === 'string') return ACM_CERTIFICATE_ARN.test(arn) ? 'yes' : 'no';
  const id = referencedLogicalId(arn);
  if (!id) return isIntrinsic(arn) ? 'unknown' : 'no';
  const parameter = Stack.of(node).resolve(
    (
      Stack.of(node)
        .node.findAll()
        .find((c) => c instanceof CfnParameter && Stack.of(node).getLogicalId(c) === id) as
        CfnParameter | undefined
    )?.allowedPattern,
  );
  if (typeof parameter === 'string') {
    // The parameter admits only ACM ARNs when its pattern is anchored and names acm.
    return /^\^arn:aws[^:]*:acm:/.test(parameter) && parameter.endsWith('$') ? 'yes' : 'no';
  }
  const resource = resourcesOfType(node, 'AWS::CertificateManager::Certificate').find(
    (r) => logicalIdOf(r) === id,
  );
  return resource ? 'yes' : 'no';
}
