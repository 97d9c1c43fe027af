/**
 * The whole gateway handler on the local AWS servers (local-aws.ts), with the
 * upstream its configuration names built from the given clients: Bedrock
 * (mocked by the tests), or Secrets Manager for an OpenAI-compatible server's
 * token.
 */

import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { LineSink } from '../../../../lambda/shared/allowlist-logger';
import type { GatewayConfig } from '../../../../lambda/gateway/config';
import { createHandler, type GatewayHandler } from '../../../../lambda/gateway/gateway';
import { createUpstream, type UpstreamClients } from '../../../../lambda/gateway/upstreams';
import type { LocalAws } from './local-aws';

export function localGateway(
  aws: LocalAws,
  config: GatewayConfig,
  clients: UpstreamClients = {},
  logSink?: LineSink,
): GatewayHandler {
  return createHandler({
    config,
    ddb: aws.ddb,
    s3: aws.s3,
    kms: aws.kms,
    upstream: createUpstream(config, clients),
    logSink,
  });
}

/** A Bedrock and a Secrets Manager client (placeholder credentials), each with its mock. */
export function mockedUpstreamClients() {
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const bedrock = new BedrockRuntimeClient({ region: 'us-east-1', credentials });
  const secrets = new SecretsManagerClient({ region: 'us-east-1', credentials });
  return { bedrock, bedrockMock: mockClient(bedrock), secrets, secretsMock: mockClient(secrets) };
}
