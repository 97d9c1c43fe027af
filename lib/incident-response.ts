import { Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledgeInlinePolicy } from './private/acknowledgements';
import { EMAIL_LIST_RULE } from './core/rules';
import { PropsValidator } from './private/validation';

export interface IncidentResponseProps {
  /** Key that encrypts the alarm topic (the project's queues key). */
  readonly encryptionKey: kms.IKey;

  /** Keys whose disabling or scheduled deletion raises an alert. */
  readonly watchedKeys: kms.IKey[];

  /**
   * Email addresses subscribed to the alarm topic (each must confirm).
   * @default - no subscriptions
   */
  readonly alarmEmails?: string[];
}

/** Where a construct sends its alarms (state changes reach the people on call). */
export interface IAlarmSink {
  /** Sends the alarm's ALARM and OK transitions to this sink. */
  addAlarm(alarm: cloudwatch.Alarm): void;
}

/** Key-management API calls that would make encrypted data unreadable. */
export const KEY_STATE_EVENTS = ['DisableKey', 'ScheduleKeyDeletion'] as const;

/**
 * The incident-response path: an encrypted, TLS-only SNS alarm topic with
 * email subscriptions, and an EventBridge rule that alerts when any watched
 * KMS key is disabled or scheduled for deletion. The rule matches the
 * CloudTrail management events of KMS, so the account needs a trail (AWS
 * Control Tower and most landing zones have one). Other constructs add their
 * alarms with `addAlarm`.
 */
export class IncidentResponse extends Construct implements IAlarmSink {
  public readonly topic: sns.Topic;
  public readonly keyStateRule: events.Rule;

  constructor(scope: Construct, id: string, props: IncidentResponseProps) {
    super(scope, id);
    const emails = props.alarmEmails ?? [];
    new PropsValidator('IncidentResponse')
      .rule('alarmEmails', emails, EMAIL_LIST_RULE)
      .check(props.watchedKeys.length > 0, 'watchedKeys must name at least one key')
      .throwIfInvalid();

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Ephemera alarms',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one:
    // CloudWatch alarms of this account must be allowed to publish explicitly.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    for (const email of emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    this.keyStateRule = new events.Rule(this, 'KeyStateRule', {
      description: 'Ephemera: a data key was disabled or scheduled for deletion',
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: [...KEY_STATE_EVENTS],
          resources: { ARN: props.watchedKeys.map((k) => k.keyArn) },
        },
      },
      // A role of this rule publishes (no topic-policy grant to every EventBridge
      // rule of every account).
      targets: [new targets.SnsTopic(this.topic, { authorizeUsingRole: true })],
    });
    const eventsRole = this.keyStateRule.node.tryFindChild('EventsRole');
    if (eventsRole) {
      acknowledgeInlinePolicy(eventsRole, 'the key-state rule (publish to the alarm topic)');
      Validations.of(eventsRole).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to the encrypted alarm topic needs data keys from its key; the wildcard only spans the GenerateDataKey variants, on that one key.',
      });
    }
  }

  /**
   * An alarm sink that notifies an SNS topic of your own (an existing incident
   * topic, for instance), for constructs used without an IncidentResponse.
   */
  public static sinkFor(topic: sns.ITopic): IAlarmSink {
    return { addAlarm: (alarm) => notify(alarm, topic) };
  }

  /** Sends an alarm's state changes to the alarm topic. */
  public addAlarm(alarm: cloudwatch.Alarm): void {
    notify(alarm, this.topic);
  }
}

function notify(alarm: cloudwatch.Alarm, topic: sns.ITopic): void {
  const action = new cwActions.SnsAction(topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
}
