/**
 * Builds the configured model upstream.
 *
 * A deployment uses one upstream kind, so the deployed bundle is built with
 * `process.env.EPHEMERA_UPSTREAM_KIND` defined as that kind: the branches of
 * the other kinds become dead code, their imports go unused, and esbuild
 * leaves that code and its SDK client out of the asset. Unbundled (tests,
 * local mode) every branch is live and the configuration decides. The kinds
 * are the rows of `UPSTREAM_KINDS` (lib/core/upstream-kinds): the `switch`
 * below compiles only with a case for each.
 */

import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { unknownUpstreamKind } from '../../lib/core/upstream-kinds';
import { trustedFetch } from '../shared/trust/trusted-fetch';
import type { TrustReader } from '../shared/trust/trust-source';
import { BedrockUpstream } from './bedrock-upstream';
import type { GatewayConfig } from './config';
import { OpenAiUpstream, type FetchLike } from './openai-upstream';
import { createTrustReader } from './trust';
import type { Upstream } from './upstream-contract';
import { secretTokenSource } from './upstream-token';

/** Clients for the upstream; each is created when absent and needed. */
export interface UpstreamClients {
  readonly bedrock?: BedrockRuntimeClient;
  readonly secrets?: SecretsManagerClient;
  /**
   * `fetch` for the openai-compatible upstream (tests).
   * @default trustedFetch over `trust`
   */
  readonly fetch?: FetchLike;
  /**
   * The outbound trust the openai-compatible upstream is reached with.
   * @default createTrustReader(config, s3)
   */
  readonly trust?: TrustReader;
  /** S3 for the trust store, when `trust` is not given. @default a new client */
  readonly s3?: S3Client;
}

export function createUpstream(config: GatewayConfig, clients: UpstreamClients = {}): Upstream {
  const upstream = config.upstream;
  // Each case is live only in its own bundle (`?? upstream.kind`: unbundled, every case is).
  switch (upstream.kind) {
    case 'bedrock':
      if ((process.env.EPHEMERA_UPSTREAM_KIND ?? upstream.kind) === 'bedrock') {
        return new BedrockUpstream(clients.bedrock ?? new BedrockRuntimeClient({}));
      }
      break;
    case 'openai-compatible':
      if ((process.env.EPHEMERA_UPSTREAM_KIND ?? upstream.kind) === 'openai-compatible') {
        let token: () => Promise<string | undefined> = async () => undefined;
        if (upstream.secretArn) {
          token = secretTokenSource(
            clients.secrets ?? new SecretsManagerClient({}),
            upstream.secretArn,
          );
        }
        // A trust store that cannot be read rejects the call: OpenAiUpstream
        // makes that a failed upstream (502), never a call with other trust.
        const fetch =
          clients.fetch ?? trustedFetch(clients.trust ?? createTrustReader(config, clients.s3));
        return new OpenAiUpstream({ baseUrl: upstream.baseUrl, token, fetch });
      }
      break;
    default:
      return unknownUpstreamKind(upstream);
  }
  throw new Error(
    `This gateway bundle was built for the ${process.env.EPHEMERA_UPSTREAM_KIND} upstream, not ${upstream.kind}`,
  );
}
