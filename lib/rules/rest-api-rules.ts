import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import {
  CfnObject,
  Decision,
  allOf,
  anyOf,
  booleanValue,
  equalsIgnoreCase,
  isAbsent,
  isIntrinsic,
  isObject,
  listValue,
  templateProperties,
  verdict,
} from './cfn-values';

/**
 * REST API rules: the API Gateway front door speaks TLS 1.2 or newer only,
 * never writes request or response content (or the API key) to its logs, and
 * throttles every stage.
 */

/**
 * The API Gateway security policies whose lowest protocol is TLS 1.2 or TLS
 * 1.3 and which are "enhanced" policies (they take an `EndpointAccessMode`),
 * from the "Supported security policies" tables of the API Gateway developer
 * guide. The legacy `TLS_1_0` (the default of regional and edge-optimized
 * APIs) and `TLS_1_2` policies are not listed: the first accepts TLS 1.0 and
 * 1.1, and neither can be combined with `EndpointAccessMode`.
 *
 * The two 2025 edge-optimized policies are listed as well: both are enhanced
 * and both have a TLS 1.2 minimum (`SecurityPolicy_TLS13_2025_EDGE` is TLS 1.3
 * only). The older `SecurityPolicy_TLS12_2018_EDGE`, which CDK marks legacy,
 * is deliberately left out.
 */
export const TLS12_MINIMUM_API_GATEWAY_POLICIES: readonly string[] = [
  // Regional and private, TLS 1.3 only
  'SecurityPolicy_TLS13_1_3_2025_09',
  'SecurityPolicy_TLS13_1_3_FIPS_2025_09',
  // Regional and private, TLS 1.2 and 1.3
  'SecurityPolicy_TLS13_1_2_2021_06',
  'SecurityPolicy_TLS13_1_2_PQ_2025_09',
  'SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09',
  'SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09',
  'SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09',
  // Edge-optimized
  'SecurityPolicy_TLS13_2025_EDGE',
  'SecurityPolicy_TLS12_PFS_2025_EDGE',
];

const API_GATEWAY_POLICY_SET = new Set(TLS12_MINIMUM_API_GATEWAY_POLICIES);

const API_GATEWAY_TLS_TYPES = new Set([
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::DomainName',
  'AWS::ApiGateway::DomainNameV2',
]);

/**
 * AWS::ApiGateway::RestApi, AWS::ApiGateway::DomainName and
 * AWS::ApiGateway::DomainNameV2 have a `SecurityPolicy` from
 * `TLS12_MINIMUM_API_GATEWAY_POLICIES` and `EndpointAccessMode` `STRICT`. A
 * missing `SecurityPolicy` fails: API Gateway then applies `TLS_1_0` to a
 * regional or edge-optimized API. Either value set from an intrinsic passes.
 */
export function APIGatewayTLSPolicy(node: CfnResource): NagRuleCompliance {
  if (!API_GATEWAY_TLS_TYPES.has(node.cfnResourceType)) return NagRuleCompliance.NOT_APPLICABLE;
  const props = templateProperties(node);
  const policy = props.SecurityPolicy;
  const enhanced: Decision =
    typeof policy === 'string'
      ? API_GATEWAY_POLICY_SET.has(policy)
        ? 'yes'
        : 'no'
      : isIntrinsic(policy) && !isAbsent(policy)
        ? 'unknown'
        : 'no';
  // An enhanced policy needs an access mode: BASIC is meant for migrations,
  // STRICT is what AWS recommends for production workloads.
  return verdict(allOf(enhanced, equalsIgnoreCase(props.EndpointAccessMode, 'STRICT')));
}

/** `no` for `yes`, `yes` for `no`. */
function not(decision: Decision): Decision {
  if (decision === 'unknown') return 'unknown';
  return decision === 'yes' ? 'no' : 'yes';
}

/** No entry of `MethodSettings` turns on data tracing. */
function noDataTraceIn(methodSettings: unknown): Decision {
  const list = listValue(methodSettings);
  if (list === undefined) return 'unknown';
  return allOf(
    ...list.map((entry): Decision => {
      if (!isObject(entry)) return isIntrinsic(entry) ? 'unknown' : 'yes';
      return not(booleanValue(entry.DataTraceEnabled));
    }),
  );
}

/**
 * What an access log format must not mention (case-insensitive):
 * `authorization` covers `$context.requestOverride.header.Authorization` and
 * any other variable that carries the Authorization header, which holds the
 * caller's API key; `$input` is the request body.
 */
const FORBIDDEN_IN_ACCESS_LOG = ['authorization', '$input'];

/** The access log format, if any, logs neither the API key nor the body. */
function safeAccessLog(setting: unknown): Decision {
  if (isAbsent(setting)) return 'yes';
  if (!isObject(setting)) return 'unknown';
  const format = setting.Format;
  if (isAbsent(format)) return 'yes';
  // An intrinsic (a Fn::Join, a Fn::Sub) can still show a forbidden literal.
  const text = (typeof format === 'string' ? format : JSON.stringify(format)).toLowerCase();
  if (FORBIDDEN_IN_ACCESS_LOG.some((word) => text.includes(word))) return 'no';
  return typeof format === 'string' ? 'yes' : 'unknown';
}

/**
 * AWS::ApiGateway::Stage has no `MethodSettings` entry with
 * `DataTraceEnabled` true, and its `AccessLogSetting.Format` does not mention
 * `authorization` (case-insensitive) or `$input`. The same for
 * AWS::ApiGateway::Deployment's `StageDescription` (its `DataTraceEnabled`,
 * `MethodSettings` and `AccessLogSetting`). Data tracing writes full request
 * and response bodies to the execution log; the Authorization header holds
 * the caller's API key.
 */
export function APIGatewayNoBodyLogging(node: CfnResource): NagRuleCompliance {
  const type = node.cfnResourceType;
  const props = templateProperties(node);
  if (type === 'AWS::ApiGateway::Stage') {
    return verdict(
      allOf(noDataTraceIn(props.MethodSettings), safeAccessLog(props.AccessLogSetting)),
    );
  }
  if (type !== 'AWS::ApiGateway::Deployment') return NagRuleCompliance.NOT_APPLICABLE;
  const stage = props.StageDescription;
  if (isAbsent(stage)) return NagRuleCompliance.COMPLIANT;
  if (!isObject(stage)) return verdict(isIntrinsic(stage) ? 'unknown' : 'yes');
  return verdict(
    allOf(
      not(booleanValue(stage.DataTraceEnabled)),
      noDataTraceIn(stage.MethodSettings),
      safeAccessLog(stage.AccessLogSetting),
    ),
  );
}

/** A number (or numeric string) above zero; an intrinsic is undecidable, absent is `no`. */
function positiveNumber(value: unknown): Decision {
  if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')) {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? 'yes' : 'no';
  }
  return isIntrinsic(value) && !isAbsent(value) ? 'unknown' : 'no';
}

/** Both throttling limits are positive. */
function throttled(limits: CfnObject): Decision {
  return allOf(
    positiveNumber(limits.ThrottlingBurstLimit),
    positiveNumber(limits.ThrottlingRateLimit),
  );
}

/** Some `MethodSettings` entry for every method (`*`) and resource (`/*`) throttles. */
function stageWideThrottling(methodSettings: unknown): Decision {
  const list = listValue(methodSettings);
  if (list === undefined) return 'unknown';
  return anyOf(
    list.map((entry): Decision => {
      if (!isObject(entry)) return isIntrinsic(entry) ? 'unknown' : 'no';
      return allOf(
        equalsIgnoreCase(entry.HttpMethod, '*'),
        equalsIgnoreCase(entry.ResourcePath, '/*'),
        throttled(entry),
      );
    }),
  );
}

/**
 * AWS::ApiGateway::Stage has a `MethodSettings` entry with `HttpMethod: '*'`
 * and `ResourcePath: '/*'` whose `ThrottlingBurstLimit` and
 * `ThrottlingRateLimit` are both above zero (what CDK writes for
 * `deployOptions.throttlingBurstLimit` and `throttlingRateLimit`). Limits on
 * single methods, usage plans and the account-level default do not count.
 *
 * An AWS::ApiGateway::Deployment with a `StageName` creates that stage
 * itself; its `StageDescription` must then set both limits (directly or in
 * such a `MethodSettings` entry). A deployment without `StageName` (as CDK
 * writes it) is not applicable.
 */
export function APIGatewayStageThrottling(node: CfnResource): NagRuleCompliance {
  const type = node.cfnResourceType;
  const props = templateProperties(node);
  if (type === 'AWS::ApiGateway::Stage') return verdict(stageWideThrottling(props.MethodSettings));
  if (type !== 'AWS::ApiGateway::Deployment' || isAbsent(props.StageName)) {
    return NagRuleCompliance.NOT_APPLICABLE;
  }
  const stage = props.StageDescription;
  if (!isObject(stage)) return verdict(isIntrinsic(stage) && !isAbsent(stage) ? 'unknown' : 'no');
  return verdict(anyOf([throttled(stage), stageWideThrottling(stage.MethodSettings)]));
}
