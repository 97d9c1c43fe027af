/**
 * Lambda entry points of the gateway: `handler` for the load balancer (one
 * body per answer) and `streamHandler` for API Gateway's streaming proxy
 * integration (chunks as they are produced; see ../shared/lambda-stream).
 *
 * On the shared skeleton (`../shared/handler`): configuration is read and
 * validated at module load (cold start), and SDK clients are created once; a
 * bad environment fails the init with a message naming the variables. Only
 * the configured upstream's client is loaded (and, in the deployed bundle,
 * only its code is present); S3 is loaded on the first image asked for by
 * URL, and on the first request when there is a config bucket (the outbound
 * trust store). For openai-compatible upstreams with a secret, the secret
 * read starts here too.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { lambdaEntry } from '../shared/handler';
import { streamingEntry } from '../shared/lambda-stream';
import { parseConfig } from './config';
import { createHandler } from './gateway';
import { createTrustReader } from './trust';
import { createUpstream } from './upstreams';

export { createHandler } from './gateway';
export type { GatewayDeps, GatewayHandler } from './gateway';

export const { handler } = lambdaEntry({
  name: 'gateway',
  parseConfig,
  clients: (config) => {
    // One reader of the outbound trust store (when there is a config bucket)
    // for the upstream's TLS and every answer's warning header.
    const trust = createTrustReader(config);
    return {
      ddb: new DynamoDBClient({}),
      kms: new KMSClient({}),
      upstream: createUpstream(config, { trust }),
      trust,
    };
  },
  create: (config, clients) => createHandler({ config, ...clients }),
});

/** The same handler, streaming its answers (API Gateway with response transfer mode STREAM). */
export const streamHandler = streamingEntry(handler);
