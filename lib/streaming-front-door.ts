import { Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledgeShortLogRetention } from './private/acknowledgements';
import type { AdminApi } from './admin-api';
import type { InferenceGateway } from './inference-gateway';
import { ADMIN_PATH_PATTERNS } from './core/routes';
import { CIDR_LIST_RULE, VPC_ENDPOINT_IDS_RULE, WEB_ACL_ARN_RULE } from './core/rules';
import { TlsVersions } from './tls-load-balancer';
import { PropsValidator } from './private/validation';

/** Who reaches a REST API: the internet, or only the listed execute-api VPC endpoints. */
export enum ApiEndpointAccess {
  /** A regional endpoint on the internet. */
  PUBLIC = 'public',
  /** A private API: only through the execute-api interface endpoints named in `vpcEndpointIds`. */
  PRIVATE = 'private',
}

/** What the access log records about each request. */
export enum ApiAccessLogFields {
  /** Request id, time, method, route, status, sizes, latencies, TLS version: no client address, no URL. */
  METADATA = 'metadata',
  /** Those, plus the client's IP address and the full path (for teams that want them; erasure cannot reach them). */
  WITH_CLIENT = 'with-client',
}

/**
 * Who sets API Gateway's account-level CloudWatch Logs role (the account
 * setting `cloudWatchRoleArn`, one per account and region). API Gateway
 * refuses to create a stage with an access log (or execution logs) until it
 * is set, so a fresh account needs it before the first deploy.
 */
export enum ApiGatewayAccountRole {
  /**
   * The stack sets it: a role API Gateway assumes, with only the AWS managed
   * policy `AmazonAPIGatewayPushToCloudWatchLogs`, and an
   * `AWS::ApiGateway::Account` naming it. Both are retained when the stack is
   * deleted (other APIs of the account and region log through the same
   * setting). One per stack, shared by its front doors; each stage waits for
   * it. Only one stack per account and region should use it (each deploy
   * points the setting at its own role).
   */
  CREATE = 'create',
  /**
   * The setting already exists in the account and region (set by another
   * stack, or by hand): nothing account-wide is created.
   */
  EXISTING = 'existing',
}

/** The AWS managed policy of API Gateway's account-level CloudWatch Logs role. */
export const API_GATEWAY_LOGS_POLICY = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs';

/**
 * The enhanced API Gateway security policy for a TLS choice (regional and
 * private endpoints), with or without FIPS 140 modules. Each is used with
 * endpoint access mode STRICT.
 */
export function apiSecurityPolicyFor(versions: TlsVersions, fips: boolean): string {
  if (versions === TlsVersions.TLS_1_3_ONLY) {
    return fips ? 'SecurityPolicy_TLS13_1_3_FIPS_2025_09' : 'SecurityPolicy_TLS13_1_3_2025_09';
  }
  return fips ? 'SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09' : 'SecurityPolicy_TLS13_1_2_2021_06';
}

/** The stage every front door deploys (part of the `execute-api` URL). */
export const API_STAGE_NAME = 'api';

/** The custom domain of a public REST API. */
export interface ApiDomain {
  /** The DNS name, e.g. `api.example.com`. */
  readonly domainName: string;
  /** An ACM certificate for it in the stack's region. */
  readonly certificate: acm.ICertificate;
}

export interface StreamingFrontDoorProps {
  /**
   * The gateway: an `InferenceGateway` built with `responseStreaming: true`
   * (refused without it), or its function (`handler.function`, or one
   * imported from another app). Every path but the admin API's reaches it
   * with response transfer mode STREAM.
   */
  readonly gateway: InferenceGateway | lambda.IFunction;
  /**
   * How long the gateway may take for one request: the streaming integration's timeout (30 s to 15 min).
   * @default Duration.minutes(5) - for a function; for an `InferenceGateway`, its own `timeout`
   */
  readonly gatewayTimeout?: Duration;
  /**
   * The admin API: an `AdminApi`, or its function (`handler.function`). Its
   * paths (`/v1/keys...`, `/v1/user_data...`, `/v1/logs`, `/v1/trust...`)
   * reach it through a buffered proxy integration.
   * @default - no admin routes: those paths reach the gateway, which answers 404
   */
  readonly admin?: AdminApi | lambda.IFunction;
  /** Key that encrypts the access log group (the project's logs key). */
  readonly logsKey: kms.IKey;
  /**
   * Who sets API Gateway's account-level CloudWatch Logs role, without which
   * the stage (it has an access log) cannot be created: this stack
   * (`CREATE`: a role and the account setting, both retained on delete, one
   * per stack), or nobody because it is already set (`EXISTING`).
   * @default ApiGatewayAccountRole.CREATE
   */
  readonly accountRole?: ApiGatewayAccountRole;
  /**
   * Who can reach the API.
   * @default ApiEndpointAccess.PUBLIC
   */
  readonly access?: ApiEndpointAccess;
  /**
   * The execute-api interface endpoints (in the callers' VPCs) a private API
   * admits; required with `ApiEndpointAccess.PRIVATE`, refused otherwise.
   * @default - none
   */
  readonly vpcEndpointIds?: string[];
  /**
   * TLS versions accepted (an enhanced security policy, endpoint access mode STRICT).
   * @default TlsVersions.TLS_1_2_AND_1_3
   */
  readonly tlsVersions?: TlsVersions;
  /**
   * Use the FIPS variant of the security policy.
   * @default false
   */
  readonly fips?: boolean;
  /**
   * A custom domain for a public API: the default `execute-api` endpoint is
   * then turned off, so the domain (with the same policy) is the only way in.
   * @default - the `execute-api` endpoint only
   */
  readonly domain?: ApiDomain;
  /**
   * CIDR ranges a public API admits (its resource policy, on `aws:SourceIp`).
   * @default - anywhere
   */
  readonly allowedCidrs?: string[];
  /**
   * ARN of an AWS WAFv2 web ACL (REGIONAL) to associate with the stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Steady-state requests per second the stage admits; more get API
   * Gateway's 429 before reaching a function.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Requests the stage admits at once (set it at or below the gateway's
   * reserved concurrency, so a burst is refused here rather than throttled by Lambda).
   * @default 50
   */
  readonly throttlingBurstLimit?: number;
  /**
   * What the access log records.
   * @default ApiAccessLogFields.METADATA
   */
  readonly accessLogFields?: ApiAccessLogFields;
  /**
   * How long the access log is kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * What happens to the access log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Answers API Gateway gives itself (no function reached), in the contract's
 * error shape and with OpenAI's types (as the functions' answers).
 */
const GATEWAY_RESPONSES: readonly {
  readonly type: apigateway.ResponseType;
  readonly status?: string;
  readonly errorType: string;
  readonly message: string;
  readonly code?: string;
  readonly headers?: Record<string, string>;
}[] = [
  {
    type: apigateway.ResponseType.THROTTLED,
    errorType: 'requests',
    message: 'Too many requests: retry after a short wait',
    code: 'rate_limit_exceeded',
    headers: { 'Retry-After': "'1'" },
  },
  {
    type: apigateway.ResponseType.WAF_FILTERED,
    errorType: 'invalid_request_error',
    message: 'The request was refused by the web application firewall',
  },
  {
    type: apigateway.ResponseType.ACCESS_DENIED,
    errorType: 'invalid_request_error',
    message: 'This API is not reachable from here',
  },
  {
    type: apigateway.ResponseType.REQUEST_TOO_LARGE,
    errorType: 'invalid_request_error',
    message: 'Request body exceeds the 1 MB limit',
    code: 'request_too_large',
  },
  {
    // The gateway's own deadline passed: the same request would take as long again.
    type: apigateway.ResponseType.INTEGRATION_TIMEOUT,
    errorType: 'server_error',
    message: 'The request took too long; retrying it would take as long again',
    code: 'upstream_timeout',
    headers: { 'x-should-retry': "'false'" },
  },
  {
    type: apigateway.ResponseType.DEFAULT_4XX,
    errorType: 'invalid_request_error',
    message: 'The request was refused before reaching the API',
  },
  {
    type: apigateway.ResponseType.DEFAULT_5XX,
    errorType: 'server_error',
    message: 'The API is unavailable',
  },
];

/**
 * The streaming front door (P5, P9): an API Gateway REST API whose routes
 * reach the gateway through a Lambda proxy integration with response
 * transfer mode STREAM (chunks reach the client as the model produces them,
 * answers are not limited to the load balancer's 1 MB), and the admin API
 * through a buffered one.
 *
 * - TLS: an enhanced TLS 1.3 security policy (TLS 1.3 only, or 1.3 and 1.2)
 *   with endpoint access mode STRICT, on the API and on its custom domain;
 *   with a custom domain the `execute-api` endpoint is off.
 * - Public (regional, optionally limited by source address) or private
 *   (reached only through the listed execute-api VPC endpoints: the resource
 *   policy names them on `aws:SourceVpce`); nothing else.
 * - Stage throttling, so a burst gets API Gateway's 429 before it reaches
 *   the functions' reserved concurrency; WAF through `webAclArn`.
 * - Logging: no execution logs (they would hold request and response
 *   bodies at INFO with data tracing); an access log in a metadata-only
 *   format (never a body, never a header), encrypted with the logs key, with
 *   bounded retention. An access log needs API Gateway's account-level
 *   CloudWatch Logs role: by default the stack sets it (`accountRole`).
 * - API Gateway's own answers (throttling, WAF, denied, timeouts) use the
 *   contract's error body and carry `X-Ephemera-Retention`.
 */
export class StreamingFrontDoor extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  /** The custom domain, when one is configured. */
  public readonly domainName?: apigateway.DomainName;
  /** The security policy of the API (and its domain). */
  public readonly securityPolicy: string;
  /** The URL clients use (the custom domain's when there is one), ending in `/`. */
  public readonly url: string;
  /**
   * The role API Gateway writes this account's and region's logs with, and the
   * account setting that names it (with `ApiGatewayAccountRole.CREATE`; shared
   * by every front door of the stack).
   */
  public readonly accountLogging?: {
    readonly role: iam.IRole;
    readonly account: apigateway.CfnAccount;
  };

  constructor(scope: Construct, id: string, props: StreamingFrontDoorProps) {
    super(scope, id);
    const access = props.access ?? ApiEndpointAccess.PUBLIC;
    const endpointIds = props.vpcEndpointIds ?? [];
    const rate = props.throttlingRateLimit ?? 50;
    const burst = props.throttlingBurstLimit ?? 50;
    const gateway = functionOf(props.gateway);
    const streamingGateway = isFunction(props.gateway) || props.gateway.responseStreaming;
    const gatewayTimeout =
      props.gatewayTimeout ??
      (isFunction(props.gateway) ? Duration.minutes(5) : props.gateway.timeout);
    const privateApi = access === ApiEndpointAccess.PRIVATE;
    const accountRole = props.accountRole ?? ApiGatewayAccountRole.CREATE;
    new PropsValidator('StreamingFrontDoor')
      .check(
        streamingGateway,
        'gateway is an InferenceGateway without responseStreaming: a StreamingFrontDoor invokes its streaming entry point; build it with responseStreaming: true (and no listener)',
      )
      .check(
        Object.values(ApiEndpointAccess).includes(access),
        `access must be one of ${Object.values(ApiEndpointAccess).join(', ')}`,
      )
      .check(
        Object.values(ApiGatewayAccountRole).includes(accountRole),
        `accountRole must be one of ${Object.values(ApiGatewayAccountRole).join(', ')}`,
      )
      .check(
        !privateApi || endpointIds.length > 0,
        'a private API needs vpcEndpointIds: the execute-api interface endpoints of the VPCs that may call it',
      )
      .check(
        privateApi || endpointIds.length === 0,
        'vpcEndpointIds apply to a private API only (access: ApiEndpointAccess.PRIVATE)',
      )
      .rule('vpcEndpointIds', props.vpcEndpointIds, VPC_ENDPOINT_IDS_RULE)
      .check(
        !privateApi || props.domain === undefined,
        'a custom domain applies to a public API; callers of a private API use the execute-api names of their VPC endpoint',
      )
      .check(
        !privateApi || props.allowedCidrs === undefined,
        'allowedCidrs applies to a public API; a private API admits only its vpcEndpointIds',
      )
      .rule('allowedCidrs', props.allowedCidrs, CIDR_LIST_RULE)
      .rule('webAclArn', props.webAclArn, WEB_ACL_ARN_RULE)
      .integer('throttlingRateLimit', rate, 1, 10_000)
      .integer('throttlingBurstLimit', burst, 1, 5_000)
      .duration('gatewayTimeout', gatewayTimeout, Duration.seconds(30), Duration.minutes(15))
      .throwIfInvalid();

    this.securityPolicy = apiSecurityPolicyFor(
      props.tlsVersions ?? TlsVersions.TLS_1_2_AND_1_3,
      props.fips ?? false,
    );
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.logsKey,
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledgeShortLogRetention(this.accessLogGroup);

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: Names.uniqueResourceName(this, { maxLength: 64 }),
      description: `Ephemera ${access} streaming front door`,
      endpointConfiguration: privateApi
        ? {
            types: [apigateway.EndpointType.PRIVATE],
            vpcEndpoints: endpointIds.map((vpcEndpointId, i) =>
              ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `Endpoint${i}`, {
                vpcEndpointId,
                port: 443,
              }),
            ),
          }
        : { types: [apigateway.EndpointType.REGIONAL] },
      policy: this.resourcePolicy(privateApi, endpointIds, props.allowedCidrs),
      disableExecuteApiEndpoint: props.domain !== undefined,
      cloudWatchRole: false,
      deploy: true,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        tracingEnabled: false,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(props.accessLogFields ?? ApiAccessLogFields.METADATA),
      },
    });
    const cfnApi = this.api.node.defaultChild as apigateway.CfnRestApi;
    cfnApi.securityPolicy = this.securityPolicy;
    cfnApi.endpointAccessMode = apigateway.EndpointAccessMode.STRICT;
    if (accountRole === ApiGatewayAccountRole.CREATE) {
      const setting = ApiGatewayAccountLogging.of(this, cfnApi);
      // API Gateway refuses a stage with an access log until the account setting exists.
      this.api.deploymentStage.node.addDependency(setting.account);
      this.accountLogging = { role: setting.role, account: setting.account };
    }

    this.addRoutes(gateway, props.admin && functionOf(props.admin), gatewayTimeout);
    this.addGatewayResponses(props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH);

    if (props.domain) {
      this.domainName = new apigateway.DomainName(this, 'Domain', {
        domainName: props.domain.domainName,
        certificate: props.domain.certificate,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: this.securityPolicy as apigateway.SecurityPolicy,
        endpointAccessMode: apigateway.EndpointAccessMode.STRICT,
        mapping: this.api,
      });
      Validations.of(this.domainName).acknowledge({
        id: 'cdk-validator-cfnguard::api_gw_domain_tls_check',
        reason: `The domain uses the enhanced policy ${this.securityPolicy} (minimum TLS 1.2 or 1.3, modern ciphers only, endpoint access mode STRICT), stricter than the legacy TLS_1_2 policy, the only one this rule knows by name.`,
      });
    }
    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }
    this.url = props.domain ? `https://${props.domain.domainName}/` : this.api.url;
    this.acknowledgeFindings(props);
  }

  /**
   * Resources: the admin API's paths to the admin function (buffered), every
   * other path (the root, each intermediate resource, and `{proxy+}`) to the
   * gateway (streaming), so an unknown path gets the gateway's 404.
   */
  private addRoutes(
    gateway: lambda.IFunction,
    admin: lambda.IFunction | undefined,
    gatewayTimeout: Duration,
  ): void {
    const streaming = new apigateway.LambdaIntegration(gateway, {
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      timeout: gatewayTimeout,
      scopePermissionToMethod: false,
    });
    const buffered = admin
      ? new apigateway.LambdaIntegration(admin, { scopePermissionToMethod: false })
      : undefined;
    const root = this.api.root;
    root.addMethod('ANY', streaming);
    root.addProxy({ defaultIntegration: streaming, anyMethod: true });
    if (!buffered) return;
    const withGateway = new Set<apigateway.IResource>([root]);
    for (const pattern of ADMIN_PATH_PATTERNS) {
      const wildcard = pattern.endsWith('/*');
      const parts = (wildcard ? pattern.slice(0, -2) : pattern).split('/').filter(Boolean);
      let resource: apigateway.IResource = root;
      parts.forEach((part, i) => {
        resource = resource.getResource(part) ?? resource.addResource(part);
        const last = i === parts.length - 1;
        // Intermediate resources (/v1) would otherwise answer API Gateway's 403.
        if (!last && !withGateway.has(resource)) {
          withGateway.add(resource);
          resource.addMethod('ANY', streaming);
          resource.addProxy({ defaultIntegration: streaming, anyMethod: true });
        }
      });
      if (wildcard) resource.addProxy({ defaultIntegration: buffered, anyMethod: true });
      else resource.addMethod('ANY', buffered);
    }
  }

  /** API Gateway's own answers; what they leave behind is the access log line. */
  private addGatewayResponses(accessLogDays: number): void {
    const retention = `content=none; metadata=${accessLogDays}d`;
    for (const r of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(r.type.responseType, {
        type: r.type,
        statusCode: r.status,
        responseHeaders: {
          'Content-Type': "'application/json'",
          'Cache-Control': "'no-store'",
          'X-Content-Type-Options': "'nosniff'",
          'X-Ephemera-Retention': `'${retention}'`,
          ...r.headers,
        },
        templates: {
          'application/json': JSON.stringify({
            error: { message: r.message, type: r.errorType, param: null, code: r.code ?? null },
          }),
        },
      });
    }
  }

  private resourcePolicy(
    privateApi: boolean,
    endpointIds: string[],
    allowedCidrs: string[] | undefined,
  ): iam.PolicyDocument | undefined {
    const invoke = (effect: iam.Effect, conditions?: Record<string, unknown>) =>
      new iam.PolicyStatement({
        effect,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions,
      });
    if (privateApi) {
      return new iam.PolicyDocument({
        statements: [
          invoke(iam.Effect.ALLOW, { StringEquals: { 'aws:SourceVpce': endpointIds } }),
          invoke(iam.Effect.DENY, { StringNotEquals: { 'aws:SourceVpce': endpointIds } }),
        ],
      });
    }
    if (!allowedCidrs) return undefined;
    return new iam.PolicyDocument({
      statements: [
        invoke(iam.Effect.ALLOW, { IpAddress: { 'aws:SourceIp': allowedCidrs } }),
        invoke(iam.Effect.DENY, { NotIpAddress: { 'aws:SourceIp': allowedCidrs } }),
      ],
    });
  }

  private acknowledgeFindings(props: StreamingFrontDoorProps): void {
    const stage = this.api.deploymentStage;
    const methods = this.api.methods;
    const ownAuth =
      'Every request is authenticated by the function itself: the gateway and admin API check the OpenAI-style API key in Authorization (scoped, stored only as a keyed hash, rotated); an API Gateway authorizer would check the same key a second time, and Cognito does not fit machine clients of an OpenAI-compatible API.';
    for (const method of methods) {
      Validations.of(method).acknowledge(
        { id: 'AwsSolutions-APIG4', reason: ownAuth },
        { id: 'AwsSolutions-COG4', reason: ownAuth },
      );
    }
    const proxyValidation =
      'Lambda proxy integrations: the functions validate every header and body themselves (fixed-message 400s that never echo content); an API Gateway model would duplicate that schema and answer in another error shape.';
    Validations.of(this.api).acknowledge({ id: 'AwsSolutions-APIG2', reason: proxyValidation });
    const noExecutionLogs =
      'Execution logs are off: at INFO with data tracing they hold request and response bodies (request content, P1), and at any level API Gateway writes them to log groups it names and creates itself (API-Gateway-Execution-Logs_...), without the logs CMK and without expiry. The access log (metadata only, logs CMK, bounded retention) and the usage log record every request.';
    const noCache =
      'No cache: caching answers would keep request content after the request (P1), and a streamed answer cannot be cached.';
    const noClientCert =
      'The backend is Lambda through the AWS API (SigV4 over TLS); a client certificate authenticates HTTP backends only.';
    const noTracing =
      'X-Ray tracing is off everywhere in Ephemera: traces could carry payload fragments outside the CMK-encrypted stores (P1).';
    Validations.of(stage).acknowledge(
      { id: 'AwsSolutions-APIG6', reason: noExecutionLogs },
      ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].flatMap((pack) => [
        { id: `${pack}-APIGWExecutionLoggingEnabled`, reason: noExecutionLogs },
        { id: `${pack}-APIGWCacheEnabledAndEncrypted`, reason: noCache },
        { id: `${pack}-APIGWSSLEnabled`, reason: noClientCert },
      ]),
      {
        id: 'cdk-validator-cfnguard::api_gw_v1_execution_logging_enabled_check',
        reason: noExecutionLogs,
      },
      { id: 'cdk-validator-cfnguard::api_gw_xray_enabled_check', reason: noTracing },
      { id: 'NIST.800.53.R5-APIGWXrayEnabled', reason: noTracing },
      { id: 'HIPAA.Security-APIGWXrayEnabled', reason: noTracing },
      { id: 'PCI.DSS.321-APIGWXrayEnabled', reason: noTracing },
    );
    for (const permission of this.api.node.findAll()) {
      if (!(permission instanceof lambda.CfnPermission)) continue;
      Validations.of(permission).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
        reason:
          "The permission is for the API Gateway service principal and carries SourceArn naming this REST API's own execute-api ARN (built with Fn::Join, which the rule cannot read): no other API can invoke the function.",
      });
    }
    if (!props.webAclArn) {
      const noWaf =
        "No web ACL was configured (prop webAclArn): requests are authenticated by API key, throttled at the stage and bounded by the gateway's concurrency (its reservation, or the account's limit); platform teams attach their own WAF through webAclArn.";
      Validations.of(stage).acknowledge(
        { id: 'AwsSolutions-APIG3', reason: noWaf },
        ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((pack) => ({
          id: `${pack}-APIGWAssociatedWithWAF`,
          reason: noWaf,
        })),
      );
    }
  }
}

/**
 * The stack's API Gateway account setting: the CloudWatch Logs role and the
 * `AWS::ApiGateway::Account` that names it, created once per stack (the
 * setting is one per account and region) and shared by its front doors. Both
 * are retained when the stack is deleted: the setting outlives the stack
 * anyway (deleting an `AWS::ApiGateway::Account` does not clear it), and
 * deleting the role would break the logging of every other API of the
 * account and region.
 */
class ApiGatewayAccountLogging extends Construct {
  private static readonly ID = 'ApiGatewayAccount';

  /** The stack's setting, created with `firstApi` as the API it waits for. */
  public static of(scope: Construct, firstApi: apigateway.CfnRestApi): ApiGatewayAccountLogging {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(ApiGatewayAccountLogging.ID);
    return existing instanceof ApiGatewayAccountLogging
      ? existing
      : new ApiGatewayAccountLogging(stack, ApiGatewayAccountLogging.ID, firstApi);
  }

  public readonly role: iam.Role;
  public readonly account: apigateway.CfnAccount;

  private constructor(scope: Construct, id: string, firstApi: apigateway.CfnRestApi) {
    super(scope, id);
    this.role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description:
        "API Gateway's account-level role for writing API logs to CloudWatch Logs in this region (kept when the stack is deleted)",
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(API_GATEWAY_LOGS_POLICY)],
    });
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.account = new apigateway.CfnAccount(this, 'Account', {
      cloudWatchRoleArn: this.role.roleArn,
    });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    // As CDK's own RestApi does: in an account where API Gateway was never
    // used, the setting may be refused until an API exists (CloudFormation's
    // documentation used to ask for this dependency).
    this.account.node.addDependency(firstApi);
    const reason =
      "API Gateway's account-level CloudWatch Logs role carries the AWS managed policy API Gateway documents for it (AmazonAPIGatewayPushToCloudWatchLogs) and nothing else; it is assumable only by apigateway.amazonaws.com. API Gateway uses this one role for every API of the account and region, whose log groups this stack cannot know, so no narrower custom policy would serve them; AWS maintains the policy as the service changes.";
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${API_GATEWAY_LOGS_POLICY}]`,
      reason,
    });
  }
}

/** Whether a `gateway` or `admin` prop is a function rather than the construct. */
function isFunction(x: InferenceGateway | AdminApi | lambda.IFunction): x is lambda.IFunction {
  return 'functionArn' in x;
}

/** The function behind a `gateway` or `admin` prop. */
function functionOf(x: InferenceGateway | AdminApi | lambda.IFunction): lambda.IFunction {
  return isFunction(x) ? x : x.handler.function;
}

/** The access log format: metadata only (never a body or a header). */
function accessLogFormat(fields: ApiAccessLogFields): apigateway.AccessLogFormat {
  const metadata: Record<string, string> = {
    requestId: '$context.requestId',
    time: '$context.requestTimeEpoch',
    method: '$context.httpMethod',
    route: '$context.resourcePath',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integration.latency',
    integrationStatus: '$context.integration.status',
    errorType: '$context.error.responseType',
    tlsVersion: '$context.tlsVersion',
    wafStatus: '$context.waf.status',
  };
  const client: Record<string, string> =
    fields === ApiAccessLogFields.WITH_CLIENT
      ? { sourceIp: '$context.identity.sourceIp', path: '$context.path' }
      : {};
  return apigateway.AccessLogFormat.custom(JSON.stringify({ ...metadata, ...client }));
}
