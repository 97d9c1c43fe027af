import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Template } from 'aws-cdk-lib/assertions';
import { CONFIG_DEFAULTS, ConfigKey, EphemeraConfig, readConfig } from '../../lib/config';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { TlsVersions } from '../../lib/tls-load-balancer';
import {
  CDK_JSON_CONTEXT,
  expectThrowsExactly,
  statementsOfRole,
  TEST_CERTIFICATE_ARN,
} from '../support/stacks';

/** readConfig on an app whose context is exactly `context` (as `-c key=value` would give). */
const configFrom = (context: Record<string, unknown>): EphemeraConfig =>
  readConfig(new App({ context }));

/** A config written back as context values, to compare with CONFIG_DEFAULTS. */
function asContext(c: EphemeraConfig): Record<ConfigKey, unknown> {
  return {
    imageTtlMinutes: c.imageTtl.toMinutes(),
    imageSweepMinutes: c.imageSweepInterval.toMinutes(),
    metadataRetentionDays: c.metadataRetentionDays,
    logRetentionDays: c.logRetention,
    accessLogRetentionDays: c.accessLogRetentionDays,
    certificateArn: c.certificateArn ?? '',
    domainName: c.domainName ?? '',
    hostedZoneId: c.hostedZoneId ?? '',
    hostedZoneName: c.hostedZoneName ?? '',
    tlsVersions: c.tlsVersions,
    fips: c.fips,
    maxAzs: c.maxAzs,
    vpcCidr: c.vpcCidr,
    frontDoor: c.frontDoor,
    frontDoorKind: c.frontDoorKind,
    apiVpcEndpointIds: c.apiVpcEndpointIds,
    apiGatewayAccountRole: c.apiGatewayAccountRole,
    allowedCidrs: c.allowedCidrs ?? [],
    httpRedirect: c.httpRedirect,
    webAclArn: c.webAclArn ?? '',
    alarmEmails: c.alarmEmails,
    allowedRegions: c.allowedRegions,
    allowInternetEgress: c.allowInternetEgress,
    keyRotationDays: c.keyRotationDays,
    removalPolicy: c.removalPolicy === RemovalPolicy.DESTROY ? 'destroy' : 'retain',
    upstream: c.upstream.kind,
    upstreamBaseUrl: c.upstream.kind === 'openai-compatible' ? c.upstream.baseUrl : '',
    upstreamSecretArn: (c.upstream.kind === 'openai-compatible' && c.upstream.secretArn) || '',
    upstreamSecretKmsKeyArn:
      (c.upstream.kind === 'openai-compatible' && c.upstream.secretKmsKeyArn) || '',
    models: c.models,
    gatewayTimeoutSeconds: c.gatewayTimeout.toSeconds(),
    gatewayMaxConcurrency: c.gatewayMaxConcurrency,
    reserveConcurrency: c.reserveConcurrency,
    maxImagesPerRequest: c.settings.maxImagesPerRequest,
    remoteImageUrls: c.remoteImageUrls,
    accessLogs: c.accessLogs,
    maxKeyAgeDays: c.maxKeyAgeDays,
    endpointServicePrincipals: c.endpointServicePrincipals,
    allowInsecureTrustAll: c.allowInsecureTrustAll,
    receiptWebhookUrl: c.receiptWebhookUrl ?? '',
  };
}

const invalid = (...problems: string[]) =>
  'Invalid Ephemera configuration (cdk.json context):\n' +
  problems.map((p) => `  - ${p}`).join('\n');

describe('readConfig defaults', () => {
  test('with no context, the configuration is CONFIG_DEFAULTS', () => {
    expect(asContext(configFrom({}))).toEqual(CONFIG_DEFAULTS);
  });

  test('cdk.json sets every configuration key to its default', () => {
    const fromCdkJson = Object.fromEntries(
      Object.keys(CONFIG_DEFAULTS).map((k) => [k, CDK_JSON_CONTEXT[k]]),
    );
    expect(fromCdkJson).toEqual(CONFIG_DEFAULTS);
    expect(configFrom({ ...CDK_JSON_CONTEXT })).toEqual(configFrom({}));
  });

  test('the defaults are typed values', () => {
    const c = configFrom({});
    expect(c.imageTtl.toSeconds()).toBe(3600);
    expect(c.imageSweepInterval.toSeconds()).toBe(300);
    expect(c.logRetention).toBe(logs.RetentionDays.ONE_MONTH);
    expect(c.tlsVersions).toBe(TlsVersions.TLS_1_2_AND_1_3);
    expect(c.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(c.certificateArn).toBeUndefined();
    expect(c.allowedCidrs).toBeUndefined();
    expect(c.webAclArn).toBeUndefined();
    expect(c.upstream).toEqual({ kind: 'bedrock' });
    expect(c.gatewayTimeout.toSeconds()).toBe(300);
  });
});

describe('readConfig parses strings from -c', () => {
  test('numbers, booleans, comma lists and JSON lists', () => {
    const c = configFrom({
      imageTtlMinutes: '45',
      imageSweepMinutes: '10',
      metadataRetentionDays: '90',
      logRetentionDays: '90',
      accessLogRetentionDays: '7',
      maxAzs: '3',
      keyRotationDays: '730',
      fips: 'true',
      httpRedirect: 'true',
      allowInternetEgress: 'false',
      alarmEmails: 'a@b.c,d@e.f',
      allowedRegions: '["eu-west-1"]',
      allowedCidrs: '10.0.0.0/8, 192.168.0.0/16',
      tlsVersions: 'tls1.3',
      // The load balancer's keys (PrivateLink principals, the port-80 redirect).
      frontDoorKind: 'alb',
      frontDoor: 'private',
      endpointServicePrincipals: '111122223333',
      allowInsecureTrustAll: 'true',
      receiptWebhookUrl: 'https://hooks.example.com/ephemera/receipts',
      removalPolicy: 'destroy',
      vpcCidr: '10.50.0.0/20',
      certificateArn: TEST_CERTIFICATE_ARN,
      domainName: 'api.example.com',
      hostedZoneId: 'Z0123456789ABC',
      hostedZoneName: 'example.com',
      webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/y',
    });
    expect(c).toMatchObject({
      imageTtl: Duration.minutes(45),
      imageSweepInterval: Duration.minutes(10),
      metadataRetentionDays: 90,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      accessLogRetentionDays: 7,
      maxAzs: 3,
      keyRotationDays: 730,
      fips: true,
      httpRedirect: true,
      allowInternetEgress: false,
      alarmEmails: ['a@b.c', 'd@e.f'],
      allowedRegions: ['eu-west-1'],
      allowedCidrs: ['10.0.0.0/8', '192.168.0.0/16'],
      tlsVersions: TlsVersions.TLS_1_3_ONLY,
      frontDoorKind: 'alb',
      frontDoor: 'private',
      endpointServicePrincipals: ['111122223333'],
      allowInsecureTrustAll: true,
      receiptWebhookUrl: 'https://hooks.example.com/ephemera/receipts',
      removalPolicy: RemovalPolicy.DESTROY,
      vpcCidr: '10.50.0.0/20',
      certificateArn: TEST_CERTIFICATE_ARN,
      domainName: 'api.example.com',
      hostedZoneId: 'Z0123456789ABC',
      hostedZoneName: 'example.com',
      webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/y',
    });
  });

  test('an OpenAI-compatible upstream, models as a JSON string, gateway limits', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-AbCdEf';
    const models = [{ id: 'llama', upstreamId: 'meta/llama-3', kind: 'chat' }];
    const c = configFrom({
      upstream: 'openai-compatible',
      upstreamBaseUrl: 'https://llm.internal.example.com/v1',
      upstreamSecretArn: secretArn,
      models: JSON.stringify(models),
      gatewayTimeoutSeconds: '120',
      gatewayMaxConcurrency: '20',
      maxImagesPerRequest: '2',
    });
    expect(c).toMatchObject({
      upstream: {
        kind: 'openai-compatible',
        baseUrl: 'https://llm.internal.example.com/v1',
        secretArn,
      },
      models,
      gatewayTimeout: Duration.seconds(120),
      gatewayMaxConcurrency: 20,
      settings: { maxImagesPerRequest: 2 },
    });
  });

  test('JSON values from cdk.json are accepted as they are', () => {
    const c = configFrom({ fips: true, maxAzs: 4, alarmEmails: ['ops@example.com'] });
    expect(c).toMatchObject({ fips: true, maxAzs: 4, alarmEmails: ['ops@example.com'] });
  });

  test('an empty string means "not set" for optional strings and lists', () => {
    const c = configFrom({ certificateArn: '', alarmEmails: '', allowedCidrs: ' ', vpcCidr: '' });
    expect(c.certificateArn).toBeUndefined();
    expect(c.alarmEmails).toEqual([]);
    expect(c.allowedCidrs).toBeUndefined();
    expect(c.vpcCidr).toBe('10.40.0.0/16');
  });
});

describe('readConfig rejects bad values', () => {
  test.each([
    ['imageTtlMinutes', '4', 'imageTtlMinutes must be an integer from 5 to 1440 (got "4")'],
    ['imageTtlMinutes', 1441, 'imageTtlMinutes must be an integer from 5 to 1440 (got 1441)'],
    ['imageSweepMinutes', '1.5', 'imageSweepMinutes must be an integer from 1 to 60 (got "1.5")'],
    ['metadataRetentionDays', 0, 'metadataRetentionDays must be an integer from 1 to 3650 (got 0)'],
    [
      'logRetentionDays',
      'month',
      'logRetentionDays must be an integer from 1 to 3653 (got "month")',
    ],
    [
      'accessLogRetentionDays',
      401,
      'accessLogRetentionDays must be an integer from 1 to 400 (got 401)',
    ],
    [
      'certificateArn',
      'arn:aws:iam::111111111111:server-certificate/x',
      'certificateArn must be an ACM certificate ARN (got "arn:aws:iam::111111111111:server-certificate/x")',
    ],
    [
      'domainName',
      'API.example.com',
      'domainName must be a lower-case DNS name (got "API.example.com")',
    ],
    ['tlsVersions', 'tls1.2', 'tlsVersions must be one of tls1.2+1.3, tls1.3 (got "tls1.2")'],
    ['fips', 'yes', 'fips must be true or false (got "yes")'],
    ['maxAzs', '7', 'maxAzs must be an integer from 1 to 6 (got "7")'],
    ['vpcCidr', '10.0.0.0', 'vpcCidr must be an IPv4 CIDR from /16 to /21 (got "10.0.0.0")'],
    ['frontDoor', 'internal', 'frontDoor must be one of public, private, both (got "internal")'],
    [
      'allowedCidrs',
      '10.0.0.0/8,oops',
      'allowedCidrs must be IPv4 CIDR ranges such as 10.0.0.0/8 (got "10.0.0.0/8,oops")',
    ],
    ['httpRedirect', 1, 'httpRedirect must be true or false (got 1)'],
    ['webAclArn', 'waf', 'webAclArn must be the ARN of a REGIONAL WAFv2 web ACL (got "waf")'],
    ['alarmEmails', 'ops', 'alarmEmails must be email addresses (1 of 1 are not) (got "ops")'],
    [
      'allowedRegions',
      '["eu-west-1",',
      'allowedRegions must be a list of AWS region names such as eu-west-1 (got "[\\"eu-west-1\\",")',
    ],
    [
      'allowedRegions',
      'EU-WEST-1',
      'allowedRegions must be AWS region names such as eu-west-1 (got "EU-WEST-1")',
    ],
    ['allowInternetEgress', 'no', 'allowInternetEgress must be true or false (got "no")'],
    ['keyRotationDays', '89', 'keyRotationDays must be an integer from 90 to 2560 (got "89")'],
    ['removalPolicy', 'snapshot', 'removalPolicy must be one of retain, destroy (got "snapshot")'],
    ['upstream', 'openai', 'upstream must be one of bedrock, openai-compatible (got "openai")'],
    [
      'gatewayTimeoutSeconds',
      29,
      'gatewayTimeoutSeconds must be an integer from 30 to 900 (got 29)',
    ],
    [
      'gatewayMaxConcurrency',
      '0',
      'gatewayMaxConcurrency must be an integer from 1 to 1000 (got "0")',
    ],
    ['maxImagesPerRequest', 11, 'maxImagesPerRequest must be an integer from 1 to 10 (got 11)'],
    [
      'endpointServicePrincipals',
      '*',
      'endpointServicePrincipals must be 12-digit account ids or ARNs of an account root, IAM role or IAM user (never *) (got "*")',
    ],
    ['allowInsecureTrustAll', 'yes', 'allowInsecureTrustAll must be true or false (got "yes")'],
    [
      'receiptWebhookUrl',
      'http://hooks.example.com/x',
      'receiptWebhookUrl must be an https:// URL without credentials, query or fragment',
    ],
    [
      'receiptWebhookUrl',
      'https://user:secret-canary@hooks.example.com/x',
      'receiptWebhookUrl must not carry credentials (they would be stored in plain text in the template and the function environment): the receiver authenticates each receipt by its KMS signature',
    ],
  ] as Array<[ConfigKey, unknown, string]>)('%s = %j', (key, value, problem) => {
    expectThrowsExactly(() => configFrom({ [key]: value }), invalid(problem));
  });

  test('a PrivateLink front door needs principals, and private allows no internet gateway', () => {
    expectThrowsExactly(
      () => configFrom({ frontDoorKind: 'alb', frontDoor: 'both' }),
      invalid(
        'frontDoor both offers the API over PrivateLink: endpointServicePrincipals must name the AWS accounts (or IAM roles) allowed to connect',
      ),
    );
    expectThrowsExactly(
      () =>
        configFrom({
          frontDoorKind: 'alb',
          frontDoor: 'private',
          endpointServicePrincipals: '111122223333',
          allowInternetEgress: 'true',
        }),
      invalid(
        'frontDoor private means no internet gateway at all, but allowInternetEgress needs one (for its NAT gateways): reach the upstream through the VPC (PrivateLink, peering) or choose frontDoor both',
      ),
    );
  });

  test('one Availability Zone is a setting for the API Gateway front door only', () => {
    expect(configFrom({ frontDoorKind: 'api-gateway', maxAzs: 1 })).toMatchObject({ maxAzs: 1 });
    expectThrowsExactly(
      () => configFrom({ frontDoorKind: 'alb', maxAzs: 1 }),
      invalid(
        'maxAzs 1 needs frontDoorKind api-gateway: a load balancer needs subnets in two Availability Zones',
      ),
    );
  });

  test('the streaming front door: endpoints for a private REST API, and no ALB-only keys', () => {
    const apigw = { frontDoorKind: 'api-gateway' };
    expect(configFrom(apigw)).toMatchObject({
      frontDoorKind: 'api-gateway',
      apiVpcEndpointIds: [],
    });
    expect(
      configFrom({ ...apigw, frontDoor: 'both', apiVpcEndpointIds: 'vpce-0123456789abcdef0' }),
    ).toMatchObject({ frontDoor: 'both', apiVpcEndpointIds: ['vpce-0123456789abcdef0'] });
    expectThrowsExactly(
      () => configFrom({ ...apigw, frontDoor: 'private' }),
      invalid(
        "frontDoor private with frontDoorKind api-gateway is a private REST API: apiVpcEndpointIds must name the execute-api interface endpoints (in the callers' VPCs) allowed to call it",
      ),
    );
    expectThrowsExactly(
      () =>
        configFrom({
          ...apigw,
          apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
          endpointServicePrincipals: ['111122223333'],
          httpRedirect: true,
          certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc-123',
        }),
      invalid(
        'apiVpcEndpointIds applies to frontDoor private or both (a private REST API)',
        'endpointServicePrincipals applies to frontDoorKind alb only (a private REST API admits the VPC endpoints in apiVpcEndpointIds)',
        'httpRedirect applies to frontDoorKind alb only: API Gateway answers HTTPS only',
        'certificateArn needs domainName with frontDoorKind api-gateway (without a domain the API serves its execute-api name with its own certificate)',
      ),
    );
    expectThrowsExactly(
      () =>
        configFrom({
          ...apigw,
          frontDoor: 'private',
          apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
          allowedCidrs: ['10.0.0.0/8'],
          domainName: 'api.example.com',
        }),
      invalid(
        'allowedCidrs limits the public REST API; with frontDoor private the API admits only apiVpcEndpointIds',
        "domainName is the public REST API's custom domain; with frontDoor private and frontDoorKind api-gateway callers use their VPC endpoint's execute-api names",
      ),
    );
    expectThrowsExactly(
      () => configFrom({ frontDoorKind: 'alb', apiVpcEndpointIds: ['vpce-0123456789abcdef0'] }),
      invalid(
        'apiVpcEndpointIds applies to frontDoorKind api-gateway only (the load balancer is offered over PrivateLink: use endpointServicePrincipals)',
      ),
    );
    expectThrowsExactly(
      () => configFrom({ frontDoorKind: 'cloudfront', apiVpcEndpointIds: 'vpc-1' }),
      invalid(
        'frontDoorKind must be one of alb, api-gateway (got "cloudfront")',
        'apiVpcEndpointIds must be VPC endpoint ids such as vpce-0123456789abcdef0 (got "vpc-1")',
      ),
    );
  });

  test("models must be a non-empty list of well-formed models (the gateway's own cold-start rules)", () => {
    const what =
      'a JSON array of {"id","upstreamId","kind":"chat"|"image"|"embedding"} with optional non-negative inputMicroUsdPer1kTokens, outputMicroUsdPer1kTokens, microUsdPerImage, and default (image models)';
    for (const [models, problem] of [
      ['[]', `models must be ${what}, with at least one model`],
      ['not json', `models must be ${what}`],
      [
        '[{"id":"x","upstreamId":"y","kind":"audio"}]',
        "models[0].kind must be 'chat', 'image' or 'embedding'",
      ],
      [
        '[{"id":"x","upstreamId":"y","kind":"chat","inputMicroUsdPer1kTokens":-1}]',
        'models[0].inputMicroUsdPer1kTokens must be a non-negative number (micro-USD)',
      ],
      [
        '[{"id":"my model","upstreamId":"y","kind":"chat"}]',
        'models[0].id must be 1-128 characters of letters, digits and . _ : / - (starting with a letter or digit)',
      ],
    ]) {
      expectThrowsExactly(() => configFrom({ models }), invalid(problem));
    }
  });

  test('an OpenAI-compatible upstream needs an https base URL and a secret ARN if any', () => {
    expectThrowsExactly(
      () => configFrom({ upstream: 'openai-compatible' }),
      invalid(
        'upstreamBaseUrl is required when upstream is openai-compatible (an https:// URL without credentials, query or fragment)',
      ),
    );
    expectThrowsExactly(
      () =>
        configFrom({
          upstream: 'openai-compatible',
          upstreamBaseUrl: 'https://llm.example.com',
          upstreamSecretArn: 'arn:aws:ssm:eu-west-1:111111111111:parameter/token',
        }),
      invalid(
        'upstreamSecretArn must be the complete ARN of a Secrets Manager secret (with its 6-character suffix) (got "arn:aws:ssm:eu-west-1:111111111111:parameter/token")',
      ),
    );
    // A partial ARN (no suffix) would make the IAM grant miss the real secret.
    expectThrowsExactly(
      () =>
        configFrom({
          upstream: 'openai-compatible',
          upstreamBaseUrl: 'https://llm.example.com',
          upstreamSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-token',
        }),
      invalid(
        'upstreamSecretArn must be the complete ARN of a Secrets Manager secret (with its 6-character suffix) (got "arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-token")',
      ),
    );
  });

  test('a secret under a customer-managed key gets kms:Decrypt through Secrets Manager', () => {
    const app = new App({
      context: {
        ...CDK_JSON_CONTEXT,
        'aws:cdk:bundling-stacks': [],
        upstream: 'openai-compatible',
        upstreamBaseUrl: 'https://llm.example.com',
        upstreamSecretArn:
          'arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-token-AbCdEf',
        upstreamSecretKmsKeyArn:
          'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    });
    const stack = new EphemeraStack(app, 'S', { env: { region: 'eu-west-1' } });
    const statements = statementsOfRole(Template.fromStack(stack), stack.gateway.handler.role);
    const secretRead = statements.find((st) =>
      ([] as string[]).concat(st.Action as string[]).includes('secretsmanager:GetSecretValue'),
    );
    expect(secretRead?.Resource).toEqual([
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:upstream-token-AbCdEf',
    ]);
    const decrypt = statements.find(
      (st) =>
        ([] as string[]).concat(st.Action as string[]).includes('kms:Decrypt') &&
        JSON.stringify(st.Resource).includes('key/1234abcd'),
    );
    expect(decrypt?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
    });
  });

  test('a plain-HTTP upstream base URL is refused (P5)', () => {
    expectThrowsExactly(
      () =>
        configFrom({ upstream: 'openai-compatible', upstreamBaseUrl: 'http://llm.example.com' }),
      invalid(
        'upstreamBaseUrl must be an https:// URL without credentials, query or fragment (TLS only)',
      ),
    );
  });

  test('credentials in the upstream URL are refused with a pointer to upstreamSecretArn, and never repeated', () => {
    const password = 'CANARY-password-5d1e';
    let message = '';
    try {
      configFrom({
        upstream: 'openai-compatible',
        upstreamBaseUrl: `https://svc:${password}@llm.example.com/v1`,
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      invalid(
        'upstreamBaseUrl must not carry credentials (user:password@ would be stored in plain text in the template and the function environment): keep the upstream token in a Secrets Manager secret and name it with upstreamSecretArn (upstream.credentials on the InferenceGateway construct)',
      ),
    );
    expect(message).not.toContain(password);
  });

  test('hostedZoneId needs a domain and a zone name', () => {
    expectThrowsExactly(
      () => configFrom({ hostedZoneId: 'Z0123456789ABC' }),
      invalid('hostedZoneId needs domainName and hostedZoneName'),
    );
  });

  test('a hosted zone id must look like one', () => {
    expectThrowsExactly(
      () => configFrom({ hostedZoneId: 'z123' }),
      invalid('hostedZoneId must be a Route 53 hosted zone id (got "z123")'),
    );
  });

  test('the domain must be inside the hosted zone', () => {
    expectThrowsExactly(
      () =>
        configFrom({
          domainName: 'api.notexample.com',
          hostedZoneName: 'example.com',
          hostedZoneId: 'Z0123456789ABC',
        }),
      invalid('domainName must be inside hostedZoneName (example.com)'),
    );
  });

  test('a log retention that CloudWatch Logs does not offer is rejected', () => {
    expect(() => configFrom({ logRetentionDays: 45 })).toThrow(
      /^Invalid Ephemera configuration \(cdk.json context\):\n {2}- logRetentionDays must be one of CloudWatch Logs' periods: 1, 3, 5, 7, 14, 30, .*3653.* \(got 45\)$/,
    );
  });

  // Regression guard, fixed bug (lib/config.ts, LOG_RETENTION_DAYS): the list is every numeric value of
  // logs.RetentionDays, which includes INFINITE (9999), so the message offers
  // 9999 although the integer check (1 to 3653) rejects it. Fixed by: filter
  // `v !== logs.RetentionDays.INFINITE` (or `v <= 3653`) when building the list.
  test('the log retention message lists only periods the key accepts', () => {
    expectThrowsExactly(
      () => configFrom({ logRetentionDays: 45 }),
      invalid(
        "logRetentionDays must be one of CloudWatch Logs' periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 45)",
      ),
    );
  });

  test('several bad values are reported together, in one error', () => {
    expectThrowsExactly(
      () =>
        configFrom({
          imageTtlMinutes: '0',
          fips: 'maybe',
          frontDoor: 'side',
          alarmEmails: 'a@b.c,nope',
          removalPolicy: 'keep',
          hostedZoneId: 'Z0123456789ABC',
        }),
      invalid(
        'frontDoor must be one of public, private, both (got "side")',
        'fips must be true or false (got "maybe")',
        'imageTtlMinutes must be an integer from 5 to 1440 (got "0")',
        'alarmEmails must be email addresses (1 of 2 are not) (got "a@b.c,nope")',
        'removalPolicy must be one of retain, destroy (got "keep")',
        'hostedZoneId needs domainName and hostedZoneName',
      ),
    );
  });
});

describe('readConfig: retention relations', () => {
  test('log lines may not outlive the metadata retention that every answer promises', () => {
    const app = new App({ context: { logRetentionDays: '60', metadataRetentionDays: '30' } });
    expect(() => readConfig(app)).toThrow(
      'Invalid Ephemera configuration (cdk.json context):\n' +
        '  - logRetentionDays (60) must not exceed metadataRetentionDays (30): log lines are metadata too, and every answer promises metadata=30d',
    );
  });
});

test('access logs may not outlive the metadata retention either', () => {
  const app = new App({ context: { accessLogRetentionDays: '90', metadataRetentionDays: '30' } });
  expect(() => readConfig(app)).toThrow(
    'Invalid Ephemera configuration (cdk.json context):\n' +
      '  - accessLogRetentionDays (90) must not exceed metadataRetentionDays (30): access logs are request metadata too',
  );
});
