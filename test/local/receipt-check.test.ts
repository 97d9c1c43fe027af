/**
 * The receipt check of docs/local-mode.md, end to end: local mode in its own
 * process (requests may run 2 s, so a deletion job waits 3 s), the banner's
 * `export` lines read by bash as a user's shell reads them, and the
 * documentation's block run as it is written, down to `openssl dgst
 * -verify "$EPHEMERA_RECEIPT_KEY"`. The key file is the signing key's public
 * half from the KMS stand-in, in the data folder; a receipt changed by one
 * byte is refused.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalProcess, type LocalProcess } from '../../local/child-process';

const ROOT = join(__dirname, '..', '..');
const VERIFY = 'openssl dgst -sha256 -verify "$EPHEMERA_RECEIPT_KEY"';

/** The bash block of docs/local-mode.md that checks a receipt. */
function documentedCheck(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'local-mode.md'), 'utf8');
  const blocks = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
  const found = blocks.filter((b) => b.includes(VERIFY));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('local mode: checking a receipt as docs/local-mode.md shows', () => {
  let local: LocalProcess;
  let dataDir: string;
  let work: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ephemera-receipt-data-'));
    work = mkdtempSync(join(tmpdir(), 'ephemera-receipt-check-'));
    local = await startLocalProcess({
      env: { EPHEMERA_DATA_DIR: dataDir, EPHEMERA_REQUEST_TIMEOUT_SECONDS: '2' },
    });
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('prints the key file in the banner, and the documented commands verify the receipt', () => {
    const exports = local
      .output()
      .split('\n')
      .filter((l) => l.startsWith('export '));
    expect(exports.map((l) => l.split('=')[0])).toEqual([
      'export EPHEMERA_URL',
      'export EPHEMERA_CA_CERT',
      'export EPHEMERA_RECEIPT_KEY',
      'export EPHEMERA_ADMIN_KEY',
      'export EPHEMERA_INFERENCE_KEY',
    ]);
    expect(exports).toContain(
      `export EPHEMERA_RECEIPT_KEY=${join(dataDir, 'receipt-signing-key.pem')}`,
    );
    expect(local.receiptKeyPath).toBe(join(dataDir, 'receipt-signing-key.pem'));
    expect(readFileSync(local.receiptKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    const sh = (script: string) =>
      execFileSync('bash', ['-euo', 'pipefail', '-c', `${exports.join('\n')}\n${script}`], {
        cwd: work,
        encoding: 'utf8',
        timeout: 45_000,
      });
    expect(sh(documentedCheck()).trim()).toBe('Verified OK');
    const payload = JSON.parse(readFileSync(join(work, 'receipt-payload.json'), 'utf8'));
    expect(payload).toMatchObject({ records_erased: 1, signing_key: expect.any(String) });

    // One changed byte: refused.
    sh('sed -i \'s/"records_erased":1/"records_erased":2/\' receipt-payload.json');
    const verify = documentedCheck()
      .split('\n')
      .find((l) => l.startsWith(VERIFY))!;
    let refused = '';
    try {
      sh(verify);
    } catch (err) {
      refused = String((err as { stdout?: string }).stdout);
    }
    expect(refused).toContain('Verification failure');
  }, 60_000);
});
