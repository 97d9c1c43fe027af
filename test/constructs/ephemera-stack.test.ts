import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { expectThrowsExactly, logicalId, TEST_CERTIFICATE_ARN, testApp } from '../support/stacks';

/** The stack from context (as `cdk deploy -c ...` builds it), in `region`, or environment-agnostic for null. */
function stackWith(context: Record<string, unknown>, region: string | null = 'eu-west-1') {
  return new EphemeraStack(testApp(context), 'Ephemera', region ? { env: { region } } : {});
}

const RESIDENCY = { allowedRegions: '["eu-west-1","eu-central-1"]' };

describe('EphemeraStack: data residency (allowedRegions)', () => {
  test('synthesizes in an allowed region', () => {
    const stack = stackWith(RESIDENCY, 'eu-west-1');
    expect(() => Template.fromStack(stack)).not.toThrow();
    expect(stack.config.allowedRegions).toEqual(['eu-west-1', 'eu-central-1']);
  });

  test('refuses a region outside the list', () => {
    expectThrowsExactly(
      () => stackWith(RESIDENCY, 'us-east-1'),
      'Region us-east-1 is not in allowedRegions (eu-west-1, eu-central-1): data residency forbids deploying Ephemera there.',
    );
  });

  test('refuses an environment-agnostic stack', () => {
    expectThrowsExactly(
      () => stackWith(RESIDENCY, null),
      'allowedRegions is set (eu-west-1, eu-central-1), so the stack needs an explicit region: set CDK_DEFAULT_REGION or pass -c region=<region>.',
    );
  });

  test('refuses a configured model whose inference profile can route outside the allowed regions', () => {
    const models = JSON.stringify([
      { id: 'claude', upstreamId: 'eu.anthropic.claude-x-v1:0', kind: 'chat' },
    ]);
    expect(() => stackWith({ ...RESIDENCY, models }, 'eu-west-1')).toThrow(
      'models[0] (claude) is a cross-region inference profile (eu.) that can send prompts to eu-north-1, eu-south-1, eu-south-2, eu-west-3, outside allowedRegions (eu-west-1, eu-central-1)',
    );
  });
});

describe('EphemeraStack: remote image URLs', () => {
  test('refused by default; remoteImageUrls=allow reaches the gateway', () => {
    const variable = (stack: EphemeraStack) =>
      Template.fromStack(stack).findResources('AWS::Lambda::Function')[
        logicalId(stack.gateway.handler.function)
      ].Properties.Environment.Variables.REMOTE_IMAGE_URLS;
    expect(variable(stackWith({}))).toBe('deny');
    expect(variable(stackWith({ remoteImageUrls: 'allow' }))).toBe('allow');
    expect(() => stackWith({ remoteImageUrls: 'sometimes' })).toThrow(
      'remoteImageUrls must be one of deny, allow (got "sometimes")',
    );
  });
});

describe('EphemeraStack: front door', () => {
  test("frontDoor 'both' is refused until PrivateFrontDoor exists", () => {
    expectThrowsExactly(
      () => stackWith({ frontDoor: 'both' }),
      "frontDoor 'both' needs the PrivateFrontDoor (PrivateLink) construct, which this version does not include yet; use 'public' or 'private'.",
    );
  });

  test("frontDoor 'public' (the default): internet-facing ALB, an internet gateway, still no NAT", () => {
    const template = Template.fromStack(stackWith({}));
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
    });
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test("frontDoor 'private': no internet-facing load balancer and no internet gateway (P9)", () => {
    const template = Template.fromStack(stackWith({ frontDoor: 'private' }));
    template.resourcePropertiesCountIs(
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      { Scheme: 'internet-facing' },
      0,
    );
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
    });
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  // Regression guard, fixed bug (lib/ephemera-stack.ts, new TlsLoadBalancer(...) in the constructor; default in
  // lib/tls-load-balancer.ts vpcSubnets): with allowInternetEgress the workload
  // subnets are PRIVATE_WITH_EGRESS, but an internal TlsLoadBalancer defaults to
  // PRIVATE_ISOLATED subnets, so `-c frontDoor=private -c allowInternetEgress=true`
  // fails synth with "There are no 'Isolated' subnet groups in this VPC". Fixed by: pass
  // `vpcSubnets: internetFacing ? undefined : this.network.workloadSubnets` to the
  // TlsLoadBalancer in EphemeraStack.
  test('frontDoor private with allowInternetEgress synthesizes an internal ALB', () => {
    const template = Template.fromStack(
      stackWith({ frontDoor: 'private', allowInternetEgress: 'true' }),
    );
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
    });
  });
});

describe('EphemeraStack: listener certificate', () => {
  const listenerCertificates = (stack: Stack) =>
    Object.values(
      Template.fromStack(stack).findResources('AWS::ElasticLoadBalancingV2::Listener', {
        Properties: { Port: 443 },
      }),
    ).map((l) => l.Properties.Certificates);

  test('certificateArn set: the listener uses it and there is no parameter', () => {
    const stack = stackWith({ certificateArn: TEST_CERTIFICATE_ARN });
    expect(listenerCertificates(stack)).toEqual([[{ CertificateArn: TEST_CERTIFICATE_ARN }]]);
    const parameters = Template.fromStack(stack).toJSON().Parameters ?? {};
    expect(parameters.CertificateArn).toBeUndefined();
  });

  test('certificateArn unset: a CertificateArn parameter, constrained to ACM ARNs, feeds the listener', () => {
    const stack = stackWith({});
    const template = Template.fromStack(stack);
    template.hasParameter('CertificateArn', {
      Type: 'String',
      AllowedPattern: '^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$',
    });
    expect(listenerCertificates(stack)).toEqual([[{ CertificateArn: { Ref: 'CertificateArn' } }]]);
    const pattern = new RegExp(template.toJSON().Parameters.CertificateArn.AllowedPattern);
    expect(pattern.test(TEST_CERTIFICATE_ARN)).toBe(true);
    expect(pattern.test('arn:aws:iam::111111111111:server-certificate/web')).toBe(false);
    expect(pattern.test('')).toBe(false);
  });

  test('a domain and hosted zone give a DNS-validated certificate and an alias record', () => {
    const stack = stackWith({
      domainName: 'api.example.com',
      hostedZoneId: 'Z0123456789ABC',
      hostedZoneName: 'example.com',
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'api.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'api.example.com', HostedZoneId: 'Z0123456789ABC' }],
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABC',
    });
    expect(listenerCertificates(stack)).toEqual([
      [{ CertificateArn: { Ref: logicalId(stack.node.findChild('Certificate')) } }],
    ]);
  });
});

describe('EphemeraStack: configuration reaches the constructs', () => {
  test('key rotation, image TTL sweep, TLS policy and log retention come from context', () => {
    const stack = stackWith({
      keyRotationDays: '180',
      imageSweepMinutes: '15',
      tlsVersions: 'tls1.3',
      fips: 'true',
      logRetentionDays: '90',
      metadataRetentionDays: '90',
      httpRedirect: 'true',
    });
    const template = Template.fromStack(stack);
    template.resourcePropertiesCountIs('AWS::KMS::Key', { RotationPeriodInDays: 180 }, 4);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ],
    });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(90);
    }
    expect(stack.images.ttl.toMinutes()).toBe(60);
  });

  test('removalPolicy destroy reaches keys, tables, buckets and log groups', () => {
    const template = Template.fromStack(stackWith({ removalPolicy: 'destroy' }));
    for (const type of [
      'AWS::KMS::Key',
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::Logs::LogGroup',
    ]) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const r of resources) expect([type, r.DeletionPolicy]).toEqual([type, 'Delete']);
    }
  });

  test('by default every stateful resource is retained', () => {
    const template = Template.fromStack(stackWith({}));
    for (const type of [
      'AWS::KMS::Key',
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::Logs::LogGroup',
    ]) {
      for (const r of Object.values(template.findResources(type))) {
        expect([type, r.DeletionPolicy]).toEqual([type, 'Retain']);
      }
    }
  });
});
