/**
 * No log line of any function can carry anything derived from a customer id
 * (promise P4, P7): the usage table is the one, erasable, place that ties a
 * request to a customer. This test holds every log schema in the tree and
 * fails when a field could hold a customer's keyed hash, or when a logger is
 * created with a schema it does not know.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHmac } from 'node:crypto';
import { ADMIN_LOG_SCHEMA } from '../../../lambda/admin/admin-log';
import { ERASURE_LOG_SCHEMA } from '../../../lambda/deletion-worker/worker';
import { SWEEP_LOG_SCHEMA } from '../../../lambda/image-sweeper/sweep';
import { WEBHOOK_LOG_SCHEMA } from '../../../lambda/receipt-webhook/deliver';
import { checkField, type LogSchema } from '../../../lambda/shared/allowlist-logger';
import {
  createUsageLogger,
  USAGE_LOG_SCHEMA,
  USAGE_SCHEMA,
} from '../../../lambda/shared/usage-record';
import { WATCHDOG_LOG_SCHEMA } from '../../../lambda/watchdog/watchdog';

/** Every schema a logger is created with, by the name the source uses for it. */
const SCHEMAS: Record<string, LogSchema> = {
  USAGE_LOG_SCHEMA,
  ADMIN_LOG_SCHEMA,
  ERASURE_LOG_SCHEMA,
  WEBHOOK_LOG_SCHEMA,
  SWEEP_LOG_SCHEMA,
  WATCHDOG_LOG_SCHEMA,
};

const ROOT = join(__dirname, '..', '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Keyed hashes as the stack writes them (hex of HMAC-SHA256), in either case. */
const hashes = ['alice', 'acct-41', 'x'].flatMap((id) => {
  const hex = createHmac('sha256', 'k').update(`customer:${id}`).digest('hex');
  return [hex, hex.toUpperCase()];
});

describe('log schemas', () => {
  it('every logger in the tree is created with a schema this test holds', () => {
    const calls: string[] = [];
    for (const file of [
      ...sourceFiles(join(ROOT, 'lambda')),
      ...sourceFiles(join(ROOT, 'local')),
    ]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/createAllowlistLogger\(\s*[^,]+,\s*([A-Za-z_]+)/g)) {
        if (relative(ROOT, file) === join('lambda', 'shared', 'allowlist-logger.ts')) continue;
        calls.push(m[1]);
      }
    }
    expect(calls.length).toBeGreaterThanOrEqual(6);
    for (const name of calls) expect(Object.keys(SCHEMAS)).toContain(name);
  });

  it.each(Object.entries(SCHEMAS))('%s has no field that can hold a customer hash', (_, schema) => {
    for (const [field, kind] of Object.entries(schema)) {
      for (const hash of hashes) {
        expect({ field, accepted: checkField(kind, hash) !== undefined }).toEqual({
          field,
          accepted: false,
        });
      }
      // A field about the customer may only say whether there was one.
      if (/customer/i.test(field))
        expect({ field, kind: kind.kind }).toEqual({ field, kind: 'bool' });
    }
  });

  it('the usage table keeps the hash; the usage log line only says a customer was named', () => {
    expect(USAGE_SCHEMA).toHaveProperty('customer_hash');
    expect(USAGE_LOG_SCHEMA).not.toHaveProperty('customer_hash');
    const lines: string[] = [];
    const logger = createUsageLogger((line) => lines.push(line));
    logger.write({ request_id: 'r1', customer_hash: hashes[0], status: 200 });
    logger.write({ request_id: 'r2', status: 200 });
    const [tagged, untagged] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(tagged).toEqual({
      event: 'usage',
      request_id: 'r1',
      status: 200,
      customer_tagged: true,
    });
    expect(untagged).toEqual({
      event: 'usage',
      request_id: 'r2',
      status: 200,
      customer_tagged: false,
    });
    expect(lines.join('\n')).not.toContain(hashes[0]);
  });
});
