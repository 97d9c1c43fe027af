/**
 * Run in a child process (`node --import tsx`) with NODE_EXTRA_CA_CERTS set to
 * the fake upstream's self-signed certificate: the gateway's configuration
 * parser and OpenAiUpstream then talk to it over real TLS with the global fetch,
 * exactly as in Lambda. Prints the chat result as JSON.
 */

import { parseConfig } from '../../../../lambda/gateway/config';
import { OpenAiUpstream } from '../../../../lambda/gateway/openai-upstream';

async function main(): Promise<void> {
  const config = parseConfig({
    USAGE_TABLE_NAME: 'usage',
    KEY_TABLE_NAME: 'keys',
    IMAGE_BUCKET_NAME: 'images',
    HMAC_KEY_ID: 'hmac',
    UPSTREAM_KIND: 'openai-compatible',
    UPSTREAM_BASE_URL: process.env.TEST_UPSTREAM_URL,
    MODELS: JSON.stringify([{ id: 'chat', upstreamId: 'org/chat-model', kind: 'chat' }]),
    IMAGE_TTL_SECONDS: '300',
    METADATA_RETENTION_DAYS: '1',
  });
  if (config.upstream.kind !== 'openai-compatible') throw new Error('wrong upstream');
  const upstream = new OpenAiUpstream({
    baseUrl: config.upstream.baseUrl,
    token: async () => 'child-token',
  });
  const result = await upstream.chat(
    {
      model: 'chat',
      messages: [{ role: 'user', parts: [{ type: 'text', text: 'ping' }] }],
      n: 1,
      stop: [],
      stream: false,
      includeUsage: false,
      tools: [],
    },
    config.models[0],
    AbortSignal.timeout(10_000),
  );
  process.stdout.write(JSON.stringify(result));
}

main().catch((err: unknown) => {
  process.stdout.write(JSON.stringify({ failed: err instanceof Error ? err.name : 'unknown' }));
  process.exitCode = 1;
});
