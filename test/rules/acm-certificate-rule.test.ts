import { CfnParameter, CfnResource } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { NagRuleCompliance } from 'cdk-nag';
import { ALBListenerACMCertificate } from '../../lib/rules';
import { newStack, ruleIdsFor } from './helpers';

const ACM_ARN =
  'arn:aws:acm:eu-west-1:111111111111:certificate/0c2e6b3e-1111-2222-3333-444455556666';

function listener(
  stack: ReturnType<typeof newStack>['stack'],
  certificateArn: unknown,
  protocol = 'HTTPS',
) {
  return new CfnResource(stack, 'Listener', {
    type: 'AWS::ElasticLoadBalancingV2::Listener',
    properties: {
      LoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/y',
      Port: 443,
      Protocol: protocol,
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      Certificates: certificateArn === undefined ? undefined : [{ CertificateArn: certificateArn }],
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    },
  });
}

describe('EphemeraRT-ALBListenerACMCertificate', () => {
  test('a literal ACM certificate ARN passes', () => {
    const { stack } = newStack();
    expect(ALBListenerACMCertificate(listener(stack, ACM_ARN))).toBe(NagRuleCompliance.COMPLIANT);
  });

  test('an IAM server certificate fails', () => {
    const { stack } = newStack();
    const l = listener(stack, 'arn:aws:iam::111111111111:server-certificate/legacy');
    expect(ALBListenerACMCertificate(l)).toBe(NagRuleCompliance.NON_COMPLIANT);
    expect(ruleIdsFor(l)).toContain('EphemeraRT-ALBListenerACMCertificate');
  });

  test('a listener without certificates fails', () => {
    const { stack } = newStack();
    expect(ALBListenerACMCertificate(listener(stack, undefined))).toBe(
      NagRuleCompliance.NON_COMPLIANT,
    );
  });

  test('a certificate created in the stack passes', () => {
    const { stack } = newStack();
    const cert = new acm.Certificate(stack, 'Cert', { domainName: 'api.example.com' });
    expect(ALBListenerACMCertificate(listener(stack, cert.certificateArn))).toBe(
      NagRuleCompliance.COMPLIANT,
    );
  });

  test('a parameter that admits only ACM ARNs passes; an unconstrained one fails', () => {
    const { stack } = newStack();
    const strict = new CfnParameter(stack, 'Strict', {
      allowedPattern: '^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$',
    });
    expect(ALBListenerACMCertificate(listener(stack, strict.valueAsString))).toBe(
      NagRuleCompliance.COMPLIANT,
    );
    const { stack: other } = newStack();
    const loose = new CfnParameter(other, 'Loose', { type: 'String' });
    expect(ALBListenerACMCertificate(listener(other, loose.valueAsString))).toBe(
      NagRuleCompliance.NON_COMPLIANT,
    );
  });

  test('plain HTTP listeners are not its business', () => {
    const { stack } = newStack();
    expect(ALBListenerACMCertificate(listener(stack, undefined, 'HTTP'))).toBe(
      NagRuleCompliance.NOT_APPLICABLE,
    );
  });
});
