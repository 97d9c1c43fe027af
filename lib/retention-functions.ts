import * as path from 'path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeInlinePolicy, acknowledgeShortLogRetention } from './acknowledgements';
import { PropsValidator } from './validation';

/** The pinned runtime of every Ephemera function. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

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

/** Directory of the handler sources (`lambda/<name>/index.ts`). */
export const LAMBDA_SOURCE_DIR = path.join(__dirname, '..', 'lambda');

export interface RetentionFunctionProps {
  /** Handler folder under `lambda/`, e.g. `image-sweeper`. */
  readonly handlerName: string;

  /** Key that encrypts the function's log group (the project's logs key). */
  readonly logsKey: kms.IKey;

  /**
   * How long the function's metadata-only logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /** VPC the function runs in. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;

  /** Subnets in `vpc`. @default - the VPC's isolated subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /** Environment variables (names and ids only, never secrets). @default - none */
  readonly environment?: Record<string, string>;

  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;

  /** @default 512 */
  readonly memorySize?: number;

  /**
   * Reserved concurrency: bounds the blast radius and cost of one function.
   * @default 10
   */
  readonly reservedConcurrentExecutions?: number;

  /** @default 'Ephemera function' */
  readonly description?: string;

  /**
   * Attach a CloudWatch Logs data-protection policy to the log group that
   * masks personal data and secrets, as a second net behind the allowlist
   * logger (it masks what it recognises; the logger is the real guard).
   * @default false
   */
  readonly dataProtection?: boolean;

  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Lambda function as every Ephemera handler runs: pinned Node.js runtime on
 * ARM64, a minified esbuild bundle (local esbuild, no Docker) with the AWS SDK
 * clients bundled through module-first resolution, source maps on, an
 * explicit log group encrypted with the logs key and bounded retention, no
 * X-Ray tracing (traces could carry payload fragments; P1), and reserved
 * concurrency.
 */
export class RetentionFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RetentionFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 512;
    const reserved = props.reservedConcurrentExecutions ?? 10;
    new PropsValidator('RetentionFunction')
      .check(
        /^[a-z][a-z0-9-]{0,62}$/.test(props.handlerName),
        `handlerName must be a folder name under lambda/ (got '${props.handlerName}')`,
      )
      .integer('memorySize', memorySize, 128, 10240)
      .integer('reservedConcurrentExecutions', reserved, 1, 1000)
      .duration('timeout', props.timeout, Duration.seconds(1), Duration.minutes(15))
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
    // log group, and manage its network interfaces when it is in a VPC. No
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
    if (props.vpc) {
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
    }
    acknowledgeInlinePolicy(this.role, `the ${props.handlerName} function`);
    acknowledgeShortLogRetention(this.logGroup);

    this.function = new NodejsFunction(this, 'Function', {
      role: this.role,
      entry: path.join(LAMBDA_SOURCE_DIR, props.handlerName, 'index.ts'),
      handler: 'handler',
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(30),
      description: props.description ?? 'Ephemera function',
      reservedConcurrentExecutions: reserved,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.TEXT,
      tracing: lambda.Tracing.DISABLED,
      vpc: props.vpc,
      vpcSubnets: props.vpc
        ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED })
        : undefined,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: OutputFormat.CJS,
        mainFields: ['module', 'main'],
        // Bundle the SDK clients instead of using the runtime's copy.
        externalModules: [],
        forceDockerBundling: false,
      },
      // SDK v3 reuses connections by default; the v2-era variable would be unused.
      awsSdkConnectionReuse: false,
    });
  }
}
