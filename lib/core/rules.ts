/**
 * Rules for values that reach both the app's configuration (`cdk.json`
 * context, read by lib/config.ts) and the constructs that receive them as
 * props: one function per kind of value, so a value that one level accepts
 * the other never refuses.
 *
 * A rule answers with a problem that completes "<setting> ..." (`must be an
 * integer from 2 to 6`), or undefined when the value is allowed. A problem
 * never repeats the value: the caller decides whether the value may be shown
 * (a URL may carry a password). Every check runs in time linear in the length
 * of its input: text is walked character by character, and the few regular
 * expressions cannot backtrack (the lint's regexp rules hold them to that).
 */

import { isEmailAddress } from './text';

/** A rule and the values it allows, in words. */
export interface Rule {
  /** The allowed values, for the configuration table (Markdown). */
  readonly range: string;
  /** Why `value` is refused (completes "<setting> ..."), or undefined when it is allowed. */
  readonly check: (value: unknown) => string | undefined;
}

/** An inclusive range of integers. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** Why `value` is not an integer in `range`, or undefined when it is. */
export function integerProblem(value: unknown, range: IntegerRange): string | undefined {
  return typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= range.min &&
    value <= range.max
    ? undefined
    : `must be an integer from ${range.min} to ${range.max}`;
}

/** An integer from `min` to `max`. */
export function integerRule(min: number, max: number): Rule {
  return { range: `${min}-${max}`, check: (v) => integerProblem(v, { min, max }) };
}

/** `true` or `false`. */
export const BOOLEAN_RULE: Rule = {
  range: 'boolean',
  check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
};

/** One of a fixed list of strings. */
export function oneOfRule(values: readonly string[]): Rule {
  return {
    range: values.map((v) => `\`${v}\``).join(', '),
    check: (v) =>
      typeof v === 'string' && values.includes(v)
        ? undefined
        : `must be one of ${values.join(', ')}`,
  };
}

/** A string that `accepts` takes, described as `what` ("an ACM certificate ARN"). */
export function stringRule(range: string, what: string, accepts: (s: string) => boolean): Rule {
  return {
    range,
    check: (v) => (typeof v === 'string' && accepts(v) ? undefined : `must be ${what}`),
  };
}

/** Options of `listRule`. */
export interface ListRuleOptions {
  /** The entries in words, plural ("email addresses"); problems read "must be <what>". */
  readonly what: string;
  /** Tell how many entries are bad ("(2 of 3 are not)"), without naming them. @default false */
  readonly countBad?: boolean;
  /** Refuse a list that names the same entry twice, with this problem. @default - repeats allowed */
  readonly noRepeats?: string;
}

/** A list of strings, each one accepted by `entry`. */
export function listRule(
  range: string,
  entry: (s: string) => boolean,
  options: ListRuleOptions,
): Rule {
  return {
    range,
    check: (v) => {
      if (!Array.isArray(v)) return `must be a list of ${options.what}`;
      const bad = v.filter((e) => typeof e !== 'string' || !entry(e)).length;
      if (bad > 0) {
        return options.countBad
          ? `must be ${options.what} (${bad} of ${v.length} are not)`
          : `must be ${options.what}`;
      }
      if (options.noRepeats !== undefined && new Set(v).size !== v.length) return options.noRepeats;
      return undefined;
    },
  };
}

// ---------------------------------------------------------------------------
// IPv4 CIDR blocks

/** The value of a decimal octet written without leading zeros (`0` to `255`), or -1. */
function octet(s: string): number {
  if (s.length === 0 || s.length > 3 || (s.length > 1 && s.charCodeAt(0) === 0x30)) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 255 ? n : -1;
}

/** An IPv4 CIDR block as numbers. */
export interface Ipv4Cidr {
  /** The address as an unsigned 32-bit integer. */
  readonly address: number;
  /** The prefix length, 0 to 32. */
  readonly prefix: number;
}

/**
 * Parses `a.b.c.d/n` (decimal, no leading zeros, no spaces; n from 0 to 32),
 * or answers undefined.
 */
export function parseIpv4Cidr(s: string): Ipv4Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return undefined;
  const parts = s.slice(0, slash).split('.');
  const prefix = octet(s.slice(slash + 1));
  if (parts.length !== 4 || prefix < 0 || prefix > 32) return undefined;
  let address = 0;
  for (const part of parts) {
    const n = octet(part);
    if (n < 0) return undefined;
    address = address * 256 + n;
  }
  return { address, prefix };
}

/** Whether the address of a block is the first of its range (no host bits set). */
export function isNetworkAddress(cidr: Ipv4Cidr): boolean {
  return cidr.address % 2 ** (32 - cidr.prefix) === 0;
}

/**
 * Why `value` is not an IPv4 CIDR block with a prefix in `prefix`, whose
 * address is the first of its range, or undefined when it is. A block such as
 * `10.40.0.1/16` is refused: AWS would not use it as written (a VPC built on
 * it gets other subnets, a security group rule is widened to `10.40.0.0/16`).
 */
export function ipv4CidrProblem(
  value: unknown,
  prefix: IntegerRange = { min: 0, max: 32 },
): string | undefined {
  const what =
    prefix.min === 0 && prefix.max === 32
      ? 'an IPv4 CIDR'
      : `an IPv4 CIDR from /${prefix.min} to /${prefix.max}`;
  const cidr = typeof value === 'string' ? parseIpv4Cidr(value) : undefined;
  if (!cidr || cidr.prefix < prefix.min || cidr.prefix > prefix.max) return `must be ${what}`;
  if (!isNetworkAddress(cidr)) {
    return `must be ${what} whose address is the first of its range (10.40.0.0/16, not 10.40.0.1/16)`;
  }
  return undefined;
}

/**
 * Prefix lengths a VPC may have (the IsolatedNetwork's `cidr`, the `vpcCidr`
 * key): a /22 workload subnet in each of at least two zones needs a /21. With
 * more zones, or public subnets, IsolatedNetwork asks for more
 * (`vpcAddressesNeeded`).
 */
export const VPC_CIDR_PREFIX: IntegerRange = { min: 16, max: 21 };

/** Prefix of each zone's workload subnet. */
export const WORKLOAD_SUBNET_PREFIX = 22;
/** Prefix of each zone's public subnet (load balancers, NAT), when there is one. */
export const PUBLIC_SUBNET_PREFIX = 26;

/** Addresses a VPC needs for its subnets in `zones` zones, with or without public subnets. */
export function vpcAddressesNeeded(zones: number, publicSubnets: boolean): number {
  const perZone =
    2 ** (32 - WORKLOAD_SUBNET_PREFIX) + (publicSubnets ? 2 ** (32 - PUBLIC_SUBNET_PREFIX) : 0);
  return zones * perZone;
}

/** The smallest VPC prefix (largest number) that holds `addresses`. */
export function prefixFor(addresses: number): number {
  let prefix = 32;
  while (prefix > 0 && 2 ** (32 - prefix) < addresses) prefix--;
  return prefix;
}

/** The IPv4 range of a VPC: `vpcCidr`, and IsolatedNetwork's `cidr`. */
export const VPC_CIDR_RULE: Rule = {
  range: `IPv4 CIDR from /${VPC_CIDR_PREFIX.min} to /${VPC_CIDR_PREFIX.max}`,
  check: (v) => ipv4CidrProblem(v, VPC_CIDR_PREFIX),
};

/** Client ranges: `allowedCidrs`, and TlsLoadBalancer's `allowedCidrs`. */
export const CIDR_LIST_RULE: Rule = listRule(
  'IPv4 CIDRs',
  (s) => ipv4CidrProblem(s) === undefined,
  { what: 'IPv4 CIDR ranges such as 10.0.0.0/8' },
);

// ---------------------------------------------------------------------------
// ARNs and names

/**
 * The parts of `arn:partition:service:region:account:resource`, or undefined
 * when `s` has another number of colons or another prefix.
 */
function arnParts(
  s: string,
):
  | { partition: string; service: string; region: string; account: string; resource: string }
  | undefined {
  const parts = s.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn') return undefined;
  const [, partition, service, region, account, resource] = parts;
  return { partition, service, region, account, resource };
}

/** Whether every character of `s` is one of `allowed` (`s` may not be empty). */
function onlyChars(s: string, allowed: (code: number) => boolean): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!allowed(s.charCodeAt(i))) return false;
  return true;
}

const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHyphen = (c: number) => c === 0x2d;

/** Whether `s` is an AWS partition: `aws`, `aws-cn`, `aws-us-gov`, ... */
function isPartition(s: string): boolean {
  return s.startsWith('aws') && onlyChars(s, (c) => isLower(c) || isHyphen(c));
}

/** Whether `s` is a 12-digit AWS account id. */
export function isAccountId(s: unknown): s is string {
  return typeof s === 'string' && s.length === 12 && onlyChars(s, isDigit);
}

/** AWS region names: `eu-west-1`, `us-gov-west-1`. */
const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/** Whether `s` is the name of an AWS region (`eu-west-1`, `us-gov-west-1`). */
export function isRegionName(s: unknown): s is string {
  return typeof s === 'string' && REGION_PATTERN.test(s);
}

/**
 * Whether `s` is the ARN of a REGIONAL AWS WAFv2 web ACL:
 * `arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>`. A
 * CloudFront (`global/`) web ACL cannot be associated with a load balancer.
 */
export function isRegionalWebAclArn(s: unknown): s is string {
  const arn = typeof s === 'string' ? arnParts(s) : undefined;
  if (!arn || !isPartition(arn.partition) || arn.service !== 'wafv2') return false;
  if (!isRegionName(arn.region) || !isAccountId(arn.account)) return false;
  const path = arn.resource.split('/');
  const word = (c: number) => isLower(c) || isUpper(c) || isDigit(c) || isHyphen(c);
  return (
    path.length === 4 &&
    path[0] === 'regional' &&
    path[1] === 'webacl' &&
    path[2].length <= 128 &&
    onlyChars(path[2], (c) => word(c) || c === 0x5f) &&
    path[3].length <= 128 &&
    onlyChars(path[3], word)
  );
}

/** `webAclArn`, and TlsLoadBalancer's `webAclArn`. */
export const WEB_ACL_ARN_RULE: Rule = stringRule(
  'WAFv2 regional web ACL ARN',
  'the ARN of a REGIONAL WAFv2 web ACL',
  isRegionalWebAclArn,
);

/** An AWS account id, or the ARN of an account root, IAM role or IAM user. */
export const ENDPOINT_PRINCIPAL_PATTERN =
  /^(?:\d{12}|arn:aws[a-z-]*:iam::\d{12}:(?:root|role\/[\w+=,.@/-]{1,512}|user\/[\w+=,.@/-]{1,512}))$/;

/** `endpointServicePrincipals`, and PrivateFrontDoor's `allowedPrincipals`. */
export const ENDPOINT_PRINCIPALS_RULE: Rule = listRule(
  'AWS account ids or ARNs of account roots, IAM roles or IAM users',
  (s) => ENDPOINT_PRINCIPAL_PATTERN.test(s),
  {
    what: '12-digit account ids or ARNs of an account root, IAM role or IAM user (never *)',
  },
);

/** A VPC endpoint id: `vpce-` and 8 or 17 hexadecimal digits. */
export const VPC_ENDPOINT_ID_PATTERN = /^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** `apiVpcEndpointIds`, and StreamingFrontDoor's `vpcEndpointIds`. */
export const VPC_ENDPOINT_IDS_RULE: Rule = listRule(
  'VPC endpoint ids',
  (s) => VPC_ENDPOINT_ID_PATTERN.test(s),
  {
    what: 'VPC endpoint ids such as vpce-0123456789abcdef0',
    noRepeats: 'must not list an endpoint twice',
  },
);

/** `allowedRegions`, and InferenceGateway's `allowedRegions`. */
export const REGION_LIST_RULE: Rule = listRule('list of regions', isRegionName, {
  what: 'AWS region names such as eu-west-1',
});

// ---------------------------------------------------------------------------
// Email addresses

/**
 * `alarmEmails`, and IncidentResponse's `alarmEmails`. An address listed twice
 * would be subscribed twice, which SNS (and CDK) refuse.
 */
export const EMAIL_LIST_RULE: Rule = listRule('email addresses', isEmailAddress, {
  what: 'email addresses',
  countBad: true,
  noRepeats: 'must not list an address twice',
});
