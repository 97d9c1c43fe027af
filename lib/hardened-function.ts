import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { acknowledgeInlinePolicy, acknowledgeShortLogRetention } from './private/acknowledgements';
import { handlerCode } from './handler-bundle';
import type { IAlarmSink } from './incident-response';
import { PropsValidator } from './private/validation';

/**
 * The pinned runtime of every Ephemera function: the newest Node.js runtime
 * the prebuilt bundles are built for (esbuild target) and tested on. It moves
 * with a release of this package, never with the consumer's aws-cdk-lib: a
 * newer aws-cdk-lib that knows a newer runtime does not change it, and
 * `AwsSolutions-L1` (which wants the newest runtime the installed aws-cdk-lib
 * knows) is acknowledged on each function with RUNTIME_REASON.
 */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Why every function stays on FUNCTION_RUNTIME when aws-cdk-lib knows a newer one (AwsSolutions-L1). */
const RUNTIME_REASON = `The function runs a prebuilt bundle built and tested for ${FUNCTION_RUNTIME.name}, the newest Node.js runtime Ephemera supports; it moves to a newer runtime with an Ephemera release that builds and tests for it, not with whichever aws-cdk-lib release is installed (a newer aws-cdk-lib knows newer runtimes before the bundles are tested on them).`;

/** What the data-protection policy masks: contact details, payment data, secrets. */
export const DATA_PROTECTION_IDENTIFIERS = [
  logs.DataIdentifier.EMAILADDRESS,
  logs.DataIdentifier.ADDRESS,
  logs.DataIdentifier.NAME,
  logs.DataIdentifier.IPADDRESS,
  logs.DataIdentifier.CREDITCARDNUMBER,
  logs.DataIdentifier.CREDITCARDSECURITYCODE,
  logs.DataIdentifier.CREDITCARDEXPIRATION,
  logs.DataIdentifier.BANKACCOUNTNUMBER_US,
  logs.DataIdentifier.SSN_US,
  logs.DataIdentifier.AWSSECRETKEY,
  logs.DataIdentifier.OPENSSHPRIVATEKEY,
  logs.DataIdentifier.PGPPRIVATEKEY,
  logs.DataIdentifier.PKCSPRIVATEKEY,
  logs.DataIdentifier.PUTTYPRIVATEKEY,
];

/** Why a function without reserved concurrency passes the HIPAA and NIST concurrency rules. */
const UNRESERVED_REASON =
  "Deployed with reserveConcurrency=false, for an account whose Lambda concurrency limit leaves no room for reservations (Lambda keeps 100 executions unreserved; new accounts may have a limit of 10): the function runs in the account's shared pool, which the account limit bounds, and with the API Gateway front door the stage's rate and burst limits bound the requests that reach it.";

/** How a function is invoked, which decides where a failed invocation ends up (and why it has no DLQ). */
export enum FunctionTrigger {
  /** A load balancer or API Gateway waits for the answer: every failure is the caller's HTTP answer. */
  SYNCHRONOUS = 'synchronous',
  /** EventBridge on a schedule: the event carries no data and the next run repeats a failed one. */
  SCHEDULE = 'schedule',
  /** An SQS event source: failed messages stay on the queue, whose redrive policy is the dead-letter queue. */
  QUEUE = 'queue',
}

const NO_DLQ_REASONS: Record<FunctionTrigger, string> = {
  [FunctionTrigger.SYNCHRONOUS]:
    'Invoked synchronously (load balancer or API Gateway): every failure is returned to the caller as the HTTP answer; there is no asynchronous event to dead-letter, and a DLQ would be a place where request content could land (P1).',
  [FunctionTrigger.SCHEDULE]:
    "Invoked on a schedule: the event carries no data and the next scheduled run repeats a failed one; a DLQ would only collect empty schedule events. Failures raise the function's own alarms.",
  [FunctionTrigger.QUEUE]:
    "Invoked by an SQS event source mapping: failed messages stay on the source queue, whose redrive policy moves them to that queue's dead-letter queue; a function DLQ applies only to asynchronous invocations, which this function never receives.",
};

/**
 * Where a function runs and how its log group is kept: the same for every
 * Ephemera function of a deployment.
 */
export interface FunctionBasics {
  /**
   * VPC the function runs in. Required: a function outside a VPC reaches AWS
   * services over the public endpoints (P9), and the HIPAA, NIST and PCI packs
   * refuse it.
   */
  readonly vpc: ec2.IVpc;

  /** Subnets in `vpc`. @default - the VPC's isolated subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /** Key that encrypts the function's log group (the project's logs key). */
  readonly logsKey: kms.IKey;

  /**
   * How long the function's metadata-only logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Reserve the function's concurrency (each construct documents how much)
   * from the account's Lambda concurrency. Turn it off in an account whose
   * concurrency limit leaves no room for reservations (Lambda keeps 100
   * executions unreserved; new accounts may have a limit of 10): the function
   * then runs in the account's shared pool, and the HIPAA and NIST
   * concurrency findings are acknowledged on it.
   * @default true
   */
  readonly reserveConcurrency?: boolean;

  /**
   * What happens to the function's log group (and the construct's queues,
   * if it has any) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What every construct that creates a function takes, the same for all of
 * them: the network, the logs key and retention, the concurrency switch, the
 * removal policy, and where alarms go. Build it once and spread it into each
 * construct's props (`{ ...functionDefaults, store, ... }`); `EphemeraStack`
 * builds it from the configuration (`EphemeraStack.functionDefaults`).
 */
export interface FunctionDefaults extends FunctionBasics {
  /**
   * Where the construct's alarms go: an `IncidentResponse`, or
   * `IncidentResponse.sinkFor(topic)` for a topic of your own.
   */
  readonly alarms: IAlarmSink;
}

/** The `FunctionBasics` of `props` (a construct's props), to pass on to its `HardenedFunction`. */
export function functionBasics(props: FunctionBasics): FunctionBasics {
  return {
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    logsKey: props.logsKey,
    logRetention: props.logRetention,
    reserveConcurrency: props.reserveConcurrency,
    removalPolicy: props.removalPolicy,
  };
}

export interface HardenedFunctionProps extends FunctionBasics {
  /** Handler folder under `lambda/`, e.g. `image-sweeper`. */
  readonly handlerName: string;

  /**
   * How the function is invoked. Required, because it decides where a failed
   * invocation ends up: the reason it has no dead-letter queue of its own
   * (acknowledged for the HIPAA and NIST packs) follows from it.
   */
  readonly trigger: FunctionTrigger;

  /** Environment variables (names and ids only, never secrets). @default - none */
  readonly environment?: Record<string, string>;

  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;

  /** @default 512 */
  readonly memorySize?: number;

  /**
   * Reserved concurrency: bounds the blast radius and cost of one function
   * (with `reserveConcurrency`; ignored without).
   * @default 10
   */
  readonly reservedConcurrentExecutions?: number;

  /** @default 'Ephemera function' */
  readonly description?: string;

  /**
   * Compile-time constants for the bundle (esbuild `define`), so code a
   * deployment never runs is left out of it.
   * @default - none
   */
  readonly define?: Record<string, string>;

  /**
   * Name of the bundle built with `define` (its prebuilt folder), e.g. `gateway-bedrock`.
   * @default - the handler's name
   */
  readonly bundleName?: string;

  /**
   * The bundle's export the runtime calls (`handler`, or `streamHandler` for
   * the gateway's response-streaming entry point).
   * @default 'handler'
   */
  readonly entryPoint?: string;

  /**
   * Attach a CloudWatch Logs data-protection policy to the log group that
   * masks personal data and secrets, as a second net behind the allowlist
   * logger (it masks what it recognises; the logger is the real guard).
   * @default false
   */
  readonly dataProtection?: boolean;
}

/**
 * A Lambda function as every Ephemera handler runs: pinned Node.js runtime on
 * ARM64, a minified esbuild bundle split into ES module chunks (local
 * esbuild, no Docker; see `handler-bundle.ts`) with the AWS SDK clients
 * bundled through module-first resolution, an
 * explicit log group encrypted with the logs key and bounded retention, no
 * X-Ray tracing (traces could carry payload fragments; P1), and reserved
 * concurrency (unless `reserveConcurrency` is off).
 */
export class HardenedFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HardenedFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 512;
    const reserved = props.reservedConcurrentExecutions ?? 10;
    const reserve = props.reserveConcurrency ?? true;
    new PropsValidator('HardenedFunction')
      .check(
        /^[a-z][a-z0-9-]{0,62}$/.test(props.handlerName),
        `handlerName must be a folder name under lambda/ (got '${props.handlerName}')`,
      )
      .check(
        /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(props.entryPoint ?? 'handler'),
        `entryPoint must be the name of an export of the bundle (got '${props.entryPoint}')`,
      )
      .integer('memorySize', memorySize, 128, 10240)
      .integer('reservedConcurrentExecutions', reserved, 1, 1000)
      .duration('timeout', props.timeout, Duration.seconds(1), Duration.minutes(15))
      .check(
        Object.values(FunctionTrigger).includes(props.trigger),
        `trigger must be one of ${Object.values(FunctionTrigger).join(', ')}`,
      )
      .throwIfInvalid();

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.logsKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      dataProtectionPolicy: props.dataProtection
        ? new logs.DataProtectionPolicy({
            name: `ephemera-${props.handlerName}-second-net`,
            description: 'Masks personal data and secrets should any reach this log group (P1, P4)',
            identifiers: DATA_PROTECTION_IDENTIFIERS,
          })
        : undefined,
    });

    // A role with only what the function itself needs to run: write to its own
    // log group, and manage its network interfaces in the VPC. No
    // AWS-managed policy (those allow logs:* on every log group).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Ephemera ${props.handlerName} function`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // Lambda manages the function's network interfaces in the VPC.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda manages the network interfaces of a function in a VPC with EC2 actions that do not support resource-level permissions (the same actions as AWSLambdaVPCAccessExecutionRole).',
    });
    acknowledgeInlinePolicy(this.role, `the ${props.handlerName} function`);
    acknowledgeShortLogRetention(this.logGroup);

    this.function = new lambda.Function(this, 'Function', {
      role: this.role,
      code: handlerCode({
        handler: props.handlerName,
        ...(props.define ? { define: props.define, name: props.bundleName } : {}),
      }),
      handler: `index.${props.entryPoint ?? 'handler'}`,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(30),
      description: props.description ?? 'Ephemera function',
      reservedConcurrentExecutions: reserve ? reserved : undefined,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.TEXT,
      tracing: lambda.Tracing.DISABLED,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      environment: props.environment,
    });
    const noDlq = NO_DLQ_REASONS[props.trigger];
    Validations.of(this.function).acknowledge(
      { id: 'HIPAA.Security-LambdaDLQ', reason: noDlq },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: noDlq },
      // Found only with an aws-cdk-lib that knows a newer runtime than FUNCTION_RUNTIME.
      { id: 'AwsSolutions-L1', reason: RUNTIME_REASON },
    );
    if (!reserve) {
      Validations.of(this.function).acknowledge(
        { id: 'HIPAA.Security-LambdaConcurrency', reason: UNRESERVED_REASON },
        { id: 'NIST.800.53.R5-LambdaConcurrency', reason: UNRESERVED_REASON },
      );
    }
  }

  /** Invocations that failed in the handler itself. Sum over 5 minutes by default. */
  public metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), ...props });
  }

  /** Invocations refused at the reserved concurrency. Sum over 5 minutes by default. */
  public metricThrottles(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), ...props });
  }
}
