/**
 * A receipt names every store erasure cannot reach, with its retention
 * (promise P7). This test ties three things together: the table "What
 * erasure does not reach" in docs/security.md, the deletion worker's
 * `RECEIPT_EXCLUDES` in the synthesized template of each front-door and
 * access-log configuration, and the receipt the worker signs from it.
 */

import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { parseWorkerConfig } from '../../lambda/deletion-worker/config';
import { EphemeraStack } from '../../lib/ephemera-stack';
import { cdkJsonContext, testApp } from '../support/ephemera-app';

interface Row {
  readonly store: string;
  /** The configuration the store exists with; empty for "always". */
  readonly onlyWith: Record<string, string>;
  /** Days, or the name of the configuration key that sets them. */
  readonly retention: string;
}

function readRows(): Row[] {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
  const block = doc
    .split('<!-- receipt-excludes:begin -->')[1]
    ?.split('<!-- receipt-excludes:end -->')[0];
  if (!block) throw new Error('docs/security.md has no receipt-excludes table between its markers');
  return block
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map(([, store, , exists, retention]) => ({
      store: store.replace(/`/g, ''),
      onlyWith: Object.fromEntries(
        [...exists.matchAll(/`(\w+): ([^`]+)`/g)].map((m) => [m[1], m[2]]),
      ),
      retention: /^\d+/.exec(retention)?.[0] ?? retention.replace(/`/g, ''),
    }));
}

const VARIANTS: Record<string, Record<string, string>> = {
  'the default configuration': {},
  'an ALB with access logs': {
    frontDoorKind: 'alb',
    accessLogs: 'true',
    accessLogRetentionDays: '7',
  },
  'API Gateway with access logs': {
    frontDoorKind: 'api-gateway',
    accessLogs: 'true',
    accessLogRetentionDays: '14',
  },
  'API Gateway without access logs': { frontDoorKind: 'api-gateway' },
};

/** The worker's environment in a synthesized configuration. */
function workerEnvironment(context: Record<string, string>): Record<string, string> {
  const app = testApp({ context });
  const stack = new EphemeraStack(app, 'Ephemera', { env: { region: 'eu-west-1' } });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const worker = Object.values(functions).find(
    (f) => f.Properties?.Environment?.Variables?.RECEIPT_EXCLUDES !== undefined,
  );
  if (!worker) throw new Error('no function has RECEIPT_EXCLUDES');
  return worker.Properties.Environment.Variables as Record<string, string>;
}

describe('what a receipt says erasure does not reach', () => {
  const rows = readRows();

  it('the docs table names the stores receipts use', () => {
    expect(rows.map((r) => r.store)).toEqual([
      'usage-table-point-in-time-recovery',
      'load-balancer-access-logs',
      'api-gateway-access-logs',
    ]);
  });

  it.each(Object.entries(VARIANTS))(
    '%s: the worker names exactly the stores the docs table says exist, with their retention',
    (_name, context) => {
      const env = workerEnvironment(context);
      const defaults = cdkJsonContext();
      const settings: Record<string, string> = {
        frontDoorKind: String(defaults.frontDoorKind),
        accessLogs: String(defaults.accessLogs),
        ...context,
      };
      // Strings for the template's tokens the worker's parser does not read.
      const config = parseWorkerConfig({
        USAGE_TABLE_NAME: 'usage',
        DELETION_TABLE_NAME: 'deletions',
        IMAGE_BUCKET_NAME: 'images-bucket',
        SIGNING_KEY_ID:
          'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        DELETION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111111111111/q',
        RECEIPT_EXCLUDES: env.RECEIPT_EXCLUDES,
      });
      const expected = rows
        .filter((r) => Object.entries(r.onlyWith).every(([key, value]) => settings[key] === value))
        .map((r) => ({
          store: r.store,
          retentionDays: /^\d+$/.test(r.retention)
            ? Number(r.retention)
            : Number(context[r.retention] ?? NaN),
        }));
      expect(config.excludes).toEqual(expected);
      // Never an empty list: point-in-time recovery always exists.
      expect(config.excludes.length).toBeGreaterThan(0);
    },
  );
});
