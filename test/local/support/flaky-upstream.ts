/**
 * An OpenAI-compatible upstream for the end-to-end tests: the demo model,
 * except for two upstream model ids: `fail-chat` answers 500 with a body that
 * quotes the request (which the gateway must never read), and `slow-chat`
 * never answers (the gateway's deadline must end the call).
 */

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDemoModel } from '../../../local/demo-model';

export interface FlakyUpstream {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

export async function startFlakyUpstream(): Promise<FlakyUpstream> {
  const demo = await startDemoModel({ wordDelayMs: 5 });
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const model = body ? (JSON.parse(body) as { model?: string }).model : undefined;
        if (model === 'fail-chat') {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `cannot answer: ${body}` } }));
          return;
        }
        if (model === 'slow-chat') {
          hanging.add(res);
          return;
        }
        const answer = await fetch(`${demo.baseUrl}${req.url}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(body ? { body } : {}),
        });
        res.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/json',
        });
        for await (const piece of answer.body ?? []) res.write(piece);
        res.end();
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await demo.stop();
    },
  };
}
