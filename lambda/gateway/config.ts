/**
 * Gateway configuration, read from environment variables once at cold start
 * through the gateway's contract (lib/core/env/gateway.ts), which declares
 * every variable, its range and its default once for the construct, this
 * handler and local mode.
 *
 * Every problem is collected and reported in one error that names the variables
 * and the allowed ranges, so a bad deployment fails at init, not at the first
 * request.
 */

import { gatewayEnv, type GatewayEnv } from '../../lib/core/env/gateway';
import type { Env } from '../../lib/core/handler-env';

export type { ModelConfig, ModelKind } from '../../lib/core/models';

export type UpstreamConfig =
  | { readonly kind: 'bedrock' }
  | {
      readonly kind: 'openai-compatible';
      /** `https://host[:port][/path]`, without a trailing slash. */
      readonly baseUrl: string;
      /** Secrets Manager secret holding the upstream bearer token. */
      readonly secretArn?: string;
    };

/** The upstream's three variables, read as one `upstream`. */
type UpstreamFields = 'upstreamKind' | 'upstreamBaseUrl' | 'upstreamSecretArn';

/** The gateway's configuration: its contract's values, the upstream as one field. */
export interface GatewayConfig extends Omit<GatewayEnv, UpstreamFields> {
  readonly upstream: UpstreamConfig;
}

export type RemoteImageUrls = GatewayConfig['remoteImageUrls'];

/**
 * Parses and validates the gateway's environment. Throws one error listing
 * every problem. `contract` is the gateway's own; local mode passes it with
 * its wider image TTL range (`gatewayEnv.withRanges`).
 */
export function parseConfig(env: Env, contract = gatewayEnv): GatewayConfig {
  const { upstreamKind, upstreamBaseUrl, upstreamSecretArn, ...rest } = contract.read(env);
  const upstream: UpstreamConfig =
    upstreamKind === 'openai-compatible'
      ? {
          kind: upstreamKind,
          baseUrl: upstreamBaseUrl ?? '',
          ...(upstreamSecretArn ? { secretArn: upstreamSecretArn } : {}),
        }
      : { kind: 'bedrock' };
  return { ...rest, upstream };
}
