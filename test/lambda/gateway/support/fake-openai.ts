/**
 * A fake OpenAI-compatible server on 127.0.0.1 (HTTP, or HTTPS with a given
 * key and certificate). Tests set `behaviour` to choose how it answers, and read
 * `requests` to see exactly what the gateway sent.
 */

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Behaviour =
  | { readonly kind: 'ok'; readonly content?: string; readonly images?: readonly Buffer[] }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'raw'; readonly body: string }
  | { readonly kind: 'hang' }
  /**
   * A `text/event-stream` answer: each piece written `delayMs` after the
   * previous one; then the response ends, or (`hang`) stays open.
   */
  | {
      readonly kind: 'stream';
      readonly pieces: readonly string[];
      readonly delayMs?: number;
      readonly hang?: boolean;
    }
  | { readonly kind: 'redirect' };

/**
 * The fake's embedding of input `index`: `dimensions` numbers (4 unless asked
 * otherwise), most of which float32 cannot hold exactly.
 */
export function fakeEmbedding(index: number, dimensions = 4): number[] {
  return Array.from({ length: dimensions }, (_, j) => (index + 1) / (j + 3));
}

/** Prompt tokens the fake reports per embedded input. */
export const FAKE_TOKENS_PER_INPUT = 3;

export interface FakeOpenAi {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  behaviour: Behaviour;
  /** Connections open to the server now (a cancelled call leaves none). */
  connections(): Promise<number>;
  stop(): Promise<void>;
}

export async function startFakeOpenAi(tls?: { key: string; cert: string }): Promise<FakeOpenAi> {
  const hanging = new Set<ServerResponse>();
  const fake: Omit<FakeOpenAi, 'baseUrl' | 'stop' | 'connections'> & { behaviour: Behaviour } = {
    requests: [],
    behaviour: { kind: 'ok' },
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      fake.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
      });
      const b = fake.behaviour;
      const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(payload);
      };
      switch (b.kind) {
        case 'hang':
          hanging.add(res);
          return;
        case 'redirect':
          res.writeHead(302, { location: 'https://example.com/' });
          res.end();
          return;
        case 'status':
          send(b.status, b.body, b.headers);
          return;
        case 'raw':
          send(200, b.body);
          return;
        case 'stream': {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          hanging.add(res);
          const pieces = [...b.pieces];
          const next = () => {
            if (res.destroyed) return;
            const piece = pieces.shift();
            if (piece !== undefined) {
              res.write(piece);
              setTimeout(next, b.delayMs ?? 0);
            } else if (!b.hang) {
              res.end();
            }
          };
          next();
          return;
        }
        case 'ok':
          if (req.url === '/v1/models') {
            send(
              200,
              JSON.stringify({ object: 'list', data: [{ id: 'org/chat-model', object: 'model' }] }),
            );
          } else if (req.url === '/v1/embeddings') {
            const asked = JSON.parse(body) as {
              input: string | string[];
              encoding_format?: string;
              dimensions?: number;
            };
            const inputs = typeof asked.input === 'string' ? [asked.input] : asked.input;
            const encode = (v: number[]) => {
              const bytes = Buffer.alloc(v.length * 4);
              v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
              return bytes.toString('base64');
            };
            send(
              200,
              JSON.stringify({
                object: 'list',
                data: inputs.map((_, index) => {
                  const vector = fakeEmbedding(index, asked.dimensions);
                  return {
                    object: 'embedding',
                    index,
                    embedding: asked.encoding_format === 'base64' ? encode(vector) : vector,
                  };
                }),
                model: 'org/embed-model',
                usage: {
                  prompt_tokens: FAKE_TOKENS_PER_INPUT * inputs.length,
                  total_tokens: FAKE_TOKENS_PER_INPUT * inputs.length,
                },
              }),
            );
          } else if (req.url === '/v1/images/generations') {
            const images = b.images ?? [];
            send(
              200,
              JSON.stringify({
                created: 1,
                data: images.map((i) => ({ b64_json: i.toString('base64') })),
              }),
            );
          } else {
            const requested = JSON.parse(body) as { n?: number };
            send(
              200,
              JSON.stringify({
                id: 'upstream-id',
                object: 'chat.completion',
                created: 1,
                model: 'org/chat-model',
                system_fingerprint: 'fp',
                choices: Array.from({ length: requested.n ?? 1 }, (_, index) => ({
                  index,
                  message: { role: 'assistant', content: b.content ?? 'pong' },
                  finish_reason: 'stop',
                })),
                usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
              }),
            );
          }
          return;
      }
    });
  };
  const server: Server = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, handle)
    : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    baseUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    connections: () =>
      new Promise<number>((resolve, reject) =>
        server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      ),
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
