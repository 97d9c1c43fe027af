/**
 * Local mode's front door keeps the deployed deadlines, all from the request
 * timeout (here 3 s), against local mode in its own process over raw TLS:
 *
 * - a client that sends a streamed chat request and never reads its answer
 *   is cut at the deadline: the handler ends then (its usage line says so),
 *   and the connection closes without the stream's last chunk. Without the
 *   cut, the handler waits on the stalled connection for as long as the
 *   client likes, and finishes the stream when the client reads again;
 * - a body that trickles in is cut at the same deadline with a 408 and the
 *   connection closed (Node's default would hold it 300 s).
 *
 * The upstream is a fire hose: it streams large chunks until it is stopped,
 * so the answer is far larger than the sockets' buffers.
 */

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { startLocalProcess, type LocalProcess } from '../../local/child-process';

const TIMEOUT_SECONDS = 3;
const PIECE = 'x'.repeat(16 * 1024);

/** An OpenAI-compatible upstream whose streamed answers never end (until the gateway stops reading). */
function fireHose(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'firehose', object: 'model' }] }));
      return;
    }
    req.resume();
    req.on('end', () => void pour(res));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function pour(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta: object) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'firehose',
      choices: [{ index: 0, delta, finish_reason: null }],
    })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }));
  while (!res.destroyed) {
    if (!res.write(chunk({ content: PIECE }))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.on('drain', done).on('close', done);
      });
    }
  }
}

/** A TLS connection to local mode that trusts its CA. */
function open(local: LocalProcess): Promise<TLSSocket> {
  const { hostname, port } = new URL(local.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca: local.ca }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('local mode: the front door keeps the deadlines', () => {
  let upstream: Server;
  let local: LocalProcess;

  beforeAll(async () => {
    upstream = await fireHose();
    local = await startLocalProcess({
      args: ['--in-memory'],
      env: {
        EPHEMERA_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        EPHEMERA_REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('cuts a streamed answer whose client stopped reading at the request deadline', async () => {
    const socket = await open(local);
    const body = JSON.stringify({
      model: 'firehose',
      stream: true,
      messages: [{ role: 'user', content: 'Hello' }],
    });
    socket.write(
      [
        'POST /v1/chat/completions HTTP/1.1',
        `Host: ${new URL(local.url).host}`,
        `Authorization: Bearer ${local.inferenceKey}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
    // It never reads: what arrives stays in the socket buffers, then the server's writes wait.
    socket.pause();
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.on('error', () => undefined);
    await sleep((TIMEOUT_SECONDS + 3) * 1000);

    // The handler ended at the deadline, not when the client came back.
    const usage = local
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"chat_completions"'))
      .map((l) => JSON.parse(l) as { latency_ms: number; stream?: boolean });
    expect(usage).toHaveLength(1);
    expect(usage[0].latency_ms).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 100);
    expect(usage[0].latency_ms).toBeLessThan((TIMEOUT_SECONDS + 2) * 1000);

    // Reading again: what was buffered, then the end of a cut connection, and no last chunk.
    const tail: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      tail.push(d);
      if (tail.length > 4) tail.shift();
    });
    socket.resume();
    const deadline = Date.now() + 3_000;
    while (!closed && Date.now() < deadline) await sleep(50);
    expect(closed).toBe(true);
    const end = Buffer.concat(tail).toString('latin1');
    expect(end.startsWith('HTTP/1.1')).toBe(false); // the stream's data, not a new answer
    expect(end.endsWith('0\r\n\r\n')).toBe(false);
    socket.destroy();
  }, 30_000);

  it('cuts a body that trickles in at the deadline, with a 408', async () => {
    const socket = await open(local);
    const started = Date.now();
    let answer = '';
    let closedAfter = 0;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.once('close', () => (closedAfter = Date.now() - started));
    socket.on('error', () => undefined);
    socket.write(
      [
        'POST /v1/chat/completions HTTP/1.1',
        `Host: ${new URL(local.url).host}`,
        `Authorization: Bearer ${local.inferenceKey}`,
        'Content-Type: application/json',
        'Content-Length: 1000',
        '',
        '{',
      ].join('\r\n'),
    );
    // A byte every 250 ms: the whole body would take over 4 minutes.
    while (!closedAfter && Date.now() - started < (TIMEOUT_SECONDS + 6) * 1000) {
      if (!socket.destroyed) socket.write(' ');
      await sleep(250);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfter).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 100);
    // The server checks its connections every second.
    expect(closedAfter).toBeLessThan((TIMEOUT_SECONDS + 2.5) * 1000);
    socket.destroy();
  }, 30_000);
});
