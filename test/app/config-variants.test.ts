/**
 * Every documented configuration switch synthesizes with zero unacknowledged
 * findings under every rule pack, not only the defaults. The default front
 * door is API Gateway's (`frontDoorKind` `api-gateway`); the variants that
 * are about the load balancer say `alb`.
 */
import { variantVerdict } from '../support/synths';

const VARIANTS: Record<string, Record<string, string>> = {
  'load balancer: FIPS, TLS 1.3 only, port-80 redirect': {
    frontDoorKind: 'alb',
    fips: 'true',
    tlsVersions: 'tls1.3',
    httpRedirect: 'true',
  },
  'private front door over PrivateLink, trust-all allowed': {
    frontDoorKind: 'alb',
    frontDoor: 'private',
    endpointServicePrincipals: '111122223333',
    allowInsecureTrustAll: 'true',
  },
  'public and private load-balancer front doors with a domain, internet egress': {
    frontDoorKind: 'alb',
    frontDoor: 'both',
    endpointServicePrincipals: 'arn:aws:iam::111122223333:role/platform',
    domainName: 'api.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
    allowInternetEgress: 'true',
    receiptWebhookUrl: 'https://receipts.example.com/ephemera',
  },
  'OpenAI-compatible upstream with a CMK-encrypted secret': {
    upstream: 'openai-compatible',
    upstreamBaseUrl: 'https://llm.internal.example',
    upstreamSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:tok-AbCdEf',
    upstreamSecretKmsKeyArn:
      'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
  'load balancer on its own domain, 3 AZs, EU residency, alarm emails, WAF': {
    frontDoorKind: 'alb',
    domainName: 'api.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
    maxAzs: '3',
    account: '111111111111',
    allowedRegions: 'eu-west-1,eu-central-1',
    alarmEmails: 'ops@example.com',
    webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera/abc',
  },
  'streaming front door (API Gateway), public': {
    frontDoorKind: 'api-gateway',
  },
  'streaming front door, private through listed execute-api endpoints, Bedrock upstream': {
    frontDoorKind: 'api-gateway',
    frontDoor: 'private',
    apiVpcEndpointIds: 'vpce-0123456789abcdef0,vpce-01234567',
  },
  'no reserved concurrency (an account with a low limit), streaming front door with an existing account role, receipt webhook':
    {
      reserveConcurrency: 'false',
      frontDoorKind: 'api-gateway',
      apiGatewayAccountRole: 'existing',
      receiptWebhookUrl: 'https://receipts.example.com/ephemera',
    },
  'no reserved concurrency, load balancer': {
    frontDoorKind: 'alb',
    reserveConcurrency: 'false',
  },
  'streaming front doors public and private, own domain, WAF, TLS 1.3 FIPS, access logs': {
    frontDoorKind: 'api-gateway',
    frontDoor: 'both',
    apiVpcEndpointIds: 'vpce-0123456789abcdef0',
    domainName: 'api.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
    webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/ephemera/abc',
    tlsVersions: 'tls1.3',
    fips: 'true',
    accessLogs: 'true',
    allowedCidrs: '203.0.113.0/24',
  },
};

// Each variant is synthesized once per run (test/support/synths.ts), in
// eu-west-1, handlers not bundled, without CloudFormation's own validator.
test.each(Object.entries(VARIANTS))('%s: zero unacknowledged findings', (_name, overrides) => {
  const { summary } = variantVerdict(overrides).value;
  expect(summary.findings).toEqual([]);
});
