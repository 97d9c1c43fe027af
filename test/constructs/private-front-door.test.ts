import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import {
  endpointPrincipal,
  PrivateFrontDoor,
  PrivateFrontDoorProps,
} from '../../lib/private-front-door';
import { TlsLoadBalancer } from '../../lib/tls-load-balancer';
import {
  expectThrowsExactly,
  logicalId,
  testApp,
  testCertificate,
  testStack,
  testVpc,
} from '../support/stacks';

interface Built {
  stack: Stack;
  alb: TlsLoadBalancer;
  door: PrivateFrontDoor;
  template: Template;
}

function build(props: Partial<PrivateFrontDoorProps> = {}, region?: string): Built {
  const stack = region ? new Stack(testApp(), 'Test', { env: { region } }) : testStack();
  const vpc = testVpc(stack);
  const alb = new TlsLoadBalancer(stack, 'FrontDoor', {
    vpc,
    certificate: testCertificate(stack),
    allowedCidrs: [],
  });
  const door = new PrivateFrontDoor(stack, 'Private', {
    loadBalancer: alb,
    allowedPrincipals: ['111122223333'],
    ...props,
  });
  return { stack, alb, door, template: Template.fromStack(stack) };
}

const message = (problem: string) => `Invalid PrivateFrontDoor props:\n  - ${problem}`;

describe('PrivateFrontDoor', () => {
  test('an internal NLB passes TCP 443 through to the HTTPS listener of the ALB', () => {
    const { template, alb } = build();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'deletion_protection.enabled', Value: 'true' },
        { Key: 'load_balancing.cross_zone.enabled', Value: 'true' },
      ]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'TCP',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'alb',
      Protocol: 'TCP',
      Port: 443,
      HealthCheckProtocol: 'HTTPS',
      HealthCheckPath: '/healthz',
      Matcher: { HttpCode: '200' },
      Targets: [{ Id: { Ref: logicalId(alb.loadBalancer) }, Port: 443 }],
    });
  });

  test("the ALB's HTTPS listener keeps its TLS 1.3 policy and certificate", () => {
    build().template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      Certificates: [{ CertificateArn: Match.stringLikeRegexp('^arn:aws:acm:') }],
    });
  });

  test('security groups: nothing reaches the NLB directly; it sends only to the ALB on 443; the ALB admits only the NLB', () => {
    const { template, door, alb } = build();
    const nlbSg = logicalId(door.securityGroup);
    const albSg = logicalId(alb.securityGroup);
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    expect(groups[nlbSg].Properties.SecurityGroupIngress).toBeUndefined();
    // No inline rules on the ALB's group either: its only way in is the rule below.
    expect(groups[albSg].Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [albSg, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [nlbSg, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
      }),
    ]);
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'));
    expect(egress.map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [nlbSg, 'GroupId'] },
        DestinationSecurityGroupId: { 'Fn::GetAtt': [albSg, 'GroupId'] },
        FromPort: 443,
        ToPort: 443,
      }),
    ]);
  });

  test("an account id becomes its root in the stack's partition", () => {
    const { template } = build({}, 'cn-north-1');
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: ['arn:aws-cn:iam::111122223333:root'],
    });
  });

  test('the endpoint service requires acceptance and allows exactly the listed principals', () => {
    const { template, door } = build({
      allowedPrincipals: ['111122223333', 'arn:aws:iam::444455556666:role/platform'],
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      AcceptanceRequired: true,
      NetworkLoadBalancerArns: [{ Ref: logicalId(door.networkLoadBalancer) }],
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [
        'arn:aws:iam::111122223333:root',
        'arn:aws:iam::444455556666:role/platform',
      ],
    });
    expect(
      template.findResources('AWS::EC2::VPCEndpointService')[
        Object.keys(template.findResources('AWS::EC2::VPCEndpointService'))[0]
      ].Properties.PrivateDnsName,
    ).toBeUndefined();
  });

  test('private DNS: the name is set on the service and the ownership TXT record goes in the zone', () => {
    const stack = testStack();
    const alb = new TlsLoadBalancer(stack, 'FrontDoor', {
      vpc: testVpc(stack),
      certificate: testCertificate(stack),
      allowedCidrs: [],
    });
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z0123456789ABC',
      zoneName: 'example.com',
    });
    const door = new PrivateFrontDoor(stack, 'Private', {
      loadBalancer: alb,
      allowedPrincipals: ['111122223333'],
      privateDnsName: 'api.example.com',
      verificationZone: zone,
    });
    const template = Template.fromStack(stack);
    const serviceId = logicalId(
      door.endpointService.node.children.find((c) => c instanceof ec2.CfnVPCEndpointService)!,
    );
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      PrivateDnsName: 'api.example.com',
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Type: 'TXT',
      HostedZoneId: 'Z0123456789ABC',
      Name: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [serviceId, 'PrivateDnsNameConfiguration.Name'] }, '.example.com.'],
        ],
      },
      ResourceRecords: [
        {
          'Fn::Join': [
            '',
            ['"', { 'Fn::GetAtt': [serviceId, 'PrivateDnsNameConfiguration.Value'] }, '"'],
          ],
        },
      ],
    });
  });

  test('account ids become account-root ARNs', () => {
    expect(endpointPrincipal('111122223333').arn).toBe('arn:aws:iam::111122223333:root');
    expect(endpointPrincipal('111122223333', 'aws-cn').arn).toBe(
      'arn:aws-cn:iam::111122223333:root',
    );
    expect(endpointPrincipal('arn:aws:iam::111122223333:role/x').arn).toBe(
      'arn:aws:iam::111122223333:role/x',
    );
  });

  test.each([
    [
      'no principals',
      { allowedPrincipals: [] },
      'allowedPrincipals must name at least one AWS account id or IAM ARN: nobody could connect otherwise',
    ],
    [
      'a wildcard principal',
      { allowedPrincipals: ['*'] },
      'allowedPrincipals must be 12-digit account ids or ARNs of an account root, IAM role or IAM user (never *)',
    ],
    [
      'a wildcard role',
      { allowedPrincipals: ['arn:aws:iam::111122223333:role/*'] },
      'allowedPrincipals must be 12-digit account ids or ARNs of an account root, IAM role or IAM user (never *)',
    ],
  ] as Array<[string, Partial<PrivateFrontDoorProps>, string]>)(
    '%s is refused',
    (_name, props, problem) => {
      expectThrowsExactly(() => build(props), message(problem));
    },
  );
});
