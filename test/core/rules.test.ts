import fc from 'fast-check';
import { checkHttpsUrl } from '../../lib/core/https-url';
import {
  CIDR_LIST_RULE,
  EMAIL_LIST_RULE,
  ENDPOINT_PRINCIPALS_RULE,
  integerRule,
  ipv4CidrProblem,
  isRegionalWebAclArn,
  parseIpv4Cidr,
  REGION_LIST_RULE,
  VPC_CIDR_RULE,
  vpcAddressesNeeded,
  prefixFor,
} from '../../lib/core/rules';
import { checkUpstreamBaseUrl } from '../../lib/core/upstream-url';
import { webhookUrlProblem } from '../../lib/core/webhook-url';

describe('IPv4 CIDR blocks', () => {
  test.each([
    ['10.40.0.0/16', { address: 0x0a280000, prefix: 16 }],
    ['0.0.0.0/0', { address: 0, prefix: 0 }],
    ['255.255.255.255/32', { address: 0xffffffff, prefix: 32 }],
  ])('%s parses', (s, expected) => {
    expect(parseIpv4Cidr(s)).toEqual(expected);
  });

  test.each([
    '10.40.0.0',
    '10.40.0/16',
    '10.40.0.0.0/16',
    '256.0.0.0/16',
    '999.1.1.1/16',
    '010.40.0.0/16',
    '10.40.0.0/016',
    '10.40.0.0/33',
    '10.40.0.0/99',
    '10.40.0.0//16',
    ' 10.40.0.0/16',
    '10.40.0.0/16 ',
    '10.40.0.0/',
    '/16',
    '1e1.0.0.0/8',
    '',
  ])('%j does not parse', (s) => {
    expect(parseIpv4Cidr(s)).toBeUndefined();
  });

  test('an address with host bits set is refused, with an example of the fix', () => {
    expect(ipv4CidrProblem('10.40.0.1/16', { min: 16, max: 21 })).toBe(
      'must be an IPv4 CIDR from /16 to /21 whose address is the first of its range (10.40.0.0/16, not 10.40.0.1/16)',
    );
    expect(ipv4CidrProblem('10.0.0.1/32')).toBeUndefined();
    expect(ipv4CidrProblem('10.0.0.0/7')).toBeUndefined();
    expect(ipv4CidrProblem('10.0.0.0/6')).toBeDefined();
  });

  test('the VPC range is /16 to /21 (two zones of /22 workload subnets)', () => {
    expect(VPC_CIDR_RULE.check('10.40.0.0/16')).toBeUndefined();
    expect(VPC_CIDR_RULE.check('10.40.0.0/21')).toBeUndefined();
    expect(VPC_CIDR_RULE.check('10.0.0.0/8')).toBe('must be an IPv4 CIDR from /16 to /21');
    expect(VPC_CIDR_RULE.check('10.40.0.0/22')).toBe('must be an IPv4 CIDR from /16 to /21');
  });

  test('addresses a VPC needs, and the prefix that holds them', () => {
    expect(vpcAddressesNeeded(2, false)).toBe(2048);
    expect(vpcAddressesNeeded(2, true)).toBe(2176);
    expect(vpcAddressesNeeded(6, true)).toBe(6528);
    expect(prefixFor(2048)).toBe(21);
    expect(prefixFor(2049)).toBe(20);
    expect(prefixFor(6528)).toBe(19);
  });

  test('client ranges: any prefix, any number of entries', () => {
    expect(CIDR_LIST_RULE.check([])).toBeUndefined();
    expect(CIDR_LIST_RULE.check(['0.0.0.0/0', '192.168.1.7/32'])).toBeUndefined();
    expect(CIDR_LIST_RULE.check(['10.0.0.0/8', '10.0.0.0/99'])).toBe(
      'must be IPv4 CIDR ranges such as 10.0.0.0/8',
    );
    expect(CIDR_LIST_RULE.check('10.0.0.0/8')).toBe(
      'must be a list of IPv4 CIDR ranges such as 10.0.0.0/8',
    );
  });

  test('linear time: a long input is refused at once', () => {
    const start = process.hrtime.bigint();
    ipv4CidrProblem('1'.repeat(100_000) + '/');
    ipv4CidrProblem('1.'.repeat(50_000) + '/1');
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(200);
  });
});

describe('WAFv2 web ACL ARNs', () => {
  test.each([
    ['arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera/a1b2c3d4-5678-90ab', true],
    ['arn:aws-us-gov:wafv2:us-gov-west-1:111111111111:regional/webacl/x_y-z/abc', true],
    ['arn:aws:wafv2:us-east-1:111111111111:global/webacl/ephemera/abc', false],
    ['arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera', false],
    ['arn:aws:wafv2:eu-west-1:111111111111:regional/ipset/ephemera/abc', false],
    ['arn:aws:wafv2:eu-west-1:1111:regional/webacl/ephemera/abc', false],
    ['arn:aws:waf-regional:eu-west-1:111111111111:webacl/abc', false],
    ['arn:aws:wafv2:EU-WEST-1:111111111111:regional/webacl/ephemera/abc', false],
    ['arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/my acl/abc', false],
    ['waf', false],
    ['', false],
  ])('%s → %s', (arn, ok) => {
    expect(isRegionalWebAclArn(arn)).toBe(ok);
  });
});

describe('lists of email addresses, regions and principals', () => {
  test('emails: bad entries are counted, not named; a repeat is refused', () => {
    expect(EMAIL_LIST_RULE.check(['ops@example.com', 'oncall@example.com'])).toBeUndefined();
    expect(EMAIL_LIST_RULE.check(['ops@example.com', 'ops', 'x'])).toBe(
      'must be email addresses (2 of 3 are not)',
    );
    expect(EMAIL_LIST_RULE.check(['ops@example.com', 'ops@example.com'])).toBe(
      'must not list an address twice',
    );
  });

  test('regions', () => {
    expect(REGION_LIST_RULE.check(['eu-west-1', 'us-gov-west-1', 'ap-southeast-7'])).toBe(
      undefined,
    );
    for (const bad of ['EU-WEST-1', 'eu-west', 'euwest-1', 'eu-west-12', '']) {
      expect(REGION_LIST_RULE.check([bad])).toBe('must be AWS region names such as eu-west-1');
    }
  });

  test('endpoint-service principals', () => {
    expect(
      ENDPOINT_PRINCIPALS_RULE.check([
        '111122223333',
        'arn:aws:iam::111122223333:root',
        'arn:aws:iam::111122223333:role/path/platform',
        'arn:aws-cn:iam::111122223333:user/ci',
      ]),
    ).toBeUndefined();
    for (const bad of ['*', '1111', 'arn:aws:iam::111122223333:group/x', 'arn:aws:iam::*:root']) {
      expect(ENDPOINT_PRINCIPALS_RULE.check([bad])).toBeDefined();
    }
  });

  test('integers: whole numbers in range only', () => {
    const rule = integerRule(2, 6);
    expect(rule.range).toBe('2-6');
    expect([2, 6].map(rule.check)).toEqual([undefined, undefined]);
    for (const bad of [1, 7, 2.5, '3', NaN, null]) {
      expect(rule.check(bad)).toBe('must be an integer from 2 to 6');
    }
  });
});

describe('https URLs: one base rule, named extras', () => {
  const uses = {
    base: (u: string) => checkHttpsUrl(u).ok,
    upstream: (u: string) => checkUpstreamBaseUrl(u).ok,
    webhook: (u: string) => webhookUrlProblem(u) === undefined,
  };

  test('the upstream and the webhook accept exactly what the base rule accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.webUrl().map((u) => u.replace(/^http:/, 'https:')),
          fc.string(),
        ),
        (u) => {
          expect(uses.upstream(u)).toBe(uses.base(u));
          expect(uses.webhook(u)).toBe(uses.base(u));
        },
      ),
      { numRuns: 300 },
    );
  });

  test.each([
    ['https://hooks.example.com/ephemera', true],
    ['https://hooks.example.com:8443/', true],
    ['http://hooks.example.com/x', false],
    ['https://user:pw@hooks.example.com/x', false],
    ['https://hooks.example.com/x?token=1', false],
    ['https://hooks.example.com/x?', false],
    ['https://hooks.example.com/x#f', false],
    ['ftp://hooks.example.com/x', false],
    // The URL parser would drop these silently: the URL used would not be the one written.
    [' https://hooks.example.com/x', false],
    ['https://hooks.exa\tmple.com/x', false],
    ['https://hooks.example.com/x\n', false],
  ])('%j → %s for every use', (u, ok) => {
    expect(Object.values(uses).map((use) => use(u))).toEqual([ok, ok, ok]);
  });

  test('extras: the upstream normalises and allows loopback http in local mode only', () => {
    expect(checkUpstreamBaseUrl('https://llm.example.com/v1/')).toEqual({
      ok: true,
      url: 'https://llm.example.com/v1',
    });
    expect(checkUpstreamBaseUrl('http://127.0.0.1:8000').ok).toBe(false);
    expect(checkUpstreamBaseUrl('http://127.0.0.1:8000', { allowLoopbackHttp: true }).ok).toBe(
      true,
    );
    expect(checkHttpsUrl('http://127.0.0.1:8000', { allowLoopbackHttp: true }).ok).toBe(true);
  });

  test('each use words the credentials problem for its own secret, and never repeats it', () => {
    const url = 'https://svc:CANARY-9f@hooks.example.com/x';
    const upstream = checkUpstreamBaseUrl(url);
    const webhook = webhookUrlProblem(url);
    expect(upstream.ok ? '' : upstream.problem).toContain('upstreamSecretArn');
    expect(webhook).toContain('KMS signature');
    expect(JSON.stringify([upstream, webhook])).not.toContain('CANARY');
  });
});
