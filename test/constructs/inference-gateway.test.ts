import { Duration, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_MODELS, GATEWAY_PATHS, InferenceGatewayProps } from '../../lib/inference-gateway';
import { defaultStack } from '../support/ephemera-app';
import { gatewayInStack } from '../support/gateway-fixture';
import {
  expectThrowsExactly,
  logicalId,
  statementsOfRole,
  testApp,
  testStack,
  VPC_ENI_STATEMENT,
} from '../support/stacks';

/** What the gateway may do with a model: invoke it, whole or streamed (ConverseStream). */
const BEDROCK_ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

describe('InferenceGateway in the default stack', () => {
  const { stack, template } = defaultStack();
  const gw = stack.gateway;
  // The load balancer's side of the gateway: the same stack with frontDoorKind alb.
  const alb = defaultStack({ context: { frontDoorKind: 'alb' } });
  const albGw = alb.stack.gateway;

  test('the role holds exactly what the gateway needs: one key record, usage writes, images, MACs, the models', () => {
    const statements = statementsOfRole(template, gw.handler.role);
    const id = (c: Parameters<typeof logicalId>[0]) => logicalId(c);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [getAtt(id(gw.handler.logGroup))],
      },
      VPC_ENI_STATEMENT,
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [getAtt(id(stack.store.keyTable))],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem'],
        Resource: [getAtt(id(stack.store.usageTable))],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateMac'],
        Resource: [getAtt(id(stack.keys.hmacKey))],
        Condition: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: [{ 'Fn::Join': ['', [getAtt(id(stack.images.bucket)), '/images/*']] }],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [getAtt(id(stack.keys.imagesKey))],
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: BEDROCK_ACTIONS,
        Resource: [
          'arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-canvas-v1:0',
          'arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0',
        ],
      },
      {
        // The embedding model is invoked, never streamed.
        Effect: 'Allow',
        Action: ['bedrock:InvokeModel'],
        Resource: ['arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0'],
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [
          { 'Fn::Join': ['', [getAtt(id(stack.configBucket.bucket)), '/trust/trust-store.json']] },
        ],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [getAtt(id(stack.keys.metadataKey))],
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
    ]);
    // Nothing that could delete, scan or query: stated as well as implied.
    const actions = statements.flatMap((s) => s.Action as string[]);
    for (const forbidden of [
      'dynamodb:Scan',
      'dynamodb:Query',
      'dynamodb:DeleteItem',
      's3:DeleteObject',
      's3:ListBucket',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
  });

  test('frontDoorKind alb: the listener forwards every path to the Lambda target, which answers unknown ones with the contract 404', () => {
    alb.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: GATEWAY_PATHS } }],
      Actions: [Match.objectLike({ Type: 'forward' })],
    });
    alb.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'lambda',
      HealthCheckEnabled: true,
      HealthCheckPath: '/healthz',
      Targets: [{ Id: getAtt(logicalId(albGw.handler.function)) }],
    });
    alb.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      DefaultActions: [
        Match.objectLike({
          Type: 'fixed-response',
          FixedResponseConfig: Match.objectLike({ StatusCode: '404' }),
        }),
      ],
    });
  });

  test('a long completion is not cut: Lambda 300 s, ALB idle timeout 310 s (frontDoorKind alb), upstream deadline 285 s', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 300,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 50,
      Environment: {
        Variables: Match.objectLike({
          UPSTREAM_KIND: 'bedrock',
          UPSTREAM_TIMEOUT_MS: '285000',
          IMAGE_TTL_SECONDS: '3600',
          METADATA_RETENTION_DAYS: '30',
          MODELS: JSON.stringify(DEFAULT_MODELS),
          REMOTE_IMAGE_URLS: 'deny',
        }),
      },
    });
    alb.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'idle_timeout.timeout_seconds', Value: '310' },
      ]),
    });
  });

  test('a default deployment serves embeddings: Titan Text Embeddings V2 at 20 micro-USD per 1,000 input tokens', () => {
    expect(DEFAULT_MODELS.filter((m) => m.kind === 'embedding')).toEqual([
      {
        id: 'amazon.titan-embed-text-v2:0',
        upstreamId: 'amazon.titan-embed-text-v2:0',
        kind: 'embedding',
        inputMicroUsdPer1kTokens: 20,
      },
    ]);
    expect(DEFAULT_MODELS.map((m) => m.kind)).toEqual(['chat', 'image', 'embedding']);
  });

  test('its log group is encrypted, bounded and has a data-protection policy', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: getAtt(logicalId(stack.keys.logsKey)),
      RetentionInDays: 30,
      DataProtectionPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Operation: Match.objectLike({ Deidentify: { MaskConfig: {} } }) }),
        ]),
      }),
    });
  });

  test('frontDoorKind alb: the load balancer may invoke it only from this account', () => {
    alb.template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'elasticloadbalancing.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  test('errors, throttles and latency alarm to the incident topic, on the metric methods', () => {
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      {
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(gw.handler.function) } }],
        AlarmActions: [{ Ref: logicalId(stack.incidents.topic) }],
        OKActions: [{ Ref: logicalId(stack.incidents.topic) }],
      },
      3,
    );
    const alarmOn = (alarm: { node: { defaultChild?: unknown } }) =>
      stack.resolve((alarm.node.defaultChild as { metricName: string }).metricName);
    expect(alarmOn(gw.errorsAlarm)).toBe(gw.metricErrors().metricName);
    expect(alarmOn(gw.throttlesAlarm)).toBe(gw.metricThrottles().metricName);
    expect(alarmOn(gw.latencyAlarm)).toBe(gw.metricLatency().metricName);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      // 80% of the 300 s timeout, in milliseconds.
      Threshold: 240000,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  test('metric methods take overrides, as CDK metrics do', () => {
    const metric = gw.metricLatency({ statistic: 'p50', period: Duration.minutes(1) });
    expect(metric.statistic).toBe('p50');
    expect(metric.period.toMinutes()).toBe(1);
    expect(gw.metricErrors().period.toMinutes()).toBe(5);
  });

  test("frontDoorKind alb: the gateway's target group passes every value of a repeated header (multi-value headers on)", () => {
    // The gateway's own target group, not any in the stack (the admin API's has the setting too).
    expect(albGw.targetGroup).toBeDefined();
    const targetGroup = alb.template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')[
      logicalId(albGw.targetGroup!)
    ];
    expect(targetGroup?.Properties).toMatchObject({
      TargetType: 'lambda',
      Targets: [{ Id: getAtt(logicalId(albGw.handler.function)) }],
    });
    expect(targetGroup.Properties.TargetGroupAttributes).toContainEqual({
      Key: 'lambda.multi_value_headers.enabled',
      Value: 'true',
    });
  });
});

describe('InferenceGateway options', () => {
  function build(extra: Partial<InferenceGatewayProps>) {
    const stack = testStack();
    const gw = gatewayInStack(stack, extra);
    return { stack, gw, template: Template.fromStack(stack) };
  }

  const bedrockStatementsOf = (
    gw: ReturnType<typeof build>['gw'],
    template: Template,
  ): ReturnType<typeof statementsOfRole> =>
    statementsOfRole(template, gw.handler.role).filter((s) =>
      (s.Action as string[]).includes('bedrock:InvokeModel'),
    );
  const profileArn = (region: string, id: string) => ({
    'Fn::Join': [
      '',
      [`arn:aws:bedrock:${region}:`, { Ref: 'AWS::AccountId' }, `:inference-profile/${id}`],
    ],
  });
  const EU_DESTINATIONS = [
    'eu-central-1',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-3',
  ];

  test('a geographic inference profile grants the profile, and its model only in the regions of that geography, only through the profile', () => {
    const { gw, template } = build({
      models: [{ id: 'nova', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
    });
    const profile = profileArn('eu-west-1', 'eu.amazon.nova-lite-v1:0');
    expect(bedrockStatementsOf(gw, template)).toEqual([
      { Effect: 'Allow', Action: BEDROCK_ACTIONS, Resource: [profile] },
      {
        Effect: 'Allow',
        Action: BEDROCK_ACTIONS,
        Resource: EU_DESTINATIONS.map(
          (r) => `arn:aws:bedrock:${r}::foundation-model/amazon.nova-lite-v1:0`,
        ),
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': profile } },
      },
    ]);
    // No region wildcard anywhere.
    expect(JSON.stringify(bedrockStatementsOf(gw, template))).not.toContain('bedrock:*');
  });

  test('a caller region that is a destination only for itself is added (eu. from London)', () => {
    const stack = new Stack(testApp(), 'London', { env: { region: 'eu-west-2' } });
    const gw = gatewayInStack(stack, {
      models: [{ id: 'nova', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
    });
    const [, viaProfile] = bedrockStatementsOf(gw, Template.fromStack(stack));
    expect(viaProfile.Resource).toEqual(
      [...EU_DESTINATIONS, 'eu-west-2']
        .sort()
        .map((r) => `arn:aws:bedrock:${r}::foundation-model/amazon.nova-lite-v1:0`),
    );
  });

  test('a global profile is granted as AWS documents it: the profile, the model through it here, and the region-less model', () => {
    const { gw, template } = build({
      models: [{ id: 'claude', upstreamId: 'global.anthropic.claude-x-v1:0', kind: 'chat' }],
    });
    const profile = profileArn('eu-west-1', 'global.anthropic.claude-x-v1:0');
    expect(bedrockStatementsOf(gw, template)).toEqual([
      { Effect: 'Allow', Action: BEDROCK_ACTIONS, Resource: [profile] },
      {
        Effect: 'Allow',
        Action: BEDROCK_ACTIONS,
        Resource: ['arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-x-v1:0'],
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': profile } },
      },
      {
        Effect: 'Allow',
        Action: BEDROCK_ACTIONS,
        Resource: ['arn:aws:bedrock:::foundation-model/anthropic.claude-x-v1:0'],
        Condition: {
          StringEquals: {
            'aws:RequestedRegion': 'unspecified',
            'bedrock:InferenceProfileArn': profile,
          },
        },
      },
    ]);
  });

  test('allowedRegions refuses every model that can send prompts elsewhere, naming the model and the regions', () => {
    expectThrowsExactly(
      () =>
        build({
          allowedRegions: ['eu-west-1', 'eu-central-1'],
          models: [
            { id: 'here', upstreamId: 'amazon.nova-lite-v1:0', kind: 'chat' },
            { id: 'eu-wide', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' },
            { id: 'anywhere', upstreamId: 'global.anthropic.claude-x-v1:0', kind: 'chat' },
            {
              id: 'wrapped',
              upstreamId:
                'arn:aws:bedrock:eu-west-1:111111111111:application-inference-profile/abc123',
              kind: 'chat',
            },
            {
              id: 'elsewhere',
              upstreamId: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
              kind: 'chat',
            },
          ],
        }),
      'Invalid InferenceGateway props:\n' +
        '  - models[1] (eu-wide) is a cross-region inference profile (eu.) that can send prompts to eu-north-1, eu-south-1, eu-south-2, eu-west-3, outside allowedRegions (eu-west-1, eu-central-1); use the in-region model id amazon.nova-lite-v1:0, or allow those regions\n' +
        '  - models[2] (anywhere) is a global cross-region inference profile: it can send prompts to any commercial region, outside allowedRegions (eu-west-1, eu-central-1); use the in-region model id anthropic.claude-x-v1:0\n' +
        '  - models[3] (wrapped) is an application inference profile, which can wrap a cross-region profile; where it routes cannot be checked at synth, so it is refused while allowedRegions is set\n' +
        '  - models[4] (elsewhere) runs in us-east-1, which is not in allowedRegions',
    );
  });

  test('allowedRegions accepts a geographic profile whose every destination is allowed', () => {
    const { gw, template } = build({
      allowedRegions: EU_DESTINATIONS,
      models: [{ id: 'nova', upstreamId: 'eu.amazon.nova-lite-v1:0', kind: 'chat' }],
    });
    expect(bedrockStatementsOf(gw, template)).toHaveLength(2);
  });

  test('allowedRegions holds for the construct alone: an environment-agnostic stack or one outside the list is refused, whatever the upstream', () => {
    const upstreams: Array<InferenceGatewayProps['upstream']> = [
      undefined,
      { kind: 'openai-compatible', baseUrl: 'https://llm.internal.example/' },
    ];
    for (const upstream of upstreams) {
      const agnostic = new Stack(testApp(), 'Agnostic');
      expectThrowsExactly(
        () => gatewayInStack(agnostic, { allowedRegions: ['eu-west-1'], upstream }),
        'Invalid InferenceGateway props:\n' +
          '  - allowedRegions is set (eu-west-1), so the stack needs an explicit region: its env.region (for the Ephemera app, set CDK_DEFAULT_REGION or pass -c region=<region>).',
      );
      const virginia = new Stack(testApp(), 'Virginia', { env: { region: 'us-east-1' } });
      expect(() => gatewayInStack(virginia, { allowedRegions: ['eu-west-1'], upstream })).toThrow(
        '  - Region us-east-1 is not in allowedRegions (eu-west-1): data residency forbids deploying Ephemera there.',
      );
    }
  });

  test('a Bedrock ARN that is neither a model nor a profile is refused under allowedRegions, and named for what it is', () => {
    expectThrowsExactly(
      () =>
        build({
          allowedRegions: ['eu-west-1'],
          models: [
            {
              id: 'tuned',
              upstreamId: 'arn:aws:bedrock:eu-west-1:111111111111:provisioned-model/abc123',
              kind: 'chat',
            },
          ],
        }),
      'Invalid InferenceGateway props:\n' +
        '  - models[0] (tuned) is a Bedrock ARN that is not a model or profile id (a provisioned or custom model); where it routes cannot be checked at synth, so it is refused while allowedRegions is set',
    );
  });

  test('a profile that cannot be called from the stack region is refused', () => {
    expectThrowsExactly(
      () => build({ models: [{ id: 'us', upstreamId: 'us.amazon.nova-lite-v1:0', kind: 'chat' }] }),
      'Invalid InferenceGateway props:\n' +
        '  - models[0] (us): the us. inference profile cannot be called from eu-west-1 (it serves us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, ca-west-1)',
    );
  });

  test('an openai-compatible upstream gets its base URL and may read only its credential; no Bedrock', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-token-AbCdEf';
    const probe = testStack();
    const { gw, template } = build({
      upstream: {
        kind: 'openai-compatible',
        baseUrl: 'https://llm.internal.example/',
        credentials: secretsmanager.Secret.fromSecretCompleteArn(probe, 'S', secretArn),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          UPSTREAM_KIND: 'openai-compatible',
          UPSTREAM_BASE_URL: 'https://llm.internal.example',
          UPSTREAM_SECRET_ARN: secretArn,
        }),
      },
    });
    const statements = statementsOfRole(template, gw.handler.role);
    const actions = statements.flatMap((s) => s.Action as string[]);
    for (const action of BEDROCK_ACTIONS) expect(actions).not.toContain(action);
    const secretRead = statements.find((s) =>
      (s.Action as string[]).includes('secretsmanager:GetSecretValue'),
    );
    expect(secretRead?.Resource).toEqual([secretArn]);
  });

  test('an embedding model may be invoked (not streamed) in the regions its id reaches, chat models as before', () => {
    const { gw, template } = build({
      models: [
        { id: 'chat', upstreamId: 'amazon.nova-lite-v1:0', kind: 'chat' },
        { id: 'embed', upstreamId: 'amazon.titan-embed-text-v2:0', kind: 'embedding' },
        {
          id: 'embed-arn',
          upstreamId: 'arn:aws:bedrock:eu-central-1::foundation-model/amazon.titan-embed-text-v2:0',
          kind: 'embedding',
        },
      ],
    });
    expect(bedrockStatementsOf(gw, template)).toEqual([
      {
        Effect: 'Allow',
        Action: BEDROCK_ACTIONS,
        Resource: ['arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0'],
      },
      {
        Effect: 'Allow',
        Action: ['bedrock:InvokeModel'],
        Resource: [
          'arn:aws:bedrock:eu-central-1::foundation-model/amazon.titan-embed-text-v2:0',
          'arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0',
        ],
      },
    ]);
  });

  test('a Bedrock embedding model other than Titan Text Embeddings V2 is refused at synth', () => {
    const refusal = (i: number, id: string) =>
      `  - models[${i}] (${id}): the Bedrock upstream serves embeddings with Amazon Titan Text Embeddings V2 only (upstreamId amazon.titan-embed-text-v2:0, or its foundation-model ARN)`;
    expectThrowsExactly(
      () =>
        build({
          models: [
            { id: 'titan-v2', upstreamId: 'amazon.titan-embed-text-v2:0', kind: 'embedding' },
            { id: 'titan-v1', upstreamId: 'amazon.titan-embed-text-v1', kind: 'embedding' },
            { id: 'cohere', upstreamId: 'cohere.embed-english-v3', kind: 'embedding' },
            {
              id: 'wrapped',
              upstreamId:
                'arn:aws:bedrock:eu-west-1:111111111111:application-inference-profile/abc123',
              kind: 'embedding',
            },
          ],
        }),
      'Invalid InferenceGateway props:\n' +
        [refusal(1, 'titan-v1'), refusal(2, 'cohere'), refusal(3, 'wrapped')].join('\n'),
    );
    // Any embedding model name goes to an OpenAI-compatible upstream.
    expect(() =>
      build({
        upstream: { kind: 'openai-compatible', baseUrl: 'https://llm.internal.example' },
        models: [{ id: 'cohere', upstreamId: 'cohere.embed-english-v3', kind: 'embedding' }],
      }),
    ).not.toThrow();
  });

  test('bad props are reported together', () => {
    expectThrowsExactly(
      () =>
        build({
          timeout: Duration.seconds(5),
          metadataRetentionDays: 0,
          maxConcurrency: 0,
          models: [],
          upstream: { kind: 'openai-compatible', baseUrl: 'http://plain.example' },
        }),
      'Invalid InferenceGateway props:\n' +
        '  - timeout must be between 30 seconds and 15 minutes (got 5 seconds)\n' +
        '  - metadataRetentionDays must be an integer from 1 to 3650 (got 0)\n' +
        '  - maxConcurrency must be an integer from 1 to 1000 (got 0)\n' +
        '  - models must name at least one model\n' +
        '  - upstream.baseUrl must be an https:// URL without credentials, query or fragment (TLS only)',
    );
  });
});

describe('InferenceGateway settings (the configuration keys its contract carries as they are)', () => {
  const variables = (extra: Partial<InferenceGatewayProps>) => {
    const stack = testStack();
    const gw = gatewayInStack(stack, extra);
    const fn = Template.fromStack(stack).toJSON().Resources[logicalId(gw.handler.function)];
    return fn.Properties.Environment.Variables as Record<string, unknown>;
  };

  test('an omitted setting is written with its schema default; a given one as given', () => {
    // As the documented-defaults table checks a literal @default: the default
    // is the value written, and another value changes what is written.
    expect(variables({}).MAX_IMAGES_PER_REQUEST).toBe('4');
    expect(variables({ settings: {} })).toEqual(
      variables({ settings: { maxImagesPerRequest: 4 } }),
    );
    expect(variables({ settings: { maxImagesPerRequest: 2 } }).MAX_IMAGES_PER_REQUEST).toBe('2');
  });

  test('a setting is checked by its configuration rule, the value named', () => {
    expectThrowsExactly(
      () => gatewayInStack(testStack(), { settings: { maxImagesPerRequest: 11 } }),
      'Invalid InferenceGateway props:\n  - maxImagesPerRequest must be an integer from 1 to 10 (got 11)',
    );
  });

  test('an EphemeraConfig-shaped object fits: keys the gateway does not carry are left out', () => {
    const checkedSettings = { maxImagesPerRequest: 3, imageSweepMinutes: 7 };
    const env = variables({ settings: checkedSettings });
    expect(env.MAX_IMAGES_PER_REQUEST).toBe('3');
    expect(Object.values(env)).not.toContain('7');
  });
});
