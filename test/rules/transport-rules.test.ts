import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagRuleCompliance } from 'cdk-nag';
import {
  ALBDropInvalidHeaders,
  ALBListenerHTTPRedirect,
  ELBListenerTLSPolicy,
  S3BucketTLSOnly,
  TLS12_MINIMUM_ELB_POLICIES,
} from '../../lib/rules';
import { newStack, ruleIdsFor } from './helpers';

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = NagRuleCompliance;

process.env.CDK_VALIDATION = 'false';

describe('EphemeraRT-S3BucketTLSOnly', () => {
  function secureBucket(stack: Stack, props: s3.BucketProps = {}): s3.Bucket {
    return new s3.Bucket(stack, 'Bucket', {
      encryptionKey: new kms.Key(stack, 'Key'),
      lifecycleRules: [{ expiration: Duration.days(1) }],
      ...props,
    });
  }

  test('enforceSSL with minimumTLSVersion 1.2 has no findings', () => {
    const { stack } = newStack();
    const bucket = secureBucket(stack, { enforceSSL: true, minimumTLSVersion: 1.2 });
    expect(ruleIdsFor(bucket)).toEqual([]);
  });

  test('enforceSSL alone is reported (no s3:TlsVersion statement)', () => {
    const { stack } = newStack();
    const bucket = secureBucket(stack, { enforceSSL: true });
    expect(ruleIdsFor(bucket)).toEqual(['EphemeraRT-S3BucketTLSOnly']);
  });

  test('a bucket without a policy is reported', () => {
    const { stack } = newStack();
    const bucket = secureBucket(stack);
    expect(ruleIdsFor(bucket)).toEqual(['EphemeraRT-S3BucketTLSOnly']);
  });

  test('a threshold above 1.2 also passes', () => {
    const { stack } = newStack();
    const bucket = secureBucket(stack, { enforceSSL: true, minimumTLSVersion: 1.3 });
    expect(S3BucketTLSOnly(bucket.node.defaultChild as s3.CfnBucket)).toBe(COMPLIANT);
  });

  /** A bucket and a policy with the given statements, written as raw JSON. */
  function withStatements(
    statements: (bucket: s3.CfnBucket) => unknown[],
    bucketName?: string,
  ): { bucket: s3.CfnBucket; stack: Stack } {
    const { stack } = newStack();
    const bucket = new s3.CfnBucket(stack, 'Raw', { bucketName });
    new s3.CfnBucketPolicy(stack, 'Policy', {
      bucket: bucketName ?? bucket.ref,
      policyDocument: { Version: '2012-10-17', Statement: statements(bucket) },
    });
    return { bucket, stack };
  }

  const wholeBucket = (b: s3.CfnBucket) => [b.attrArn, `${b.attrArn}/*`];
  const deny = (resource: unknown, condition: unknown, extra: object = {}) => ({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Resource: resource,
    Condition: condition,
    ...extra,
  });
  const insecure = { Bool: { 'aws:SecureTransport': 'false' } };
  const oldTls = { NumericLessThan: { 's3:TlsVersion': '1.2' } };

  test('two separate Deny statements pass', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny(wholeBucket(b), oldTls),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(COMPLIANT);
  });

  test('both tests in one statement do not count (conditions are ANDed)', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny(wholeBucket(b), { ...oldTls, ...insecure }),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
  });

  test('a statement limited to some principals does not count', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny(wholeBucket(b), oldTls, { Principal: { AWS: 'arn:aws:iam::111111111111:root' } }),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
  });

  test('a statement on the objects only does not count', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny([`${b.attrArn}/*`], oldTls),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
  });

  test('a statement on s3:GetObject only does not count', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny(wholeBucket(b), oldTls, { Action: 's3:GetObject' }),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
  });

  test('a threshold below 1.2 does not count', () => {
    const { bucket } = withStatements((b) => [
      deny(wholeBucket(b), insecure),
      deny(wholeBucket(b), { NumericLessThan: { 's3:TlsVersion': 1.1 } }),
    ]);
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
  });

  test('literal bucket names and ARNs are matched', () => {
    const { bucket } = withStatements(
      () => [
        deny(['arn:aws:s3:::ephemera-config', 'arn:aws:s3:::ephemera-config/*'], insecure, {
          Principal: '*',
        }),
        deny(['arn:aws:s3:::ephemera-config', 'arn:aws:s3:::ephemera-config/*'], oldTls, {
          Action: ['s3:*'],
        }),
      ],
      'ephemera-config',
    );
    expect(S3BucketTLSOnly(bucket)).toBe(COMPLIANT);
  });

  test('a policy of another bucket does not count', () => {
    const { stack } = newStack();
    const bucket = new s3.CfnBucket(stack, 'Mine');
    const other = new s3.Bucket(stack, 'Other', { enforceSSL: true, minimumTLSVersion: 1.2 });
    expect(S3BucketTLSOnly(bucket)).toBe(NON_COMPLIANT);
    expect(S3BucketTLSOnly(other.node.defaultChild as s3.CfnBucket)).toBe(COMPLIANT);
  });

  test('statements added with addToResourcePolicy are seen', () => {
    const { stack } = newStack();
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    expect(S3BucketTLSOnly(bucket.node.defaultChild as s3.CfnBucket)).toBe(NON_COMPLIANT);
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
        conditions: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
      }),
    );
    expect(S3BucketTLSOnly(bucket.node.defaultChild as s3.CfnBucket)).toBe(COMPLIANT);
  });
});

describe('load balancer rules', () => {
  function alb(stack: Stack, props: Partial<elbv2.ApplicationLoadBalancerProps> = {}) {
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    return new elbv2.ApplicationLoadBalancer(stack, 'Alb', {
      vpc,
      dropInvalidHeaderFields: true,
      ...props,
    });
  }
  const certificates = [
    elbv2.ListenerCertificate.fromArn('arn:aws:acm:eu-west-1:111111111111:certificate/abc'),
  ];
  const ok = elbv2.ListenerAction.fixedResponse(200, { messageBody: 'ok' });

  describe('EphemeraRT-ELBListenerTLSPolicy', () => {
    test('an HTTPS listener with SslPolicy.RECOMMENDED_TLS has no findings', () => {
      const { stack } = newStack();
      const listener = alb(stack).addListener('Https', {
        port: 443,
        certificates,
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultAction: ok,
      });
      expect(ruleIdsFor(listener)).toEqual([]);
    });

    test('an HTTPS listener without SslPolicy is reported', () => {
      const { stack } = newStack();
      const listener = alb(stack).addListener('Https', {
        port: 443,
        certificates,
        defaultAction: ok,
      });
      expect(ruleIdsFor(listener)).toEqual(['EphemeraRT-ELBListenerTLSPolicy']);
    });

    test.each([
      elbv2.SslPolicy.RECOMMENDED,
      elbv2.SslPolicy.TLS13_10,
      elbv2.SslPolicy.TLS13_11,
      elbv2.SslPolicy.FIPS_TLS13_11,
      elbv2.SslPolicy.FORWARD_SECRECY,
      elbv2.SslPolicy.FORWARD_SECRECY_TLS11,
      elbv2.SslPolicy.TLS11,
      elbv2.SslPolicy.LEGACY,
    ])('%s accepts TLS below 1.2 and is reported', (sslPolicy) => {
      const { stack } = newStack();
      const listener = new elbv2.CfnListener(stack, 'Listener', {
        loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/y',
        protocol: 'HTTPS',
        port: 443,
        sslPolicy,
        defaultActions: [{ type: 'fixed-response', fixedResponseConfig: { statusCode: '200' } }],
      });
      expect(ELBListenerTLSPolicy(listener)).toBe(NON_COMPLIANT);
    });

    test('every allowlisted policy passes, on HTTPS and on NLB TLS listeners', () => {
      const { stack } = newStack();
      for (const [i, sslPolicy] of TLS12_MINIMUM_ELB_POLICIES.entries()) {
        for (const protocol of ['HTTPS', 'TLS']) {
          const listener = new elbv2.CfnListener(stack, `${protocol}${i}`, {
            loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/x',
            protocol,
            port: 443,
            sslPolicy,
            defaultActions: [],
          });
          expect(ELBListenerTLSPolicy(listener)).toBe(COMPLIANT);
        }
      }
    });

    test('the allowlist holds only policy names with a 1.2 or 1.3 minimum', () => {
      for (const policy of TLS12_MINIMUM_ELB_POLICIES) {
        expect(policy).toMatch(/^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-/);
      }
    });

    test('a policy from a parameter cannot be decided and passes', () => {
      const { stack } = newStack();
      const policy = new CfnParameter(stack, 'Policy', { type: 'String' });
      const listener = new elbv2.CfnListener(stack, 'Listener', {
        loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/x',
        protocol: 'HTTPS',
        port: 443,
        sslPolicy: policy.valueAsString,
        defaultActions: [],
      });
      expect(ELBListenerTLSPolicy(listener)).toBe(COMPLIANT);
    });

    test('HTTP listeners are not applicable', () => {
      const { stack } = newStack();
      const listener = alb(stack).addRedirect();
      expect(ELBListenerTLSPolicy(listener.node.defaultChild as elbv2.CfnListener)).toBe(
        NOT_APPLICABLE,
      );
    });
  });

  describe('EphemeraRT-ALBListenerHTTPRedirect', () => {
    test('an HTTP listener that redirects to HTTPS has no findings', () => {
      const { stack } = newStack();
      const listener = alb(stack).addRedirect();
      expect(ruleIdsFor(listener)).toEqual([]);
    });

    test('an HTTP listener that answers over HTTP is reported', () => {
      const { stack } = newStack();
      const listener = alb(stack).addListener('Http', { port: 80, defaultAction: ok });
      expect(ruleIdsFor(listener)).toEqual(['EphemeraRT-ALBListenerHTTPRedirect']);
    });

    test('a redirect that keeps the protocol is reported', () => {
      const { stack } = newStack();
      const listener = alb(stack).addListener('Http', {
        port: 80,
        defaultAction: elbv2.ListenerAction.redirect({ port: '8080' }),
      });
      expect(ruleIdsFor(listener)).toEqual(['EphemeraRT-ALBListenerHTTPRedirect']);
    });

    test('a listener rule that forwards content over HTTP is reported on the listener', () => {
      const { stack } = newStack();
      const listener = alb(stack).addRedirect();
      const cfnListener = listener.node.defaultChild as elbv2.CfnListener;
      expect(ALBListenerHTTPRedirect(cfnListener)).toBe(COMPLIANT);
      listener.addAction('Static', {
        priority: 10,
        conditions: [elbv2.ListenerCondition.pathPatterns(['/static/*'])],
        action: ok,
      });
      expect(ALBListenerHTTPRedirect(cfnListener)).toBe(NON_COMPLIANT);
    });
  });

  describe('EphemeraRT-ALBDropInvalidHeaders', () => {
    test('an ALB with dropInvalidHeaderFields has no findings', () => {
      const { stack } = newStack();
      expect(ruleIdsFor(alb(stack))).toEqual([]);
    });

    test('an ALB without it, or with it false, is reported', () => {
      const { stack } = newStack();
      const lb = alb(stack, { dropInvalidHeaderFields: undefined });
      const off = new elbv2.CfnLoadBalancer(stack, 'Off', {
        type: 'application',
        loadBalancerAttributes: [
          { key: 'routing.http.drop_invalid_header_fields.enabled', value: 'false' },
        ],
      });
      expect(ruleIdsFor(lb)).toEqual(['EphemeraRT-ALBDropInvalidHeaders']);
      expect(ALBDropInvalidHeaders(off)).toBe(NON_COMPLIANT);
    });

    test('a load balancer with no Type is an ALB', () => {
      const { stack } = newStack();
      const untyped = new elbv2.CfnLoadBalancer(stack, 'Untyped', {});
      expect(ALBDropInvalidHeaders(untyped)).toBe(NON_COMPLIANT);
    });

    test('network load balancers are not applicable', () => {
      const { stack } = newStack();
      const nlb = new elbv2.CfnLoadBalancer(stack, 'Nlb', { type: 'network' });
      expect(ALBDropInvalidHeaders(nlb)).toBe(NOT_APPLICABLE);
    });
  });
});
