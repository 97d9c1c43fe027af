/**
 * Promise P1 in memory: request content lives only for the life of one
 * request. After 2,000 requests carrying canaries (chat, streamed chat, images
 * and refused requests) and a forced GC, a heap snapshot of the local-mode
 * process holds none of the canaries, and heap use is back within 10% of its
 * level after the first 100 requests (nothing accumulates per request).
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer, startLocalProcess, type LocalProcess } from '../../local/child-process';

const PREFIX = `EPHMEM${randomBytes(4).toString('hex')}`;
const TOTAL = 2_000;
const WARM_UP = 100;
const CONCURRENCY = 8;

describe('local mode forgets request content (end to end)', () => {
  let local: LocalProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ephemera-mem-'));
    local = await startLocalProcess({
      env: { EPHEMERA_DATA_DIR: join(dir, 'data'), EPHEMERA_DEMO_WORD_DELAY_MS: '0' },
    });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One request of a kind chosen by its number, with canaries in it. */
  async function send(i: number): Promise<number> {
    const c = `${PREFIX}n${i}`;
    const headers = {
      ...bearer(local.inferenceKey),
      'x-ephemera-metadata': `customer_id=cust-${i % 50}`,
      'x-note': c,
    };
    const messages = [
      { role: 'system', content: `system ${c}` },
      { role: 'user', content: `prompt ${c} ${'padding '.repeat(i % 40)}` },
    ];
    let answer;
    switch (i % 5) {
      case 0:
      case 1:
        answer = await local.call(`/v1/chat/completions?q=${c}`, {
          headers,
          body: { model: 'demo-chat', messages, stop: [c] },
        });
        break;
      case 2:
        answer = await local.call('/v1/chat/completions', {
          headers,
          body: { model: 'demo-chat', messages, stream: true },
        });
        break;
      case 3:
        answer = await local.call('/v1/images/generations', {
          headers,
          body: { model: 'demo-image', prompt: `image ${c}`, size: '256x256' },
        });
        break;
      default:
        answer = await local.call('/v1/chat/completions', {
          headers,
          body: { model: 'demo-chat', messages, temperature: 7 },
        });
    }
    return answer.status;
  }

  async function run(from: number, to: number): Promise<number[]> {
    const statuses: number[] = [];
    let next = from;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to) statuses.push(await send(next++));
      }),
    );
    return statuses;
  }

  it('holds no canary and no growth after 2,000 requests', async () => {
    const first = await run(0, WARM_UP);
    const baseline = await local.heapUsed();
    const rest = await run(WARM_UP, TOTAL);
    const statuses = [...first, ...rest];
    expect(statuses).toHaveLength(TOTAL);
    expect(statuses.filter((s) => s === 200)).toHaveLength((TOTAL / 5) * 4);
    expect(statuses.filter((s) => s === 400)).toHaveLength(TOTAL / 5);

    // Idle keep-alive sockets are closed after 5 s; their buffers go with them.
    await new Promise((r) => setTimeout(r, 5_500));
    const after = await local.heapUsed();
    expect(after).toBeLessThanOrEqual(baseline * 1.1);

    const file = await local.snapshot(join(dir, 'server.heapsnapshot'));
    const snapshot = readFileSync(file);
    expect(snapshot.length).toBeGreaterThan(1_000_000);
    expect(snapshot.includes(PREFIX)).toBe(false);
    // The snapshot does hold strings of this run (proof that it is searchable).
    expect(snapshot.includes('demo-chat')).toBe(true);
    expect(local.output()).not.toContain(PREFIX);
    process.stdout.write(
      `heap after ${WARM_UP} requests: ${(baseline / 1e6).toFixed(1)} MB; after ${TOTAL}: ${(after / 1e6).toFixed(1)} MB\n`,
    );
  }, 240_000);
});
