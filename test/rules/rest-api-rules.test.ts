import { CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { NagRuleCompliance } from 'cdk-nag';
import {
  APIGatewayNoBodyLogging,
  APIGatewayStageThrottling,
  APIGatewayTLSPolicy,
  TLS12_MINIMUM_API_GATEWAY_POLICIES,
} from '../../lib/rules';
import { findings, newStack, ruleIdsFor } from './helpers';

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = NagRuleCompliance;

process.env.CDK_VALIDATION = 'false';

const REST_API_ID = 'a1b2c3d4e5';
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:111111111111:certificate/abc';
const STAGE_WIDE = { httpMethod: '*', resourcePath: '/*' };
const THROTTLED = { ...STAGE_WIDE, throttlingBurstLimit: 10, throttlingRateLimit: 10 };

describe('EphemeraRT-APIGatewayTLSPolicy', () => {
  /** One resource of each checked type with the given policy and access mode. */
  function tlsResources(
    stack: Stack,
    id: string,
    securityPolicy?: string,
    endpointAccessMode?: string,
  ) {
    return [
      new apigateway.CfnRestApi(stack, `${id}Api`, {
        name: 'ephemera',
        securityPolicy,
        endpointAccessMode,
      }),
      new apigateway.CfnDomainName(stack, `${id}Domain`, {
        domainName: 'api.example.com',
        regionalCertificateArn: CERTIFICATE_ARN,
        securityPolicy,
        endpointAccessMode,
      }),
      new apigateway.CfnDomainNameV2(stack, `${id}DomainV2`, {
        domainName: 'private.example.com',
        certificateArn: CERTIFICATE_ARN,
        securityPolicy,
        endpointAccessMode,
      }),
    ];
  }

  test('every allowlisted policy with STRICT passes on a RestApi, DomainName and DomainNameV2', () => {
    const { stack } = newStack();
    for (const [i, policy] of TLS12_MINIMUM_API_GATEWAY_POLICIES.entries()) {
      for (const resource of tlsResources(stack, `P${i}`, policy, 'STRICT')) {
        expect(APIGatewayTLSPolicy(resource)).toBe(COMPLIANT);
      }
    }
  });

  test('the allowlist holds only the enhanced TLS 1.3 policies and the two 2025 edge policies', () => {
    for (const policy of TLS12_MINIMUM_API_GATEWAY_POLICIES) {
      expect(policy).toMatch(
        /^SecurityPolicy_(TLS13_1_[23]_\w+|TLS13_2025_EDGE|TLS12_PFS_2025_EDGE)$/,
      );
    }
    for (const policy of Object.values(apigateway.SecurityPolicy)) {
      // Every enhanced policy CDK knows of is listed, except the 2018 edge one.
      if (policy.startsWith('SecurityPolicy_') && policy !== 'SecurityPolicy_TLS12_2018_EDGE') {
        expect(TLS12_MINIMUM_API_GATEWAY_POLICIES).toContain(policy);
      }
    }
  });

  test.each(['TLS_1_0', 'TLS_1_2', 'SecurityPolicy_TLS12_2018_EDGE'])(
    '%s is reported',
    (policy) => {
      const { stack } = newStack();
      for (const resource of tlsResources(stack, 'Legacy', policy, 'STRICT')) {
        expect(APIGatewayTLSPolicy(resource)).toBe(NON_COMPLIANT);
      }
    },
  );

  test('a missing SecurityPolicy is reported (a regional API then uses TLS_1_0)', () => {
    const { stack } = newStack();
    for (const resource of tlsResources(stack, 'None', undefined, 'STRICT')) {
      expect(APIGatewayTLSPolicy(resource)).toBe(NON_COMPLIANT);
    }
  });

  test.each([undefined, 'BASIC'])('EndpointAccessMode %s is reported', (mode) => {
    const { stack } = newStack();
    for (const resource of tlsResources(stack, 'Mode', 'SecurityPolicy_TLS13_1_3_2025_09', mode)) {
      expect(APIGatewayTLSPolicy(resource)).toBe(NON_COMPLIANT);
    }
  });

  test('a policy or access mode from a parameter cannot be decided and passes', () => {
    const { stack } = newStack();
    const policy = new CfnParameter(stack, 'Policy', { type: 'String' }).valueAsString;
    const mode = new CfnParameter(stack, 'Mode', { type: 'String' }).valueAsString;
    for (const resource of [
      ...tlsResources(stack, 'PolicyParam', policy, 'STRICT'),
      ...tlsResources(stack, 'ModeParam', 'SecurityPolicy_TLS13_1_2_2021_06', mode),
    ]) {
      expect(APIGatewayTLSPolicy(resource)).toBe(COMPLIANT);
    }
  });

  test('a parameter does not excuse a known-bad other half', () => {
    const { stack } = newStack();
    const policy = new CfnParameter(stack, 'Policy', { type: 'String' }).valueAsString;
    const [api] = tlsResources(stack, 'Half', policy, 'BASIC');
    expect(APIGatewayTLSPolicy(api)).toBe(NON_COMPLIANT);
  });

  test('an L2 DomainName with TLS13_1_3_2025_09 and STRICT has no findings; its defaults are reported', () => {
    const { stack } = newStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', CERTIFICATE_ARN);
    const strict = new apigateway.DomainName(stack, 'Strict', {
      domainName: 'api.example.com',
      certificate,
      securityPolicy: apigateway.SecurityPolicy.TLS13_1_3_2025_09,
      endpointAccessMode: apigateway.EndpointAccessMode.STRICT,
    });
    const legacy = new apigateway.DomainName(stack, 'Legacy', {
      domainName: 'legacy.example.com',
      certificate,
    });
    expect(ruleIdsFor(strict)).toEqual([]);
    expect(ruleIdsFor(legacy)).toEqual(['EphemeraRT-APIGatewayTLSPolicy']);
  });

  test('other resource types are not applicable', () => {
    const { stack } = newStack();
    const stage = new apigateway.CfnStage(stack, 'Stage', { restApiId: REST_API_ID });
    expect(APIGatewayTLSPolicy(stage)).toBe(NOT_APPLICABLE);
  });
});

describe('EphemeraRT-APIGatewayNoBodyLogging', () => {
  function stage(
    stack: Stack,
    props: Partial<apigateway.CfnStageProps> = {},
    id = 'Stage',
  ): apigateway.CfnStage {
    return new apigateway.CfnStage(stack, id, { restApiId: REST_API_ID, ...props });
  }

  test('a stage without data tracing or access logs passes', () => {
    const { stack } = newStack();
    expect(APIGatewayNoBodyLogging(stage(stack))).toBe(COMPLIANT);
    expect(
      APIGatewayNoBodyLogging(
        stage(stack, { methodSettings: [{ ...THROTTLED, dataTraceEnabled: false }] }, 'Off'),
      ),
    ).toBe(COMPLIANT);
  });

  test('data tracing on the whole stage, or on one method, is reported', () => {
    const { stack } = newStack();
    const whole = stage(stack, { methodSettings: [{ ...THROTTLED, dataTraceEnabled: true }] });
    const one = stage(
      stack,
      {
        methodSettings: [
          { ...THROTTLED, dataTraceEnabled: false },
          { httpMethod: 'POST', resourcePath: '/~1v1~1chat~1completions', dataTraceEnabled: true },
        ],
      },
      'One',
    );
    expect(APIGatewayNoBodyLogging(whole)).toBe(NON_COMPLIANT);
    expect(APIGatewayNoBodyLogging(one)).toBe(NON_COMPLIANT);
  });

  test('"true" as a string is reported; a parameter cannot be decided and passes', () => {
    const { stack } = newStack();
    const text = stage(stack);
    text.addPropertyOverride('MethodSettings', [{ ...STAGE_WIDE, DataTraceEnabled: 'true' }]);
    const trace = new CfnParameter(stack, 'Trace', { type: 'String' });
    const param = stage(stack, {}, 'Param');
    param.addPropertyOverride('MethodSettings', [
      { HttpMethod: '*', ResourcePath: '/*', DataTraceEnabled: trace.valueAsString },
    ]);
    expect(APIGatewayNoBodyLogging(text)).toBe(NON_COMPLIANT);
    expect(APIGatewayNoBodyLogging(param)).toBe(COMPLIANT);
  });

  test.each([
    '{"auth":"$context.requestOverride.header.Authorization"}',
    '$context.requestId AUTHORIZATION=$context.authorizer.principalId',
    '$context.requestId $input.body',
    '{"body":"$input.json(\'$\')"}',
  ])('an access log format %p is reported', (format) => {
    const { stack } = newStack();
    const logged = stage(stack, {
      accessLogSetting: {
        destinationArn: 'arn:aws:logs:eu-west-1:111111111111:log-group:x',
        format,
      },
    });
    expect(APIGatewayNoBodyLogging(logged)).toBe(NON_COMPLIANT);
  });

  test('a metadata-only access log format passes, including CDK jsonWithStandardFields', () => {
    const { stack } = newStack();
    const metadata = stage(stack, {
      accessLogSetting: { format: '$context.requestId $context.status $context.responseLatency' },
    });
    const standard = stage(
      stack,
      {
        accessLogSetting: {
          format: apigateway.AccessLogFormat.jsonWithStandardFields().toString(),
        },
      },
      'Standard',
    );
    expect(APIGatewayNoBodyLogging(metadata)).toBe(COMPLIANT);
    expect(APIGatewayNoBodyLogging(standard)).toBe(COMPLIANT);
  });

  test('a format built by an intrinsic is reported when a literal part logs the body', () => {
    const { stack } = newStack();
    const format = new CfnParameter(stack, 'Format', { type: 'String' }).valueAsString;
    const joined = stage(stack, {
      accessLogSetting: { format: Fn.join(' ', ['$context.requestId', format, '$input.body']) },
    });
    const param = stage(stack, { accessLogSetting: { format } }, 'Param');
    expect(APIGatewayNoBodyLogging(joined)).toBe(NON_COMPLIANT);
    expect(APIGatewayNoBodyLogging(param)).toBe(COMPLIANT);
  });

  describe('deployments', () => {
    function deployment(
      stack: Stack,
      stageDescription?: apigateway.CfnDeployment.StageDescriptionProperty,
      id = 'Deployment',
    ): apigateway.CfnDeployment {
      return new apigateway.CfnDeployment(stack, id, {
        restApiId: REST_API_ID,
        stageName: 'prod',
        stageDescription,
      });
    }

    test('a deployment without, or with a quiet, stage description passes', () => {
      const { stack } = newStack();
      expect(APIGatewayNoBodyLogging(deployment(stack))).toBe(COMPLIANT);
      expect(
        APIGatewayNoBodyLogging(
          deployment(
            stack,
            {
              dataTraceEnabled: false,
              methodSettings: [{ ...STAGE_WIDE, dataTraceEnabled: false }],
              accessLogSetting: { format: '$context.requestId' },
            },
            'Quiet',
          ),
        ),
      ).toBe(COMPLIANT);
    });

    test('StageDescription.DataTraceEnabled is reported', () => {
      const { stack } = newStack();
      expect(APIGatewayNoBodyLogging(deployment(stack, { dataTraceEnabled: true }))).toBe(
        NON_COMPLIANT,
      );
    });

    test('a StageDescription.MethodSettings entry with DataTraceEnabled is reported', () => {
      const { stack } = newStack();
      const traced = deployment(stack, {
        methodSettings: [
          { httpMethod: 'GET', resourcePath: '/~1v1~1models', dataTraceEnabled: true },
        ],
      });
      expect(APIGatewayNoBodyLogging(traced)).toBe(NON_COMPLIANT);
    });

    test('a StageDescription access log format with $input is reported', () => {
      const { stack } = newStack();
      const logged = deployment(stack, { accessLogSetting: { format: "$input.path('$')" } });
      expect(APIGatewayNoBodyLogging(logged)).toBe(NON_COMPLIANT);
    });
  });

  test('other resource types are not applicable', () => {
    const { stack } = newStack();
    const api = new apigateway.CfnRestApi(stack, 'Api', { name: 'ephemera' });
    expect(APIGatewayNoBodyLogging(api)).toBe(NOT_APPLICABLE);
  });
});

describe('EphemeraRT-APIGatewayStageThrottling', () => {
  function stage(
    stack: Stack,
    methodSettings?: apigateway.CfnStage.MethodSettingProperty[],
    id = 'Stage',
  ): apigateway.CfnStage {
    return new apigateway.CfnStage(stack, id, { restApiId: REST_API_ID, methodSettings });
  }

  test('a * /* entry with both limits passes', () => {
    const { stack } = newStack();
    expect(APIGatewayStageThrottling(stage(stack, [THROTTLED]))).toBe(COMPLIANT);
  });

  test('a stage without method settings is reported', () => {
    const { stack } = newStack();
    expect(APIGatewayStageThrottling(stage(stack))).toBe(NON_COMPLIANT);
  });

  test.each<[string, apigateway.CfnStage.MethodSettingProperty]>([
    ['only a burst limit', { ...STAGE_WIDE, throttlingBurstLimit: 10 }],
    ['only a rate limit', { ...STAGE_WIDE, throttlingRateLimit: 10 }],
    ['a zero burst limit', { ...THROTTLED, throttlingBurstLimit: 0 }],
    ['a negative rate limit', { ...THROTTLED, throttlingRateLimit: -1 }],
    ['limits on one method only', { ...THROTTLED, httpMethod: 'POST' }],
    ['limits on one resource only', { ...THROTTLED, resourcePath: '/~1v1~1chat~1completions' }],
  ])('%s is reported', (_name, setting) => {
    const { stack } = newStack();
    expect(APIGatewayStageThrottling(stage(stack, [setting]))).toBe(NON_COMPLIANT);
  });

  test('numeric strings and parameters pass', () => {
    const { stack } = newStack();
    const text = stage(stack);
    text.addPropertyOverride('MethodSettings', [
      {
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingBurstLimit: '20',
        ThrottlingRateLimit: '5.5',
      },
    ]);
    const burst = new CfnParameter(stack, 'Burst', { type: 'Number' }).valueAsNumber;
    const param = stage(stack, [{ ...THROTTLED, throttlingBurstLimit: burst }], 'Param');
    expect(APIGatewayStageThrottling(text)).toBe(COMPLIANT);
    expect(APIGatewayStageThrottling(param)).toBe(COMPLIANT);
  });

  test('a stage-wide entry among per-method ones passes', () => {
    const { stack } = newStack();
    const mixed = stage(stack, [
      { httpMethod: 'POST', resourcePath: '/~1v1~1images~1generations', throttlingRateLimit: 1 },
      THROTTLED,
    ]);
    expect(APIGatewayStageThrottling(mixed)).toBe(COMPLIANT);
  });

  describe('deployments', () => {
    function deployment(
      stack: Stack,
      props: Partial<apigateway.CfnDeploymentProps>,
      id = 'Deployment',
    ): apigateway.CfnDeployment {
      return new apigateway.CfnDeployment(stack, id, { restApiId: REST_API_ID, ...props });
    }

    test('a deployment that creates its stage must throttle it', () => {
      const { stack } = newStack();
      const bare = deployment(stack, { stageName: 'prod' });
      const direct = deployment(
        stack,
        {
          stageName: 'prod',
          stageDescription: { throttlingBurstLimit: 10, throttlingRateLimit: 10 },
        },
        'Direct',
      );
      const viaSettings = deployment(
        stack,
        { stageName: 'prod', stageDescription: { methodSettings: [THROTTLED] } },
        'ViaSettings',
      );
      const burstOnly = deployment(
        stack,
        { stageName: 'prod', stageDescription: { throttlingBurstLimit: 10 } },
        'BurstOnly',
      );
      expect(APIGatewayStageThrottling(bare)).toBe(NON_COMPLIANT);
      expect(APIGatewayStageThrottling(direct)).toBe(COMPLIANT);
      expect(APIGatewayStageThrottling(viaSettings)).toBe(COMPLIANT);
      expect(APIGatewayStageThrottling(burstOnly)).toBe(NON_COMPLIANT);
    });

    test('a deployment without StageName (as CDK writes it) is not applicable', () => {
      const { stack } = newStack();
      expect(APIGatewayStageThrottling(deployment(stack, {}))).toBe(NOT_APPLICABLE);
    });
  });

  test('other resource types are not applicable', () => {
    const { stack } = newStack();
    const api = new apigateway.CfnRestApi(stack, 'Api', { name: 'ephemera' });
    expect(APIGatewayStageThrottling(api)).toBe(NOT_APPLICABLE);
  });
});

describe('a CDK RestApi', () => {
  function restApi(stack: Stack, deployOptions: apigateway.StageOptions, secure = true) {
    const api = new apigateway.RestApi(stack, 'Api', { deployOptions });
    api.root.addMethod('GET', new apigateway.MockIntegration());
    if (secure) {
      const cfnApi = api.node.defaultChild as apigateway.CfnRestApi;
      cfnApi.addPropertyOverride('SecurityPolicy', 'SecurityPolicy_TLS13_1_3_2025_09');
      cfnApi.addPropertyOverride('EndpointAccessMode', 'STRICT');
    }
    return api;
  }

  test('with an enhanced policy, STRICT and stage throttling, it has no findings', () => {
    const { app, stack } = newStack();
    restApi(stack, { throttlingBurstLimit: 10, throttlingRateLimit: 10 });
    expect(findings(app)).toEqual([]);
  });

  test('with dataTraceEnabled, its stage is reported', () => {
    const { app, stack } = newStack();
    restApi(stack, { throttlingBurstLimit: 10, throttlingRateLimit: 10, dataTraceEnabled: true });
    expect(findings(app)).toEqual([
      'EphemeraRT-APIGatewayNoBodyLogging Test/Api/DeploymentStage.prod/Resource',
    ]);
  });

  test('with the defaults, the API and its stage are reported', () => {
    const { app, stack } = newStack();
    restApi(stack, {}, false);
    expect(findings(app)).toEqual([
      'EphemeraRT-APIGatewayStageThrottling Test/Api/DeploymentStage.prod/Resource',
      'EphemeraRT-APIGatewayTLSPolicy Test/Api/Resource',
    ]);
  });
});
