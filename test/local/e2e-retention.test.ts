/**
 * Promises P1, P2 and P4 end to end, over real HTTPS against local mode in its
 * own process: requests carry canary strings everywhere a client can put
 * content (prompts, system messages, stop sequences, tool definitions, image
 * prompts, headers, query strings, customer ids, API key secrets), through
 * success, bad input, an upstream error and an upstream timeout. Afterwards
 * no canary is in the process's stdout or stderr, in any file under its data
 * folder, in any table item, or in any stored object's key or metadata (image
 * bytes aside), nor in any error answer. Then the image outlives its TTL by a
 * sweep and is gone, and its URL no longer works.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { LOCAL_REGION, localS3Client } from '../../local/stores';
import { startFlakyUpstream, type FlakyUpstream } from './support/flaky-upstream';
import {
  bearer,
  startLocalProcess,
  type Answer,
  type LocalProcess,
} from '../../local/child-process';

const PREFIX = `EPHCANARY${randomBytes(4).toString('hex')}`;
let serial = 0;
/** A fresh canary; every one starts with PREFIX, so one search finds them all. */
const canary = () => `${PREFIX}x${++serial}`;

const MODELS = JSON.stringify([
  { id: 'chat', upstreamId: 'demo-chat', kind: 'chat' },
  { id: 'draw', upstreamId: 'demo-image', kind: 'image' },
  { id: 'broken', upstreamId: 'fail-chat', kind: 'chat' },
  { id: 'slow', upstreamId: 'slow-chat', kind: 'chat' },
]);
const TTL_SECONDS = 3;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('local mode keeps no content (end to end)', () => {
  let upstream: FlakyUpstream;
  let local: LocalProcess;
  let dataDir: string;
  let s3: S3Client;
  let ddb: DynamoDBClient;
  const answers: Answer[] = [];

  /** Headers that carry canaries on every request. */
  const noisy = () => ({
    'x-canary': canary(),
    'user-agent': `agent ${canary()}`,
    'x-ephemera-metadata': `customer_id=${canary()};note=${canary()}`,
  });
  const chatBody = (extra: Record<string, unknown> = {}) => ({
    model: 'chat',
    messages: [
      { role: 'system', content: `You are ${canary()}` },
      { role: 'user', content: `Tell me about ${canary()}` },
    ],
    stop: [canary()],
    tools: [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: `Looks up ${canary()}`,
          parameters: {
            type: 'object',
            properties: { [canary()]: { type: 'string', description: canary() } },
          },
        },
      },
    ],
    tool_choice: 'none',
    ...extra,
  });
  async function call(path: string, options: Parameters<LocalProcess['call']>[1]) {
    const answer = await local.call(path, options);
    answers.push(answer);
    return answer;
  }
  const inference = () => ({ ...bearer(local.inferenceKey), ...noisy() });

  beforeAll(async () => {
    upstream = await startFlakyUpstream();
    dataDir = mkdtempSync(join(tmpdir(), 'ephemera-e2e-'));
    local = await startLocalProcess({
      env: {
        EPHEMERA_DATA_DIR: dataDir,
        EPHEMERA_UPSTREAM_URL: upstream.baseUrl,
        EPHEMERA_MODELS: MODELS,
        EPHEMERA_IMAGE_TTL_SECONDS: String(TTL_SECONDS),
        EPHEMERA_REQUEST_TIMEOUT_SECONDS: '2',
      },
    });
    // The stand-ins take only this run's credentials, which local mode hands over its IPC channel.
    const { credentials } = local.services;
    ddb = new DynamoDBClient({
      region: LOCAL_REGION,
      credentials,
      endpoint: local.services.dynamodb,
    });
    s3 = localS3Client(local.services.s3, credentials, local.ca);
  }, 60_000);
  afterAll(async () => {
    ddb?.destroy();
    s3?.destroy();
    await local?.stop();
    await upstream?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let imageUrl: string;

  it('answers every kind of request, and no answer echoes a canary', async () => {
    const ok = await call(`/v1/chat/completions?trace=${canary()}`, {
      headers: inference(),
      body: chatBody(),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-ephemera-retention']).toBe('content=none; metadata=30d');

    const streamed = await call(`/v1/chat/completions?trace=${canary()}`, {
      headers: inference(),
      body: chatBody({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(streamed.status).toBe(200);
    expect(streamed.body.endsWith('data: [DONE]\n\n')).toBe(true);

    const byUrl = await call('/v1/images/generations', {
      headers: inference(),
      body: { model: 'draw', prompt: `A drawing of ${canary()}`, response_format: 'url' },
    });
    expect(byUrl.status).toBe(200);
    expect(byUrl.headers['x-ephemera-retention']).toBe(
      `content=image; image-ttl=${TTL_SECONDS}; metadata=30d`,
    );
    imageUrl = (JSON.parse(byUrl.body) as { data: { url: string }[] }).data[0].url;
    expect(imageUrl.startsWith('https://127.0.0.1:')).toBe(true);
    const image = await local.get(imageUrl);
    expect(image.status).toBe(200);

    const inline = await call('/v1/images/generations', {
      headers: inference(),
      body: { model: 'draw', prompt: `A drawing of ${canary()}` },
    });
    expect(inline.status).toBe(200);
    expect(inline.headers['x-ephemera-retention']).toBe('content=none; metadata=30d');

    // Bad input, in the body, the headers, the key and the route.
    const refused: [string, Parameters<LocalProcess['call']>[1], number][] = [
      ['/v1/chat/completions', { headers: inference(), body: chatBody({ temperature: 9 }) }, 400],
      ['/v1/chat/completions', { headers: inference(), rawBody: `{"model":"${canary()}` }, 400],
      // A model name not shaped like an id (a space): the 404 may not name it.
      [
        '/v1/chat/completions',
        { headers: inference(), body: chatBody({ model: `${canary()} x` }) },
        404,
      ],
      [
        '/v1/chat/completions',
        {
          headers: { ...inference(), 'x-ephemera-metadata': `customer_id=${canary()} ${canary()}` },
          body: chatBody(),
        },
        400,
      ],
      [
        '/v1/chat/completions',
        { headers: { ...noisy(), ...bearer(`eph_${canary()}_${canary()}`) }, body: chatBody() },
        401,
      ],
      // A path segment not shaped like a plain path (`!`): the 404 may not name it.
      [`/v1/${canary()}!?q=${canary()}`, { headers: inference(), body: chatBody() }, 404],
      [
        `/v1/logs?filter=request_id::${canary()}`,
        { headers: { ...bearer(local.adminKey), ...noisy() } },
        400,
      ],
      // The upstream fails (and quotes the prompt in its error body), or never answers.
      ['/v1/chat/completions', { headers: inference(), body: chatBody({ model: 'broken' }) }, 502],
      ['/v1/chat/completions', { headers: inference(), body: chatBody({ model: 'slow' }) }, 504],
      [
        '/v1/chat/completions',
        { headers: inference(), body: chatBody({ model: 'slow', stream: true }) },
        504,
      ],
    ];
    for (const [path, options, status] of refused) {
      const answer = await call(path, options);
      expect([path, answer.status]).toEqual([path, status]);
    }
    for (const answer of answers) {
      if (answer === ok || answer === streamed) continue;
      expect(answer.body).not.toContain(PREFIX);
    }
    for (const answer of answers) expect(JSON.stringify(answer.headers)).not.toContain(PREFIX);
  });

  it('leaves no canary in its output, its files, its tables or its objects', async () => {
    // The usage records are written before the answers; give the log lines a moment.
    await new Promise((r) => setTimeout(r, 200));
    expect(local.output()).toContain('"event":"usage"');
    expect(local.output()).not.toContain(PREFIX);

    const files = filesUnder(dataDir);
    expect(files.some((f) => f.includes('dynamodb'))).toBe(true);
    for (const file of files) {
      if (file.includes(`${join('s3', 'ephemera-images')}`) && !file.endsWith('.json')) continue;
      expect([file, readFileSync(file).includes(PREFIX)]).toEqual([file, false]);
    }

    const { names } = local.services;
    let items = 0;
    for (const table of [names.usageTable, names.keyTable, names.deletionTable]) {
      const scanned = await ddb.send(new ScanCommand({ TableName: table }));
      items += scanned.Items?.length ?? 0;
      expect(JSON.stringify(scanned.Items)).not.toContain(PREFIX);
    }
    // Two keys and a record for every request whose key verified.
    expect(items).toBeGreaterThanOrEqual(answers.length - 1);

    const listed: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: names.imageBucket }),
    );
    expect(listed.Contents?.length).toBe(1);
    for (const object of listed.Contents ?? []) {
      expect(object.Key).not.toContain(PREFIX);
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: names.imageBucket, Key: object.Key }),
      );
      expect(JSON.stringify({ ...head, $metadata: undefined })).not.toContain(PREFIX);
    }
  });

  it('deletes the image once its TTL has passed, and its URL stops working', async () => {
    const { names } = local.services;
    const deadline = Date.now() + 30_000;
    let left = 1;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: names.imageBucket }));
      left = listed.KeyCount ?? 0;
    }
    expect(left).toBe(0);
    const again = await local.get(imageUrl);
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(local.output()).toContain('"event":"sweep"');
    expect(local.output()).not.toContain(PREFIX);
  }, 40_000);
});
