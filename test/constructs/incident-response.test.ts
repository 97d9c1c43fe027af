import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  IncidentResponse,
  IncidentResponseProps,
  KEY_STATE_EVENTS,
} from '../../lib/incident-response';
import { expectThrowsExactly, logicalId, testKey, testStack } from '../support/stacks';

function build(props: Partial<IncidentResponseProps> = {}, watched = 3) {
  const stack = testStack();
  const topicKey = testKey(stack, 'QueuesKey');
  const watchedKeys: kms.IKey[] = Array.from({ length: watched }, (_, i) =>
    testKey(stack, `Watched${i}`),
  );
  const incidents = new IncidentResponse(stack, 'Incidents', {
    encryptionKey: topicKey,
    watchedKeys,
    ...props,
  });
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({
      namespace: 'Test',
      metricName: 'Errors',
      period: Duration.minutes(1),
    }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  incidents.addAlarm(alarm);
  return { stack, topicKey, watchedKeys, incidents, alarm, template: Template.fromStack(stack) };
}

describe('IncidentResponse', () => {
  const { topicKey, watchedKeys, incidents, alarm, template } = build({
    alarmEmails: ['oncall@example.com', 'security@example.com'],
  });
  const topicRef = { Ref: logicalId(incidents.topic) };

  test('the alarm topic is encrypted with the given key', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(topicKey), 'Arn'] },
    });
  });

  test('the topic policy denies publishing without TLS and grants no EventBridge rule anywhere', () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.Topics).toEqual([topicRef]);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Sid: 'AllowPublishThroughSSLOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Resource: topicRef,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    // EventBridge publishes with a role of the key-state rule, not through the
    // topic policy (which would let any account's rules publish).
    expect(JSON.stringify(statements)).not.toContain('events.amazonaws.com');
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
    expect(rule.Properties.Targets[0].RoleArn).toBeDefined();
    // Nothing else may publish or subscribe through the resource policy.
    const allowed = statements
      .filter((st: { Effect: string }) => st.Effect === 'Allow')
      .map((st: { Principal: unknown }) => st.Principal);
    for (const principal of allowed) {
      expect(principal).not.toEqual('*');
      expect(principal).not.toEqual({ AWS: '*' });
    }
  });

  test('one email subscription per address, and no other subscription', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['oncall@example.com', 'security@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
        TopicArn: topicRef,
      });
    }
  });

  test('the key-state rule matches DisableKey and ScheduleKeyDeletion of every watched key', () => {
    expect([...KEY_STATE_EVENTS]).toEqual(['DisableKey', 'ScheduleKeyDeletion']);
    template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['DisableKey', 'ScheduleKeyDeletion'],
          resources: {
            ARN: watchedKeys.map((k) => ({ 'Fn::GetAtt': [logicalId(k), 'Arn'] })),
          },
        },
      },
      Targets: [{ Arn: topicRef, Id: 'Target0' }],
    });
  });

  test('addAlarm sends the alarm and its recovery to the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
    expect(template.toJSON().Resources[logicalId(alarm)].Type).toBe('AWS::CloudWatch::Alarm');
  });

  // Regression guard, fixed bug (lib/incident-response.ts, addAlarm; the topic is created with
  // enforceSSL: true): enforceSSL makes CDK write an AWS::SNS::TopicPolicy, which
  // replaces SNS's default policy (the one that lets this account's services
  // publish). The new policy allows only events.amazonaws.com, so CloudWatch
  // alarm actions fail with "... is not authorized to perform: SNS:Publish ...
  // because no resource-based policy allows the SNS:Publish action" and the
  // alarm never notifies. Fixed by: in addAlarm (or once in the constructor) add
  //   this.topic.addToResourcePolicy(new iam.PolicyStatement({
  //     principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
  //     actions: ['sns:Publish'], resources: [this.topic.topicArn],
  //     conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }));
  test('the topic policy lets CloudWatch alarms publish', () => {
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topicRef,
      }),
    );
  });

  test('without alarmEmails there is no subscription', () => {
    build().template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('IncidentResponse validation', () => {
  test('bad email addresses are counted', () => {
    expectThrowsExactly(
      () => build({ alarmEmails: ['oncall@example.com', 'not-an-email', 'a b@example.com'] }),
      'Invalid IncidentResponse props:\n  - alarmEmails must be email addresses (2 of 3 are not)',
    );
  });

  test('an empty watchedKeys list is rejected', () => {
    expectThrowsExactly(
      () => build({}, 0),
      'Invalid IncidentResponse props:\n  - watchedKeys must name at least one key',
    );
  });

  test('both problems are reported together', () => {
    expectThrowsExactly(
      () => build({ alarmEmails: ['@example.com'] }, 0),
      'Invalid IncidentResponse props:\n' +
        '  - alarmEmails must be email addresses (1 of 1 are not)\n' +
        '  - watchedKeys must name at least one key',
    );
  });
});
