import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AdminApi } from '../../lib/admin-api';
import { InferenceGateway } from '../../lib/inference-gateway';
import {
  API_GATEWAY_LOGS_POLICY,
  API_STAGE_NAME,
  ApiAccessLogFields,
  ApiGatewayAccountRole,
  ApiEndpointAccess,
  apiSecurityPolicyFor,
  StreamingFrontDoor,
  StreamingFrontDoorProps,
} from '../../lib/streaming-front-door';
import { TlsVersions } from '../../lib/tls-load-balancer';
import { erasureInStack, foundationInStack, gatewayInStack } from '../support/gateway-fixture';
import {
  expectThrowsExactly,
  logicalId,
  testCertificate,
  testKey,
  testStack,
  TEST_CERTIFICATE_ARN,
} from '../support/stacks';

const ENDPOINT = 'vpce-0123456789abcdef0';

interface Built {
  stack: Stack;
  door: StreamingFrontDoor;
  gateway: lambda.IFunction;
  admin: lambda.IFunction;
  template: Template;
}

function build(props: Partial<StreamingFrontDoorProps> = {}): Built {
  const stack = testStack();
  const fn = (id: string) =>
    lambda.Function.fromFunctionAttributes(stack, id, {
      functionArn: `arn:aws:lambda:eu-west-1:111111111111:function:${id}`,
      sameEnvironment: true,
    });
  const gateway = fn('gateway');
  const admin = fn('admin');
  const door = new StreamingFrontDoor(stack, 'Door', {
    gateway,
    admin,
    logsKey: testKey(stack, 'Logs'),
    ...props,
  });
  return { stack, door, gateway, admin, template: Template.fromStack(stack) };
}

/** Every method's integration, by the path of its resource ('/' for the root). */
function integrations(template: Template): Map<string, Record<string, unknown>> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    if (typeof ref === 'object' && ref !== null && 'Fn::GetAtt' in ref) return '';
    const id = (ref as { Ref: string }).Ref;
    const r = resources[id];
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  const out = new Map<string, Record<string, unknown>>();
  for (const m of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
    const path = pathOf(m.Properties.ResourceId) || '/';
    out.set(`${m.Properties.HttpMethod} ${path}`, m.Properties.Integration);
  }
  return out;
}

const uriOf = (integration: Record<string, unknown>): string => JSON.stringify(integration.Uri);

describe('StreamingFrontDoor', () => {
  it('is a regional REST API with the enhanced TLS 1.3+1.2 policy in STRICT mode', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_2021_06',
      EndpointAccessMode: 'STRICT',
      DisableExecuteApiEndpoint: false,
      Policy: Match.absent(),
    });
  });

  it("sets API Gateway's account-level CloudWatch Logs role by default, retained, before the stage", () => {
    const { stack, door, template } = build();
    // A role only API Gateway assumes, with only the AWS managed policy and nothing inline.
    const roles = template.findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toEqual([logicalId(door.accountLogging!.role)]);
    const role = Object.values(roles)[0];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'apigateway.amazonaws.com' },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/${API_GATEWAY_LOGS_POLICY}`],
        ],
      },
    ]);
    expect(role.Properties.Policies).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Policy', 0);
    // The account setting names it; both outlive the stack (other APIs log through them).
    const accounts = template.findResources('AWS::ApiGateway::Account');
    expect(Object.values(accounts)).toEqual([
      {
        Type: 'AWS::ApiGateway::Account',
        Properties: {
          CloudWatchRoleArn: { 'Fn::GetAtt': [logicalId(door.accountLogging!.role), 'Arn'] },
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        // Written once an API exists (a never-used account may refuse it before).
        DependsOn: [logicalId(door.api)],
      },
    ]);
    expect(role.DeletionPolicy).toBe('Retain');
    expect(role.UpdateReplacePolicy).toBe('Retain');
    // The stage (it has an access log) is created only once the setting exists.
    const accountId = Object.keys(accounts)[0];
    const stage =
      template.findResources('AWS::ApiGateway::Stage')[logicalId(door.api.deploymentStage)];
    expect(stage.DependsOn).toContain(accountId);
    // The setting is the stack's, not the front door's: one per stack.
    expect(door.accountLogging!.account.node.path).toBe(
      `${stack.node.path}/ApiGatewayAccount/Account`,
    );
  });

  it('even with a removalPolicy of DESTROY keeps the account setting and its role', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    for (const type of ['AWS::IAM::Role', 'AWS::ApiGateway::Account']) {
      const [resource] = Object.values(template.findResources(type));
      expect([type, resource.DeletionPolicy]).toEqual([type, 'Retain']);
    }
  });

  it('with ApiGatewayAccountRole.EXISTING creates nothing account-wide', () => {
    const { door, template } = build({ accountRole: ApiGatewayAccountRole.EXISTING });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
    expect(door.accountLogging).toBeUndefined();
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stage.DependsOn).toBeUndefined();
  });

  it('two front doors in one stack share one account setting, and both stages wait for it', () => {
    const stack = testStack();
    const fn = lambda.Function.fromFunctionAttributes(stack, 'Gw', {
      functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:gateway',
      sameEnvironment: true,
    });
    const logsKey = testKey(stack, 'Logs');
    const open = new StreamingFrontDoor(stack, 'Public', { gateway: fn, logsKey });
    const closed = new StreamingFrontDoor(stack, 'Private', {
      gateway: fn,
      logsKey,
      access: ApiEndpointAccess.PRIVATE,
      vpcEndpointIds: [ENDPOINT],
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.resourceCountIs('AWS::IAM::Role', 1);
    expect(closed.accountLogging!.account).toBe(open.accountLogging!.account);
    const accountId = logicalId(open.accountLogging!.account);
    const stages = template.findResources('AWS::ApiGateway::Stage');
    expect(Object.values(stages).map((s) => s.DependsOn)).toEqual([[accountId], [accountId]]);
  });

  it.each([
    [TlsVersions.TLS_1_3_ONLY, false, 'SecurityPolicy_TLS13_1_3_2025_09'],
    [TlsVersions.TLS_1_3_ONLY, true, 'SecurityPolicy_TLS13_1_3_FIPS_2025_09'],
    [TlsVersions.TLS_1_2_AND_1_3, false, 'SecurityPolicy_TLS13_1_2_2021_06'],
    [TlsVersions.TLS_1_2_AND_1_3, true, 'SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09'],
  ])('maps %s (FIPS %s) to %s', (tlsVersions, fips, policy) => {
    expect(apiSecurityPolicyFor(tlsVersions, fips)).toBe(policy);
    build({ tlsVersions, fips }).template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      SecurityPolicy: policy,
      EndpointAccessMode: 'STRICT',
    });
  });

  it('streams every gateway path and buffers the admin paths', () => {
    const { template } = build({ gatewayTimeout: Duration.minutes(10) });
    const methods = integrations(template);
    const streamed = ['ANY /', 'ANY /{proxy+}', 'ANY /v1', 'ANY /v1/{proxy+}'];
    const admin = [
      'ANY /v1/user_data',
      'ANY /v1/user_data/{proxy+}',
      'ANY /v1/logs',
      'ANY /v1/keys',
      'ANY /v1/keys/{proxy+}',
      'ANY /v1/trust',
      'ANY /v1/trust/{proxy+}',
    ];
    expect([...methods.keys()].sort()).toEqual([...streamed, ...admin].sort());
    for (const path of streamed) {
      const i = methods.get(path)!;
      expect(i).toMatchObject({
        Type: 'AWS_PROXY',
        ResponseTransferMode: 'STREAM',
        TimeoutInMillis: 600_000,
      });
      expect(uriOf(i)).toContain('/response-streaming-invocations');
      expect(uriOf(i)).toContain('function:gateway');
    }
    for (const path of admin) {
      const i = methods.get(path)!;
      expect(i.ResponseTransferMode).toBeUndefined();
      expect(uriOf(i)).toContain('2015-03-31/functions/');
      expect(uriOf(i)).toContain('function:admin');
    }
  });

  it('without an admin function sends every path to the gateway', () => {
    const stack = testStack();
    new StreamingFrontDoor(stack, 'Door', {
      gateway: lambda.Function.fromFunctionArn(
        stack,
        'Gw',
        'arn:aws:lambda:eu-west-1:111111111111:function:gateway',
      ),
      logsKey: testKey(stack, 'Logs'),
    });
    const methods = integrations(Template.fromStack(stack));
    expect([...methods.keys()].sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
  });

  it('throttles the stage, never traces bodies, and logs metadata only to an encrypted group', () => {
    const { door, template } = build({ throttlingRateLimit: 40, throttlingBurstLimit: 20 });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: API_STAGE_NAME,
      TracingEnabled: false,
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 40,
          ThrottlingBurstLimit: 20,
          DataTraceEnabled: false,
          LoggingLevel: Match.absent(),
        }),
      ],
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      },
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    const format = stage.Properties.AccessLogSetting.Format as string;
    const values = Object.values(JSON.parse(format) as Record<string, string>);
    for (const value of values) expect(value).toMatch(/^\$context\.[a-zA-Z.]+$/);
    for (const field of ['identity', '$context.path', 'authorization', '$input', 'header']) {
      expect(format.toLowerCase()).not.toContain(field.toLowerCase());
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: Match.anyValue(),
      RetentionInDays: 30,
    });
    expect(door.accessLogGroup).toBeDefined();
  });

  it('adds the client address and path to the access log only when asked', () => {
    const { template } = build({ accessLogFields: ApiAccessLogFields.WITH_CLIENT });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format as string);
    expect(format).toMatchObject({ sourceIp: '$context.identity.sourceIp', path: '$context.path' });
  });

  it("answers API Gateway's own errors in the contract's shape", () => {
    const { template } = build();
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual(
      [
        'ACCESS_DENIED',
        'DEFAULT_4XX',
        'DEFAULT_5XX',
        'INTEGRATION_TIMEOUT',
        'REQUEST_TOO_LARGE',
        'THROTTLED',
        'WAF_FILTERED',
      ].sort(),
    );
    for (const r of responses) {
      const body = JSON.parse(r.Properties.ResponseTemplates['application/json']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(r.Properties.ResponseParameters).toMatchObject({
        'gatewayresponse.header.X-Ephemera-Retention': "'content=none; metadata=30d'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
      });
    }
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
    });
    // Past the deadline, a retry would wait as long again: OpenAI's SDKs obey this header.
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INTEGRATION_TIMEOUT',
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.x-should-retry': "'false'",
      }),
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp('"code":"upstream_timeout"'),
      },
    });
  });

  it('lets only this API invoke the functions', () => {
    const { template, door } = build();
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(2);
    for (const p of permissions) {
      expect(p.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(logicalId(door.api));
    }
  });

  it('admits only the listed source ranges when given', () => {
    build({ allowedCidrs: ['203.0.113.0/24'] }).template.hasResourceProperties(
      'AWS::ApiGateway::RestApi',
      {
        Policy: {
          Statement: [
            Match.objectLike({
              Effect: 'Allow',
              Condition: { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
            }),
            Match.objectLike({
              Effect: 'Deny',
              Condition: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
            }),
          ],
        },
      },
    );
  });

  it('as a private API admits only the listed execute-api endpoints', () => {
    const { template } = build({
      access: ApiEndpointAccess.PRIVATE,
      vpcEndpointIds: [ENDPOINT, 'vpce-01234567'],
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: [ENDPOINT, 'vpce-01234567'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_2021_06',
      EndpointAccessMode: 'STRICT',
      Policy: {
        Statement: [
          Match.objectLike({
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: 'execute-api:Invoke',
            Condition: { StringEquals: { 'aws:SourceVpce': [ENDPOINT, 'vpce-01234567'] } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Condition: { StringNotEquals: { 'aws:SourceVpce': [ENDPOINT, 'vpce-01234567'] } },
          }),
        ],
      },
    });
  });

  it('on a custom domain: the same policy, STRICT, and the execute-api endpoint off', () => {
    const stack = testStack();
    const door = new StreamingFrontDoor(stack, 'Door', {
      gateway: lambda.Function.fromFunctionArn(
        stack,
        'Gw',
        'arn:aws:lambda:eu-west-1:111111111111:function:gateway',
      ),
      logsKey: testKey(stack, 'Logs'),
      tlsVersions: TlsVersions.TLS_1_3_ONLY,
      domain: { domainName: 'api.example.com', certificate: testCertificate(stack) },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'api.example.com',
      RegionalCertificateArn: TEST_CERTIFICATE_ARN,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      DisableExecuteApiEndpoint: true,
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
    });
    template.resourceCountIs('AWS::ApiGateway::BasePathMapping', 1);
    expect(door.url).toBe('https://api.example.com/');
  });

  it('associates the web ACL with the stage', () => {
    const webAclArn =
      'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera/11111111-2222-3333-4444-555555555555';
    build({ webAclArn }).template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: webAclArn,
      ResourceArn: Match.anyValue(),
    });
    build().template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });

  it.each<[string, Partial<StreamingFrontDoorProps>, string]>([
    [
      'a private API without endpoints',
      { access: ApiEndpointAccess.PRIVATE },
      'a private API needs vpcEndpointIds',
    ],
    ['endpoints on a public API', { vpcEndpointIds: [ENDPOINT] }, 'apply to a private API only'],
    [
      'a malformed endpoint id',
      { access: ApiEndpointAccess.PRIVATE, vpcEndpointIds: ['vpc-123'] },
      'vpcEndpointIds must be VPC endpoint ids',
    ],
    [
      'an endpoint listed twice',
      { access: ApiEndpointAccess.PRIVATE, vpcEndpointIds: [ENDPOINT, ENDPOINT] },
      'must not list an endpoint twice',
    ],
    [
      'source ranges on a private API',
      {
        access: ApiEndpointAccess.PRIVATE,
        vpcEndpointIds: [ENDPOINT],
        allowedCidrs: ['10.0.0.0/8'],
      },
      'allowedCidrs applies to a public API',
    ],
    ['a bad range', { allowedCidrs: ['10.0.0.1/8'] }, 'allowedCidrs'],
    [
      'an unknown account role',
      { accountRole: 'maybe' as ApiGatewayAccountRole },
      'accountRole must be one of create, existing',
    ],
    ['no throttling', { throttlingBurstLimit: 0 }, 'throttlingBurstLimit'],
    ['a timeout over 15 minutes', { gatewayTimeout: Duration.minutes(16) }, 'gatewayTimeout'],
    [
      'a CloudFront-scope web ACL',
      { webAclArn: 'arn:aws:wafv2:us-east-1:1:global/webacl/x/y' },
      'webAclArn',
    ],
  ])('refuses %s', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe('InferenceGateway with response streaming', () => {
  it('runs the streaming entry point and registers with no load balancer', () => {
    const stack = testStack();
    const gateway = gatewayInStack(stack, { listener: undefined, responseStreaming: true });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('OpenAI-compatible'),
      Handler: 'index.streamHandler',
    });
    expect(gateway.targetGroup).toBeUndefined();
    expect(gateway.responseStreaming).toBe(true);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
  });

  it('keeps the buffered entry point behind the load balancer', () => {
    const stack = testStack();
    const gateway: InferenceGateway = gatewayInStack(stack);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('OpenAI-compatible'),
      Handler: 'index.handler',
    });
    expect(gateway.targetGroup).toBeDefined();
  });

  it('refuses a load balancer for a streaming function', () => {
    expect(() => gatewayInStack(testStack(), { responseStreaming: true })).toThrow(
      'listener and responseStreaming exclude each other',
    );
  });

  it('refuses a gateway with neither a listener nor response streaming: nothing could reach it', () => {
    expectThrowsExactly(
      () => gatewayInStack(testStack(), { listener: undefined }),
      'Invalid InferenceGateway props:\n' +
        '  - listener or responseStreaming is required, or nothing can reach the gateway: pass listener (the HTTPS listener of a TlsLoadBalancer), or set responseStreaming: true and pass the InferenceGateway to a StreamingFrontDoor as its gateway',
    );
  });
});

describe('StreamingFrontDoor with the constructs themselves', () => {
  /** The front door given the InferenceGateway and AdminApi, or their functions. */
  function fronted(as: 'constructs' | 'functions', gatewayTimeout?: Duration) {
    const stack = testStack();
    const f = foundationInStack(stack);
    const common = {
      vpc: f.network.vpc,
      store: f.store,
      hmacKey: f.keys.hmacKey,
      logsKey: f.keys.logsKey,
      alarms: f.incidents,
    };
    const gateway = new InferenceGateway(stack, 'Gateway', {
      ...common,
      images: f.images,
      responseStreaming: true,
      timeout: Duration.minutes(7),
    });
    const admin = new AdminApi(stack, 'Admin', {
      ...common,
      erasure: erasureInStack(stack, {}, f),
    });
    const door = new StreamingFrontDoor(stack, 'Door', {
      ...(as === 'constructs'
        ? { gateway, admin }
        : { gateway: gateway.handler.function, admin: admin.handler.function }),
      logsKey: testKey(stack, 'Logs'),
      gatewayTimeout,
    });
    return { stack, gateway, admin, door, template: Template.fromStack(stack) };
  }

  it("takes an InferenceGateway and an AdminApi: their functions, and the gateway's timeout", () => {
    const { gateway, admin, template } = fronted('constructs');
    const byPath = integrations(template);
    expect(byPath.get('ANY /')).toMatchObject({
      ResponseTransferMode: 'STREAM',
      TimeoutInMillis: 7 * 60_000,
    });
    expect(uriOf(byPath.get('ANY /')!)).toContain(logicalId(gateway.handler.function));
    expect(uriOf(byPath.get('ANY /v1/keys')!)).toContain(logicalId(admin.handler.function));
  });

  it('synthesizes exactly as with their functions and the timeout given', () => {
    const constructs = fronted('constructs').template.toJSON();
    expect(fronted('functions', Duration.minutes(7)).template.toJSON()).toEqual(constructs);
    // Without the timeout, a function gets the default (5 minutes).
    expect(fronted('functions').template.toJSON()).not.toEqual(constructs);
  });

  it('refuses an InferenceGateway built for a load balancer', () => {
    const stack = testStack();
    const gateway = gatewayInStack(stack);
    expect(
      () => new StreamingFrontDoor(stack, 'Door', { gateway, logsKey: testKey(stack, 'Logs') }),
    ).toThrow(
      'gateway is an InferenceGateway without responseStreaming: a StreamingFrontDoor invokes its streaming entry point; build it with responseStreaming: true (and no listener)',
    );
  });
});
