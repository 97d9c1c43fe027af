import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { reservedConcurrency } from '../../lib/private/deploy-facts';
import { EphemeraStack, type EphemeraStackProps } from '../../lib/ephemera-stack';
import { stackPropsProblems } from '../../lib/known-names';
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
      'allowedRegions is set (eu-west-1, eu-central-1), so the stack needs an explicit region: its env.region (for the Ephemera app, set CDK_DEFAULT_REGION or pass -c region=<region>).',
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

const PRINCIPALS = { endpointServicePrincipals: '111122223333,arn:aws:iam::444455556666:role/ops' };

/** The load-balancer front door, a choice since the streaming one became the default. */
const ALB = { frontDoorKind: 'alb' };

describe('EphemeraStack: the default front door', () => {
  test('the default is the streaming front door: a public REST API over the streaming gateway, no load balancer', () => {
    const stack = stackWith({});
    const template = Template.fromStack(stack);
    expect(stack.config.frontDoorKind).toBe('api-gateway');
    expect(stack.frontDoor).toBeUndefined();
    expect(stack.streamingFrontDoor).toBeDefined();
    expect(stack.gateway.responseStreaming).toBe(true);
    const apis = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
    expect(apis.map((a) => a.Properties.EndpointConfiguration.Types)).toEqual([['REGIONAL']]);
    // Every path but the admin API's streams from the gateway (Lambda response streaming).
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.some((m) => m.Properties.Integration?.ResponseTransferMode === 'STREAM')).toBe(
      true,
    );
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.streamHandler' });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
    // It deploys in a fresh account: the stack sets API Gateway's logging role.
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('frontDoorKind alb: the load balancer, the gateway its buffered target, no REST API', () => {
    const stack = stackWith(ALB);
    const template = Template.fromStack(stack);
    expect(stack.frontDoor).toBeDefined();
    expect(stack.streamingFrontDoor).toBeUndefined();
    expect(stack.gateway.responseStreaming).toBe(false);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('EphemeraStack: names it does not read are refused (JavaScript callers)', () => {
  const build = (props: Record<string, unknown>) => () =>
    new EphemeraStack(testApp({}), 'Ephemera', {
      env: { region: 'eu-west-1' },
      ...props,
    } as EphemeraStackProps);

  test('an unknown prop is named with the closest one, or the context key it is; all at once', () => {
    expectThrowsExactly(
      build({ stackname: 'Other', frontDoor: 'private', colour: 'blue' }),
      [
        "Unknown EphemeraStack prop 'stackname': did you mean 'stackName'? (see docs/configuration.md)",
        "Unknown EphemeraStack prop 'frontDoor': did you mean the context key 'frontDoor' (cdk.json or -c frontDoor=...), or a whole 'config'? (see docs/configuration.md)",
        "Unknown EphemeraStack prop 'colour' (see docs/configuration.md)",
      ].join('\n'),
    );
  });

  test('config: a property EphemeraConfig does not have is named, and a required one it lacks', () => {
    // { frontdoor: 'private' } in place of { frontDoor: 'private' } would otherwise be public.
    const { frontDoor, ...rest } = stackWith({}).config;
    expect(frontDoor).toBe('public');
    expectThrowsExactly(
      build({ config: { ...rest, frontdoor: 'private' } }),
      [
        "Unknown EphemeraStack config property 'frontdoor': did you mean 'frontDoor'? (see docs/configuration.md)",
        "EphemeraStack config lacks 'frontDoor': give a whole EphemeraConfig (readConfig reads one from context)",
      ].join('\n'),
    );
  });

  test("every prop of CDK's StackProps, and a whole config, pass", () => {
    const all = {
      analyticsReporting: undefined,
      crossRegionReferences: undefined,
      description: 'Ephemera',
      notificationArns: undefined,
      permissionsBoundary: undefined,
      propertyInjectors: undefined,
      stackName: 'Other',
      suppressTemplateIndentation: undefined,
      synthesizer: undefined,
      tags: { team: 'platform' },
      terminationProtection: true,
    };
    expect(stackPropsProblems({ env: {}, config: stackWith({}).config, ...all })).toEqual([]);
    const stack = build({
      ...all,
      config: {
        ...stackWith({}).config,
        frontDoor: 'private',
        apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
      },
    })();
    expect(stack.stackName).toBe('Other');
    expect(stack.privateStreamingFrontDoor).toBeDefined();
    // Without a config (undefined or null), the stack reads its context.
    expect(stackPropsProblems({ config: null })).toEqual([]);
  });
});

describe('EphemeraStack: load-balancer front door (frontDoorKind alb)', () => {
  const schemes = (template: Template) =>
    Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer')).map(
      (r) => `${r.Properties.Type ?? 'application'}:${r.Properties.Scheme}`,
    );
  const httpsPolicies = (template: Template) =>
    Object.values(
      template.findResources('AWS::ElasticLoadBalancingV2::Listener', {
        Properties: { Protocol: 'HTTPS' },
      }),
    ).map((l) => l.Properties.SslPolicy);

  test("frontDoor 'public' (the default): internet-facing ALB, an internet gateway, no NAT, no PrivateLink", () => {
    const template = Template.fromStack(stackWith(ALB));
    expect(schemes(template)).toEqual(['application:internet-facing']);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpointService', 0);
  });

  test("frontDoor 'private': an internal ALB behind a PrivateLink NLB; nothing internet-facing and no internet gateway (P9)", () => {
    const stack = stackWith({ ...ALB, frontDoor: 'private', ...PRINCIPALS });
    const template = Template.fromStack(stack);
    expect(schemes(template).sort()).toEqual(['application:internal', 'network:internal']);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    expect(httpsPolicies(template)).toEqual(['ELBSecurityPolicy-TLS13-1-2-2021-06']);
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: true });
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:role/ops'],
    });
    // The ALB admits the NLB only: no CIDR, not even the VPC's.
    const albSg =
      template.findResources('AWS::EC2::SecurityGroup')[logicalId(stack.frontDoor!.securityGroup)];
    expect(albSg.Properties.SecurityGroupIngress).toBeUndefined();
    template.hasOutput('EndpointServiceName', {});
  });

  test("frontDoor 'both': the public ALB, and the PrivateLink path to the same listener and handlers", () => {
    const stack = stackWith({ ...ALB, frontDoor: 'both', ...PRINCIPALS });
    const template = Template.fromStack(stack);
    expect(schemes(template).sort()).toEqual(['application:internet-facing', 'network:internal']);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'alb',
      Targets: [{ Id: { Ref: logicalId(stack.frontDoor!.loadBalancer) }, Port: 443 }],
    });
    // One listener serves both paths, so the gateway and admin rules exist once.
    expect(httpsPolicies(template)).toEqual(['ELBSecurityPolicy-TLS13-1-2-2021-06']);
    expect(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).toEqual(
      Template.fromStack(stackWith(ALB)).findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
    );
  });

  test('a domain: private DNS on the endpoint service; the public record only where the ALB is public', () => {
    const domain = {
      domainName: 'api.example.com',
      hostedZoneId: 'Z0123456789ABC',
      hostedZoneName: 'example.com',
      ...ALB,
      ...PRINCIPALS,
    };
    const records = (template: Template) =>
      Object.values(template.findResources('AWS::Route53::RecordSet')).map(
        (r) => r.Properties.Type,
      );
    const priv = Template.fromStack(stackWith({ ...domain, frontDoor: 'private' }));
    priv.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      PrivateDnsName: 'api.example.com',
    });
    expect(records(priv)).not.toContain('A');
    expect(records(priv)).toContain('TXT');
    const both = Template.fromStack(stackWith({ ...domain, frontDoor: 'both' }));
    expect(records(both)).toContain('A');
    expect(records(both)).toContain('TXT');
  });
});

describe('EphemeraStack: streaming front door (frontDoorKind api-gateway)', () => {
  const ENDPOINT = 'vpce-0123456789abcdef0';
  const api = (context: Record<string, unknown>) => {
    const stack = stackWith({ frontDoorKind: 'api-gateway', ...context });
    return { stack, template: Template.fromStack(stack) };
  };

  test.each([
    ['public', {}, ['REGIONAL']],
    ['private', { apiVpcEndpointIds: ENDPOINT }, ['PRIVATE']],
    ['both', { apiVpcEndpointIds: ENDPOINT }, ['REGIONAL', 'PRIVATE']],
  ])(
    'frontDoor %s (%j): REST APIs over the streaming gateway, no load balancer, no internet gateway',
    (frontDoor, extra, types) => {
      const { stack, template } = api({ frontDoor, ...extra });
      const apis = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
      expect(apis.map((a) => a.Properties.EndpointConfiguration.Types[0])).toEqual(types);
      for (const a of apis) {
        expect(a.Properties).toMatchObject({
          SecurityPolicy: 'SecurityPolicy_TLS13_1_2_2021_06',
          EndpointAccessMode: 'STRICT',
        });
      }
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
      template.resourceCountIs('AWS::EC2::VPCEndpointService', 0);
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.streamHandler',
        Description: 'Ephemera: OpenAI-compatible inference with zero retention',
      });
      expect(stack.frontDoor).toBeUndefined();
      expect(stack.gateway.responseStreaming).toBe(true);
      // Both APIs admit no more at once than the gateway's reserved concurrency.
      for (const s of Object.values(template.findResources('AWS::ApiGateway::Stage'))) {
        expect(s.Properties.MethodSettings[0]).toMatchObject({
          ThrottlingBurstLimit: 50,
          ThrottlingRateLimit: 50,
        });
      }
      const outputs = Object.keys(template.toJSON().Outputs);
      expect(outputs.includes('ApiEndpoint')).toBe(frontDoor !== 'private');
      expect(outputs.includes('PrivateApiId')).toBe(frontDoor !== 'public');
      expect(outputs).not.toContain('EndpointServiceName');
      // No certificate is asked for without a domain.
      expect(Object.keys(template.toJSON().Parameters ?? {})).not.toContain('CertificateArn');
    },
  );

  test('a domain: the public API on it, with a new certificate and an alias record', () => {
    const { template } = api({
      domainName: 'api.example.com',
      hostedZoneId: 'Z0123456789ABC',
      hostedZoneName: 'example.com',
      tlsVersions: 'tls1.3',
    });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'api.example.com',
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      Type: 'A',
    });
  });

  test('access logs on: client address in the API access log, kept accessLogRetentionDays, and named in receipts', () => {
    const { template } = api({ accessLogs: true, accessLogRetentionDays: 7 });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage.Properties.AccessLogSetting.Format).toContain('$context.identity.sourceIp');
    template.resourceCountIs('AWS::S3::Bucket', 2);
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.some((g) => g.Properties.RetentionInDays === 7)).toBe(true);
    expect(JSON.stringify(template.toJSON())).toContain('api-gateway-access-logs');
  });
});

describe('EphemeraStack: outbound trust store', () => {
  const env = (stack: EphemeraStack, fn: Parameters<typeof logicalId>[0]) =>
    Template.fromStack(stack).findResources('AWS::Lambda::Function')[logicalId(fn)].Properties
      .Environment.Variables;

  test('every outbound caller and the admin API read the one config bucket, with the trust-all switch', () => {
    for (const allow of [false, true]) {
      const stack = stackWith({
        allowInsecureTrustAll: String(allow),
        receiptWebhookUrl: 'https://receipts.example.com/ephemera',
      });
      const bucket = { Ref: logicalId(stack.configBucket.bucket) };
      for (const fn of [
        stack.gateway.handler.function,
        stack.admin.handler.function,
        stack.receiptWebhook!.handler.function,
      ]) {
        expect(env(stack, fn)).toMatchObject({
          CONFIG_BUCKET_NAME: bucket,
          ALLOW_INSECURE_TRUST_ALL: String(allow),
        });
      }
      // The watchdog reports the stored mode whatever the switch says.
      expect(env(stack, stack.watchdog.handler.function).CONFIG_BUCKET_NAME).toEqual(bucket);
    }
  });
});

describe('EphemeraStack: listener certificate (frontDoorKind alb)', () => {
  const listenerCertificates = (stack: Stack) =>
    Object.values(
      Template.fromStack(stack).findResources('AWS::ElasticLoadBalancingV2::Listener', {
        Properties: { Port: 443 },
      }),
    ).map((l) => l.Properties.Certificates);

  test('certificateArn set: the listener uses it and there is no parameter', () => {
    const stack = stackWith({ ...ALB, certificateArn: TEST_CERTIFICATE_ARN });
    expect(listenerCertificates(stack)).toEqual([[{ CertificateArn: TEST_CERTIFICATE_ARN }]]);
    const parameters = Template.fromStack(stack).toJSON().Parameters ?? {};
    expect(parameters.CertificateArn).toBeUndefined();
  });

  test('certificateArn unset: a CertificateArn parameter, constrained to ACM ARNs, feeds the listener', () => {
    const stack = stackWith(ALB);
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
      ...ALB,
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
    // The load balancer's listener policy and port-80 redirect (API Gateway's policy: above).
    const stack = stackWith({
      ...ALB,
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

describe('EphemeraStack: first-deploy readiness', () => {
  const ENDPOINT = 'vpce-0123456789abcdef0';
  const FRONT_DOORS: Array<[string, Record<string, unknown>]> = [
    ['alb, public', { ...ALB }],
    ['alb, private', { ...ALB, frontDoor: 'private', ...PRINCIPALS }],
    ['alb, both', { ...ALB, frontDoor: 'both', ...PRINCIPALS }],
    ['api-gateway, public', { frontDoorKind: 'api-gateway' }],
    [
      'api-gateway, private',
      { frontDoorKind: 'api-gateway', frontDoor: 'private', apiVpcEndpointIds: ENDPOINT },
    ],
    [
      'api-gateway, both',
      { frontDoorKind: 'api-gateway', frontDoor: 'both', apiVpcEndpointIds: ENDPOINT },
    ],
  ];
  const VARIANTS = FRONT_DOORS.flatMap(([name, context]) =>
    ['create', 'existing'].map((role) => [name, role, context] as const),
  );

  test.each(VARIANTS)(
    "%s, apiGatewayAccountRole %s: API Gateway's account CloudWatch role only where a stage needs it and the stack owns it",
    (_name, role, context) => {
      const template = Template.fromStack(stackWith({ ...context, apiGatewayAccountRole: role }));
      const stages = Object.values(template.findResources('AWS::ApiGateway::Stage'));
      const accounts = template.findResources('AWS::ApiGateway::Account');
      const apiGatewayRoles = Object.entries(template.findResources('AWS::IAM::Role')).filter(
        ([, r]) =>
          JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes(
            'apigateway.amazonaws.com',
          ),
      );
      const owned = context.frontDoorKind === 'api-gateway' && role === 'create';
      expect(stages.length > 0).toBe(context.frontDoorKind === 'api-gateway');
      expect(Object.keys(accounts)).toHaveLength(owned ? 1 : 0);
      expect(apiGatewayRoles).toHaveLength(owned ? 1 : 0);
      if (!owned) return;
      const [accountId, account] = Object.entries(accounts)[0];
      const [roleId, accountRole] = apiGatewayRoles[0];
      expect(account.Properties.CloudWatchRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect([account.DeletionPolicy, accountRole.DeletionPolicy]).toEqual(['Retain', 'Retain']);
      expect(JSON.stringify(accountRole.Properties.ManagedPolicyArns)).toContain(
        'AmazonAPIGatewayPushToCloudWatchLogs',
      );
      // Every stage (each has an access log) waits for the account setting.
      for (const stage of stages) expect(stage.DependsOn).toContain(accountId);
    },
  );

  test('apiGatewayAccountRole and reserveConcurrency are checked like every key', () => {
    expect(() => stackWith({ apiGatewayAccountRole: 'sometimes' })).toThrow(
      'apiGatewayAccountRole must be one of create, existing (got "sometimes")',
    );
    expect(() => stackWith({ reserveConcurrency: 'sometimes' })).toThrow('reserveConcurrency');
  });

  const reservations = (stack: EphemeraStack) => {
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const of = (c: Parameters<typeof logicalId>[0]) =>
      functions[logicalId(c)].Properties.ReservedConcurrentExecutions;
    return {
      gateway: of(stack.gateway.handler.function),
      admin: of(stack.admin.handler.function),
      worker: of(stack.erasure.worker.function),
      webhook: of(stack.receiptWebhook!.handler.function),
      sweeper: of(stack.images.sweeper.function),
      watchdog: of(stack.watchdog.handler.function),
    };
  };
  const WEBHOOK = { receiptWebhookUrl: 'https://receipts.example.com/ephemera' };

  test('by default every function reserves concurrency: 67, 69 with the receipt webhook', () => {
    const stack = stackWith(WEBHOOK);
    expect(reservations(stack)).toEqual({
      gateway: 50,
      admin: 10,
      worker: 5,
      webhook: 2,
      sweeper: 1,
      watchdog: 1,
    });
    expect(reservedConcurrency(Template.fromStack(stack).toJSON())).toBe(69);
    expect(reservedConcurrency(Template.fromStack(stackWith({})).toJSON())).toBe(67);
  });

  test('reserveConcurrency false: no function reserves, each acknowledges the concurrency rules', () => {
    const stack = stackWith({ ...WEBHOOK, reserveConcurrency: false });
    const template = Template.fromStack(stack).toJSON();
    expect(reservedConcurrency(template)).toBe(0);
    const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(6);
    for (const fn of functions) {
      expect(fn).not.toHaveProperty('Properties.ReservedConcurrentExecutions');
    }
    for (const fn of Object.values(reservations(stack))) expect(fn).toBeUndefined();
    const acknowledged = stack.node
      .findAll()
      .filter((c) => c instanceof lambda.Function)
      .map((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) => Object.keys(m.data as Record<string, string>))
          .filter((id) => id.includes('LambdaConcurrency'))
          .map((id) => id.replace(/^Annotation::/, ''))
          .sort(),
      );
    expect(acknowledged).toEqual(
      Array(6).fill(['HIPAA.Security-LambdaConcurrency', 'NIST.800.53.R5-LambdaConcurrency']),
    );
  });
});
