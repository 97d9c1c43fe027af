/**
 * bench/local: load on local mode over loopback HTTPS with autocannon.
 *
 *   npm run bench:local [-- --duration 30 --connections 10 --baseline 10]
 *
 * Local mode runs in its own process (in memory, demo model), as
 * `npm run local -- --in-memory` runs it. In one run:
 * - baseline: `GET /healthz` (TLS, front door, no key check, no upstream, no
 *   record) for `--baseline` seconds;
 * - chat: `POST /v1/chat/completions` with the demo model (key check, header
 *   parsing, validation, the upstream call over loopback, a usage record in
 *   dynalite and a log line) for `--duration` seconds.
 * A 3-second warm-up of each comes first and is not counted. Prints requests
 * per second, latency p50/p99, errors and non-2xx answers for both, and the
 * ratio of chat to baseline. Goal: zero errors.
 *
 * autocannon does not check certificates (it connects with
 * rejectUnauthorized: false); the server is local mode's own on 127.0.0.1.
 */

import { parseArgs } from 'node:util';
import { startLocalProcess } from '../../local/child-process';

// autocannon ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<Result>;

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    baseline: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
  },
});
const duration = Number(values.duration);
const baselineSeconds = Number(values.baseline);
const connections = Number(values.connections);

async function main(): Promise<void> {
  const local = await startLocalProcess({ args: ['--in-memory'] });
  try {
    const chat = {
      method: 'POST',
      headers: {
        authorization: `Bearer ${local.inferenceKey}`,
        'content-type': 'application/json',
        'x-ephemera-metadata': 'customer_id=bench',
      },
      body: JSON.stringify({
        model: 'demo-chat',
        messages: [{ role: 'user', content: 'How fast is local mode?' }],
        max_tokens: 64,
      }),
    };
    const load = (path: string, seconds: number, extra: object = {}) =>
      autocannon({ url: `${local.url}${path}`, connections, duration: seconds, ...extra });

    await load('/healthz', 3);
    const baseline = await load('/healthz', baselineSeconds);
    await load('/v1/chat/completions', 3, chat);
    const measured = await load('/v1/chat/completions', duration, chat);

    const row = (name: string, r: Result, seconds: number) =>
      `${name.padEnd(26)} ${String(seconds).padStart(4)} s ${r.requests.average.toFixed(0).padStart(8)} req/s ` +
      `p50 ${String(r.latency.p50).padStart(4)} ms  p99 ${String(r.latency.p99).padStart(4)} ms  ` +
      `${r.requests.total} requests, ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`;
    process.stdout.write(`bench/local: ${connections} connections over loopback HTTPS\n`);
    process.stdout.write(`${row('GET /healthz (baseline)', baseline, baselineSeconds)}\n`);
    process.stdout.write(`${row('POST /v1/chat/completions', measured, duration)}\n`);
    const p50Ratio =
      baseline.latency.p50 > 0
        ? `${(measured.latency.p50 / baseline.latency.p50).toFixed(1)}x p50 latency`
        : 'baseline p50 under 1 ms';
    process.stdout.write(
      `chat / baseline: ${(measured.requests.average / baseline.requests.average).toFixed(3)}x throughput, ${p50Ratio}\n`,
    );
    const failures = measured.errors + measured.timeouts + measured.non2xx;
    process.stdout.write(failures === 0 ? 'zero errors\n' : `${failures} failed requests\n`);
    if (failures > 0) process.exitCode = 1;
  } finally {
    await local.stop();
  }
}

void main();
