import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import {
  NOT_FOUND_BODY,
  sslPolicyFor,
  TlsLoadBalancer,
  TlsLoadBalancerProps,
  TlsVersions,
} from '../../lib/tls-load-balancer';
import {
  expectThrowsExactly,
  logicalId,
  TEST_CERTIFICATE_ARN,
  testCertificate,
  testStack,
} from '../support/stacks';

const WEB_ACL_ARN =
  'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera/11111111-2222-3333-4444-555555555555';

interface Built {
  stack: Stack;
  vpc: ec2.Vpc;
  lb: TlsLoadBalancer;
  template: Template;
}

/** A VPC with public and isolated subnets, and the load balancer in it. */
function build(props: Partial<TlsLoadBalancerProps> = {}): Built {
  const stack = testStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
    restrictDefaultSecurityGroup: false,
  });
  const lb = new TlsLoadBalancer(stack, 'FrontDoor', {
    vpc,
    certificate: testCertificate(stack),
    ...props,
  });
  return { stack, vpc, lb, template: Template.fromStack(stack) };
}

const attributesOf = (template: Template): Record<string, unknown> => {
  const [lb] = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
  return Object.fromEntries(
    lb.Properties.LoadBalancerAttributes.map((a: { Key: string; Value: unknown }) => [
      a.Key,
      a.Value,
    ]),
  );
};

const ingressOf = (built: Built) =>
  built.template.findResources('AWS::EC2::SecurityGroup')[logicalId(built.lb.securityGroup)]
    .Properties.SecurityGroupIngress;

describe('TlsLoadBalancer, by default', () => {
  const built = build();
  const { vpc, lb, template } = built;

  test('has one HTTPS listener on 443 with the TLS 1.3 / 1.2 policy and the certificate', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: { Ref: logicalId(lb.loadBalancer) },
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      Certificates: [{ CertificateArn: TEST_CERTIFICATE_ARN }],
    });
  });

  test('has no port-80 listener and no port-80 ingress', () => {
    template.resourcePropertiesCountIs('AWS::ElasticLoadBalancingV2::Listener', { Port: 80 }, 0);
    expect(ingressOf(built).map((r: { FromPort: number }) => r.FromPort)).toEqual([443]);
  });

  test('answers unrouted requests with a JSON 404', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      DefaultActions: [
        {
          Type: 'fixed-response',
          FixedResponseConfig: {
            StatusCode: '404',
            ContentType: 'application/json',
            MessageBody: NOT_FOUND_BODY,
          },
        },
      ],
    });
    expect(JSON.parse(NOT_FOUND_BODY)).toEqual({
      error: {
        type: 'invalid_request_error',
        message: 'No route for this path',
        param: null,
        code: null,
      },
    });
  });

  test('drops invalid headers, mitigates desync strictly, is deletion-protected, keeps no access logs', () => {
    const attributes = attributesOf(template);
    expect(attributes).toEqual(
      expect.objectContaining({
        'routing.http.drop_invalid_header_fields.enabled': 'true',
        'routing.http.desync_mitigation_mode': 'strictest',
        'deletion_protection.enabled': 'true',
        'idle_timeout.timeout_seconds': '60',
      }),
    );
    expect(attributes['access_logs.s3.enabled']).toBeUndefined();
    expect(lb.accessLogBucket).toBeUndefined();
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  test('is internal, in the isolated subnets', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'application',
      Scheme: 'internal',
      Subnets: vpc.isolatedSubnets.map((s) => ({ Ref: logicalId(s) })),
      SecurityGroups: [{ 'Fn::GetAtt': [logicalId(lb.securityGroup), 'GroupId'] }],
    });
  });

  test('its security group lets in only HTTPS from the VPC CIDR, and nothing out', () => {
    expect(ingressOf(built)).toEqual([
      {
        CidrIp: { 'Fn::GetAtt': [logicalId(vpc), 'CidrBlock'] },
        Description: 'HTTPS',
        FromPort: 443,
        IpProtocol: 'tcp',
        ToPort: 443,
      },
    ]);
    const group = template.findResources('AWS::EC2::SecurityGroup')[logicalId(lb.securityGroup)];
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({
        CidrIp: '255.255.255.255/32',
        Description: 'Disallow all traffic',
      }),
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('has no web ACL association', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });
});

describe('TlsLoadBalancer with accessLogs', () => {
  const { lb, template } = build({ accessLogs: true });

  test('logs access to its bucket', () => {
    expect(attributesOf(template)).toEqual(
      expect.objectContaining({
        'access_logs.s3.enabled': 'true',
        'access_logs.s3.bucket': { Ref: logicalId(lb.accessLogBucket!) },
      }),
    );
  });

  test('access logs go to an SSE-S3 bucket that expires them after 30 days', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[logicalId(lb.accessLogBucket!)];
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      LifecycleConfiguration: {
        Rules: [
          {
            Status: 'Enabled',
            ExpirationInDays: 30,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  test('the access-log bucket is TLS-only and lets log delivery write only under AWSLogs/<account>/', () => {
    const bucketId = logicalId(lb.accessLogBucket!);
    const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const statements: Array<Record<string, unknown>> = policy.Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      }),
    );
    const logsPrefix = {
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/AWSLogs/', { Ref: 'AWS::AccountId' }, '/*'],
      ],
    };
    for (const s of statements.filter((x) => x.Effect === 'Allow' && x.Action === 's3:PutObject')) {
      expect(s.Resource).toEqual(logsPrefix);
    }
    expect(statements.filter((x) => x.Effect === 'Allow').map((x) => x.Action)).toEqual([
      's3:PutObject',
      's3:PutObject',
      's3:GetBucketAcl',
    ]);
  });
});

describe('TlsLoadBalancer options', () => {
  test.each([
    [TlsVersions.TLS_1_2_AND_1_3, false, 'ELBSecurityPolicy-TLS13-1-2-2021-06'],
    [TlsVersions.TLS_1_2_AND_1_3, true, 'ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04'],
    [TlsVersions.TLS_1_3_ONLY, false, 'ELBSecurityPolicy-TLS13-1-3-2021-06'],
    [TlsVersions.TLS_1_3_ONLY, true, 'ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04'],
  ])('tlsVersions %s with fips %s uses %s', (tlsVersions, fips, policy) => {
    expect(sslPolicyFor(tlsVersions, fips)).toBe(policy as elbv2.SslPolicy);
    build({ tlsVersions, fips }).template.hasResourceProperties(
      'AWS::ElasticLoadBalancingV2::Listener',
      { Port: 443, SslPolicy: policy },
    );
  });

  test('httpRedirect adds a port-80 listener whose only action is a permanent redirect to HTTPS 443', () => {
    const built = build({ httpRedirect: true });
    built.template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    const [http] = Object.values(
      built.template.findResources('AWS::ElasticLoadBalancingV2::Listener', {
        Properties: { Port: 80 },
      }),
    );
    expect(http.Properties).toEqual({
      LoadBalancerArn: { Ref: logicalId(built.lb.loadBalancer) },
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ],
    });
    built.template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
    expect(ingressOf(built).map((r: { FromPort: number }) => r.FromPort)).toEqual([443, 80]);
  });

  test('internetFacing makes it internet-facing in the public subnets, open to 0.0.0.0/0 on 443 only', () => {
    const built = build({ internetFacing: true });
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Subnets: built.vpc.publicSubnets.map((s) => ({ Ref: logicalId(s) })),
    });
    expect(ingressOf(built)).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'HTTPS', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
  });

  test('allowedCidrs replaces the default source ranges', () => {
    const built = build({
      internetFacing: true,
      allowedCidrs: ['192.0.2.0/24', '198.51.100.0/24'],
    });
    expect(ingressOf(built)).toEqual([
      expect.objectContaining({ CidrIp: '192.0.2.0/24', FromPort: 443, ToPort: 443 }),
      expect.objectContaining({ CidrIp: '198.51.100.0/24', FromPort: 443, ToPort: 443 }),
    ]);
  });

  test('idleTimeout, deletionProtection and accessLogRetention are applied', () => {
    const { lb, template } = build({
      idleTimeout: Duration.minutes(5),
      deletionProtection: false,
      accessLogs: true,
      accessLogRetention: Duration.days(90),
    });
    expect(attributesOf(template)).toEqual(
      expect.objectContaining({
        'idle_timeout.timeout_seconds': '300',
        'deletion_protection.enabled': 'false',
      }),
    );
    const bucket = template.findResources('AWS::S3::Bucket')[logicalId(lb.accessLogBucket!)];
    expect(bucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(90);
  });

  test('webAclArn associates the web ACL with the load balancer', () => {
    const { lb, template } = build({ webAclArn: WEB_ACL_ARN });
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: logicalId(lb.loadBalancer) },
      WebACLArn: WEB_ACL_ARN,
    });
  });

  test('vpcSubnets overrides the subnet choice', () => {
    const built = build({ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Subnets: built.vpc.publicSubnets.map((s) => ({ Ref: logicalId(s) })),
    });
  });

  test('with httpRedirect and allowedCidrs, ports 443 and 80 are open to those ranges only', () => {
    // `open: false` on both listeners: CDK adds no 0.0.0.0/0 rule of its own.
    const built = build({ httpRedirect: true, internetFacing: true, allowedCidrs: ['10.0.0.0/8'] });
    expect(
      ingressOf(built).map((r: { CidrIp: unknown; FromPort: number }) => [r.CidrIp, r.FromPort]),
    ).toEqual([
      ['10.0.0.0/8', 443],
      ['10.0.0.0/8', 80],
    ]);
  });
});

describe('TlsLoadBalancer validation', () => {
  const message = (...problems: string[]) =>
    'Invalid TlsLoadBalancer props:\n' + problems.map((p) => `  - ${p}`).join('\n');

  test.each([
    [
      'idleTimeout 0 seconds',
      { idleTimeout: Duration.seconds(0) },
      'idleTimeout must be between 1 second and 4000 seconds (got 0 seconds)',
    ],
    [
      'accessLogRetention 0 days',
      { accessLogRetention: Duration.days(0) },
      'accessLogRetention must be between 1 day and 400 days (got 0 seconds)',
    ],
    [
      'accessLogRetention 401 days',
      { accessLogRetention: Duration.days(401) },
      'accessLogRetention must be between 1 day and 400 days (got 401 days)',
    ],
    [
      'a CIDR without a mask',
      { allowedCidrs: ['10.0.0.0'] },
      'allowedCidrs must be IPv4 CIDR ranges such as 10.0.0.0/8',
    ],
    [
      'an IPv6 CIDR',
      { allowedCidrs: ['2001:db8::/32'] },
      'allowedCidrs must be IPv4 CIDR ranges such as 10.0.0.0/8',
    ],
    [
      'empty allowedCidrs on an internet-facing load balancer',
      { allowedCidrs: [], internetFacing: true },
      'allowedCidrs must not be empty for an internet-facing load balancer (omit it for the default)',
    ],
    [
      'a global (CloudFront) web ACL',
      { webAclArn: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/ephemera/abc' },
      'webAclArn must be the ARN of a REGIONAL WAFv2 web ACL',
    ],
  ] as Array<[string, Partial<TlsLoadBalancerProps>, string]>)(
    '%s is rejected',
    (_l, props, problem) => {
      expectThrowsExactly(() => build(props), message(problem));
    },
  );

  test('every problem is reported together', () => {
    expectThrowsExactly(
      () =>
        build({
          idleTimeout: Duration.seconds(0),
          accessLogRetention: Duration.days(401),
          allowedCidrs: ['everywhere'],
          webAclArn: 'not-an-arn',
        }),
      message(
        'idleTimeout must be between 1 second and 4000 seconds (got 0 seconds)',
        'accessLogRetention must be between 1 day and 400 days (got 401 days)',
        'allowedCidrs must be IPv4 CIDR ranges such as 10.0.0.0/8',
        'webAclArn must be the ARN of a REGIONAL WAFv2 web ACL',
      ),
    );
  });

  test('the bounds are accepted', () => {
    expect(() =>
      build({ idleTimeout: Duration.seconds(4000), accessLogRetention: Duration.days(400) }),
    ).not.toThrow();
    expect(() =>
      build({ idleTimeout: Duration.seconds(1), accessLogRetention: Duration.days(1) }),
    ).not.toThrow();
  });

  test('idleTimeout 4001 seconds is rejected', () => {
    expect(() => build({ idleTimeout: Duration.seconds(4001) })).toThrow(
      /^Invalid TlsLoadBalancer props:\n {2}- idleTimeout must be between 1 second and /,
    );
  });

  // Regression guard, fixed bug (lib/private/validation.ts, PropsValidator.duration): messages use
  // Duration.toHumanString(), which keeps only the two largest units, so the
  // range's upper bound of 4000 s and the rejected 4001 s both print as
  // "1 hour 6 minutes": "idleTimeout must be between 1 second and 1 hour 6
  // minutes (got 1 hour 6 minutes)". Fixed by: print exact amounts, e.g. fall back
  // to `${d.toSeconds()} seconds` when toHumanString() loses precision
  // (d.toSeconds() !== parsed value), or always add the seconds in brackets.
  test('the idleTimeout message tells 4001 seconds apart from the 4000-second bound', () => {
    let message = '';
    try {
      build({ idleTimeout: Duration.seconds(4001) });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/4000 seconds/);
    expect(message).toMatch(/4001 seconds/);
  });
});
