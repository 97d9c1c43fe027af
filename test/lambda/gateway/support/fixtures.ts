/** Events, configuration and sample data for the gateway tests. */

import type { ALBEvent, ALBResult, APIGatewayProxyEvent } from 'aws-lambda';
import {
  parseConfig,
  type GatewayConfig,
  type ModelConfig,
} from '../../../../lambda/gateway/config';
import { HMAC_KEY_ID, IMAGE_BUCKET, KEY_TABLE, USAGE_TABLE } from './local-aws';

export const MODELS = [
  {
    id: 'chat-small',
    upstreamId: 'amazon.nova-lite-v1:0',
    kind: 'chat',
    inputMicroUsdPer1kTokens: 60,
    outputMicroUsdPer1kTokens: 240,
  },
  {
    id: 'image-gen',
    upstreamId: 'amazon.nova-canvas-v1:0',
    kind: 'image',
    microUsdPerImage: 40_000,
  },
] as const;

/** A Bedrock chat model as the upstream receives it (Nova Lite, no prices). */
export const BEDROCK_CHAT_MODEL: ModelConfig = {
  id: 'pub',
  upstreamId: 'amazon.nova-lite-v1:0',
  kind: 'chat',
  inputMicroUsdPer1kTokens: 0,
  outputMicroUsdPer1kTokens: 0,
  microUsdPerImage: 0,
};

/** Bedrock stop reasons and the finish reasons they become (an unknown one is `stop`). */
export const BEDROCK_STOP_REASONS: readonly [string, string][] = [
  ['end_turn', 'stop'],
  ['stop_sequence', 'stop'],
  ['max_tokens', 'length'],
  ['model_context_window_exceeded', 'length'],
  ['tool_use', 'tool_calls'],
  ['content_filtered', 'content_filter'],
  ['guardrail_intervened', 'content_filter'],
  ['something_new', 'stop'],
];

export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    USAGE_TABLE_NAME: USAGE_TABLE,
    KEY_TABLE_NAME: KEY_TABLE,
    IMAGE_BUCKET_NAME: IMAGE_BUCKET,
    HMAC_KEY_ID,
    MODELS: JSON.stringify(MODELS),
    IMAGE_TTL_SECONDS: '3600',
    METADATA_RETENTION_DAYS: '30',
    ...env,
  };
}

export function testConfig(env: Record<string, string> = {}): GatewayConfig {
  return parseConfig(testEnv(env));
}

/**
 * An OpenAI-compatible upstream's configuration as parsed from an https URL
 * (the only kind the parser takes), with the token secret `secretArn` when
 * given, then pointed at the test server on `baseUrl` (plain HTTP on loopback).
 */
export function openAiTestConfig(
  baseUrl: string,
  env: Record<string, string> = {},
  secretArn?: string,
): GatewayConfig {
  const parsed = testConfig({
    UPSTREAM_KIND: 'openai-compatible',
    UPSTREAM_BASE_URL: 'https://upstream.invalid',
    ...(secretArn ? { UPSTREAM_SECRET_ARN: secretArn } : {}),
    ...env,
  });
  return {
    ...parsed,
    upstream: { kind: 'openai-compatible', baseUrl, ...(secretArn ? { secretArn } : {}) },
  };
}

export interface EventInput {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly base64?: boolean;
}

export function albEvent(input: EventInput): ALBEvent {
  let body = input.rawBody ?? (input.body === undefined ? null : JSON.stringify(input.body));
  if (body !== null && input.base64) body = Buffer.from(body, 'utf8').toString('base64');
  return {
    requestContext: {
      elb: {
        targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gw/0',
      },
    },
    httpMethod:
      input.method ?? (input.body === undefined && input.rawBody === undefined ? 'GET' : 'POST'),
    path: input.path,
    queryStringParameters: {},
    headers: { 'content-type': 'application/json', ...(input.headers ?? {}) },
    body,
    isBase64Encoded: input.base64 ?? false,
  };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

export function json(result: ALBResult): Record<string, unknown> {
  return JSON.parse(result.body ?? '') as Record<string, unknown>;
}

/** A tiny valid PNG (1x1); `marker` goes into a tEXt-like tail so images differ. */
export function pngBytes(marker = ''): Buffer {
  const onePixel = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  return Buffer.concat([onePixel, Buffer.from(marker, 'utf8')]);
}

/** Parses a text/event-stream body into its data payloads. */
export function sseData(body: string): string[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .split('\n\n')
    .filter((e) => e !== '')
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      return event.slice('data: '.length);
    });
}

/** A context with a fixed request id. */
export const context = (awsRequestId: string) => ({
  awsRequestId,
  getRemainingTimeInMillis: () => 300_000,
});

/** The same request as API Gateway's REST proxy integration passes it (multi-value headers). */
export function apiGatewayEvent(input: EventInput): APIGatewayProxyEvent {
  const alb = albEvent(input);
  const headers = alb.headers ?? {};
  return {
    resource: input.path,
    path: input.path,
    httpMethod: alb.httpMethod,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v ?? '']])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      requestId: 'apigw-request',
      stage: 'v1',
    } as APIGatewayProxyEvent['requestContext'],
    body: alb.body ?? null,
    isBase64Encoded: alb.isBase64Encoded,
  };
}
