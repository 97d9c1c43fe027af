import { defaultModel } from '../../../lib/core/models';
import { parseConfig } from '../../../lambda/gateway/config';
import { testEnv } from './support/fixtures';

describe('parseConfig', () => {
  it('reads a valid environment with defaults', () => {
    const config = parseConfig(testEnv());
    expect(config).toEqual({
      usageTableName: 'ephemera-usage',
      keyTableName: 'ephemera-keys',
      imageBucketName: 'ephemera-images',
      hmacKeyId: 'arn:aws:kms:us-east-1:123456789012:key/hmac-test',
      allowInsecureTrustAll: false,
      upstream: { kind: 'bedrock' },
      models: [
        {
          id: 'chat-small',
          upstreamId: 'amazon.nova-lite-v1:0',
          kind: 'chat',
          inputMicroUsdPer1kTokens: 60,
          outputMicroUsdPer1kTokens: 240,
          microUsdPerImage: 0,
        },
        {
          id: 'image-gen',
          upstreamId: 'amazon.nova-canvas-v1:0',
          kind: 'image',
          inputMicroUsdPer1kTokens: 0,
          outputMicroUsdPer1kTokens: 0,
          microUsdPerImage: 40000,
        },
      ],
      imageTtlSeconds: 3600,
      metadataRetentionDays: 30,
      upstreamTimeoutMs: 280000,
      maxImagesPerRequest: 4,
      remoteImageUrls: 'deny',
    });
  });

  it('reads an openai-compatible upstream, trimming the trailing slash', () => {
    const config = parseConfig(
      testEnv({
        UPSTREAM_KIND: 'openai-compatible',
        UPSTREAM_BASE_URL: 'https://vllm.internal:8443/',
        UPSTREAM_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:upstream-AbCdEf',
        IMAGE_KMS_KEY_ARN:
          'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        UPSTREAM_TIMEOUT_MS: '60000',
        MAX_IMAGES_PER_REQUEST: '2',
      }),
    );
    expect(config.upstream).toEqual({
      kind: 'openai-compatible',
      baseUrl: 'https://vllm.internal:8443',
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:upstream-AbCdEf',
    });
    expect(config.imageKmsKeyArn).toBe(
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    expect(config.upstreamTimeoutMs).toBe(60000);
    expect(config.maxImagesPerRequest).toBe(2);
  });

  it('reads the default image model: the one marked, or the only one', () => {
    const image = (id: string, extra = {}) => ({ id, upstreamId: id, kind: 'image', ...extra });
    const chat = { id: 'c', upstreamId: 'c', kind: 'chat' };
    const models = (...list: object[]) =>
      parseConfig(testEnv({ MODELS: JSON.stringify(list) })).models;
    const marked = models(chat, image('a'), image('b', { default: true }));
    expect(marked.map((m) => m.default)).toEqual([undefined, undefined, true]);
    expect(defaultModel(marked, 'image')?.id).toBe('b');
    expect(defaultModel(models(chat, image('a')), 'image')?.id).toBe('a');
    expect(defaultModel(models(chat, image('a'), image('b')), 'image')).toBeUndefined();
    expect(
      defaultModel(models(image('a', { default: false }), image('b')), 'image'),
    ).toBeUndefined();
  });

  it('lists every problem in one error', () => {
    expect(() =>
      parseConfig({
        IMAGE_BUCKET_NAME: 'Bad_Bucket',
        UPSTREAM_KIND: 'openai-compatible',
        UPSTREAM_BASE_URL: 'http://vllm.internal',
        MODELS: '[{"id":"m","upstreamId":"u","kind":"video"}]',
        IMAGE_TTL_SECONDS: '60',
        METADATA_RETENTION_DAYS: '4000',
        UPSTREAM_TIMEOUT_MS: '1.5',
        MAX_IMAGES_PER_REQUEST: '11',
      }),
    ).toThrow(
      'Invalid gateway configuration: ' +
        'USAGE_TABLE_NAME is required (a DynamoDB table name); ' +
        'KEY_TABLE_NAME is required (a DynamoDB table name); ' +
        'IMAGE_BUCKET_NAME must be an S3 bucket name; ' +
        'HMAC_KEY_ID is required (a KMS key id or ARN); ' +
        'UPSTREAM_BASE_URL must be an https:// URL without credentials, query or fragment (TLS only); ' +
        "MODELS[0].kind must be 'chat', 'image' or 'embedding'; " +
        'IMAGE_TTL_SECONDS must be a whole number from 300 to 86400; ' +
        'METADATA_RETENTION_DAYS must be a whole number from 1 to 3650; ' +
        'UPSTREAM_TIMEOUT_MS must be a whole number from 1000 to 900000; ' +
        'MAX_IMAGES_PER_REQUEST must be a whole number from 1 to 10',
    );
  });

  it.each([
    [{ UPSTREAM_KIND: 'grpc' }, "UPSTREAM_KIND must be 'bedrock' or 'openai-compatible'"],
    [
      { UPSTREAM_KIND: 'openai-compatible' },
      'UPSTREAM_BASE_URL is required with UPSTREAM_KIND=openai-compatible',
    ],
    [
      { UPSTREAM_BASE_URL: 'https://x' },
      'UPSTREAM_BASE_URL is only used with UPSTREAM_KIND=openai-compatible',
    ],
    [
      { UPSTREAM_KIND: 'openai-compatible', UPSTREAM_BASE_URL: 'https://user:pw@x' },
      'UPSTREAM_BASE_URL must not carry credentials (user:password@ would be stored in plain text in the template and the function environment): keep the upstream token in a Secrets Manager secret and name it with upstreamSecretArn (upstream.credentials on the InferenceGateway construct)',
    ],
    [
      {
        UPSTREAM_KIND: 'openai-compatible',
        UPSTREAM_BASE_URL: 'https://x',
        UPSTREAM_SECRET_ARN: 'token',
      },
      'UPSTREAM_SECRET_ARN must be a Secrets Manager secret ARN',
    ],
    [{ MODELS: 'not json' }, 'MODELS must be a JSON array'],
    [{ MODELS: '[]' }, 'with at least one model'],
    [
      { MODELS: '[{"id":"a b","upstreamId":"u","kind":"chat"}]' },
      'MODELS[0].id must be 1-128 characters',
    ],
    [
      {
        MODELS:
          '[{"id":"a","upstreamId":"u","kind":"chat"},{"id":"a","upstreamId":"v","kind":"chat"}]',
      },
      'MODELS[1].id repeats an earlier model id',
    ],
    [
      { MODELS: '[{"id":"a","upstreamId":"u","kind":"chat","inputMicroUsdPer1kTokens":-1}]' },
      'MODELS[0].inputMicroUsdPer1kTokens must be a non-negative number (micro-USD)',
    ],
    [
      {
        MODELS:
          '[{"id":"a","upstreamId":"u","kind":"image","default":true},{"id":"b","upstreamId":"v","kind":"image","default":true}]',
      },
      'MODELS[1].default: only one image model may be the default (a is)',
    ],
    [
      { MODELS: '[{"id":"a","upstreamId":"u","kind":"chat","default":true}]' },
      'MODELS[0].default may only be true or false, and true only on an image model',
    ],
    [{ IMAGE_KMS_KEY_ARN: 'alias/images' }, 'IMAGE_KMS_KEY_ARN must be a KMS key ARN'],
    [{ REMOTE_IMAGE_URLS: 'yes' }, "REMOTE_IMAGE_URLS must be 'deny' or 'allow'"],
    [{ ALLOW_INSECURE_TRUST_ALL: 'yes' }, 'ALLOW_INSECURE_TRUST_ALL must be true or false'],
  ])('refuses %j', (env, message) => {
    expect(() => parseConfig(testEnv(env as Record<string, string>))).toThrow(message);
  });

  it('refuses a Bedrock embedding model other than Titan Text Embeddings V2, as synth does', () => {
    const embedding = (upstreamId: string) =>
      JSON.stringify([{ id: 'embed', upstreamId, kind: 'embedding' }]);
    expect(() => parseConfig(testEnv({ MODELS: embedding('cohere.embed-english-v3') }))).toThrow(
      'Invalid gateway configuration: MODELS[0] (embed): the Bedrock upstream serves embeddings with Amazon Titan Text Embeddings V2 only',
    );
    for (const ok of [
      'amazon.titan-embed-text-v2:0',
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0',
    ]) {
      expect(parseConfig(testEnv({ MODELS: embedding(ok) })).models[0].kind).toBe('embedding');
    }
    // Any name goes to an OpenAI-compatible upstream.
    const oai = parseConfig(
      testEnv({
        UPSTREAM_KIND: 'openai-compatible',
        UPSTREAM_BASE_URL: 'https://vllm.internal',
        MODELS: embedding('BAAI/bge-m3'),
      }),
    );
    expect(oai.models[0]).toMatchObject({ upstreamId: 'BAAI/bge-m3', kind: 'embedding' });
  });

  it('never echoes a bad value', () => {
    const canary = 'CANARY-config-7f3a';
    try {
      parseConfig(
        testEnv({
          MODELS: `[{"id":"${canary} x","upstreamId":"${canary}","kind":"chat"}]`,
          IMAGE_TTL_SECONDS: canary,
        }),
      );
      throw new Error('expected a throw');
    } catch (err) {
      expect((err as Error).message).toContain('MODELS[0].id');
      expect((err as Error).message).not.toContain(canary);
    }
  });
});
