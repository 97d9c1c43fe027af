/**
 * The banner's settings are shell commands: `export NAME=value`, one a line,
 * a value quoted when the shell would split or expand it, so that pasting
 * them, or `eval "$(grep '^export ' local.log)"` as docs/local-mode.md shows,
 * sets exactly the values local mode uses. Keys only on the first start.
 */

import { execFileSync } from 'node:child_process';
import { banner } from '../../local/banner';
import type { LocalMode } from '../../local/local-mode';

function mode(overrides: Partial<LocalMode> = {}): LocalMode {
  return {
    url: 'https://127.0.0.1:8443',
    port: 8443,
    caCertPath: '/home/me/project/.ephemera/tls/ca.pem',
    receiptKeyPath: '/home/me/project/.ephemera/receipt-signing-key.pem',
    dataDir: '/home/me/project/.ephemera',
    adminKey: 'eph_adminid_AbC-12_x',
    inferenceKey: 'eph_inferenceid_Zy-9_8',
    demo: true,
    models: [{ id: 'demo-chat', upstreamId: 'demo-chat', kind: 'chat' }],
    imageTtlSeconds: 3600,
    services: {} as LocalMode['services'],
    stop: async () => undefined,
    ...overrides,
  } as LocalMode;
}

const exportsOf = (text: string) => text.split('\n').filter((l) => l.startsWith('export '));

/** What bash has for the names after eval-ing the export lines of `text`. */
function evaluated(text: string, names: string[]): string[] {
  const script = `eval "$(grep '^export ' <<'BANNER'\n${text}BANNER\n)"; printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`;
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);
}

describe('the banner', () => {
  it('prints export lines for the URL, the CA, the receipt key and, on the first start, the keys', () => {
    expect(exportsOf(banner(mode()))).toEqual([
      'export EPHEMERA_URL=https://127.0.0.1:8443',
      'export EPHEMERA_CA_CERT=/home/me/project/.ephemera/tls/ca.pem',
      'export EPHEMERA_RECEIPT_KEY=/home/me/project/.ephemera/receipt-signing-key.pem',
      'export EPHEMERA_ADMIN_KEY=eph_adminid_AbC-12_x',
      'export EPHEMERA_INFERENCE_KEY=eph_inferenceid_Zy-9_8',
    ]);
    const later = banner(mode({ adminKey: undefined, inferenceKey: undefined }));
    expect(exportsOf(later).map((l) => l.split('=')[0])).toEqual([
      'export EPHEMERA_URL',
      'export EPHEMERA_CA_CERT',
      'export EPHEMERA_RECEIPT_KEY',
    ]);
    expect(later).toContain('printed on the first start');
  });

  it('gives the shell exactly the values, spaces, quotes and dollars included', () => {
    const odd = mode({
      caCertPath: "/home/me/my project/it's $HOME/tls/ca.pem",
      receiptKeyPath: '/home/me/my project/a`b`/receipt-signing-key.pem',
    });
    const names = [
      'EPHEMERA_URL',
      'EPHEMERA_CA_CERT',
      'EPHEMERA_RECEIPT_KEY',
      'EPHEMERA_ADMIN_KEY',
      'EPHEMERA_INFERENCE_KEY',
    ];
    expect(evaluated(banner(odd), names)).toEqual([
      odd.url,
      odd.caCertPath,
      odd.receiptKeyPath,
      odd.adminKey,
      odd.inferenceKey,
    ]);
    // Plain values stay unquoted, for reading.
    expect(banner(mode())).toContain('\nexport EPHEMERA_URL=https://127.0.0.1:8443\n');
  });
});
