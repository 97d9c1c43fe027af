/**
 * Runs a client-check script (`./client-checks.ts`, `./breadth-checks.ts`)
 * as a user runs a client: its own Node process, trusting local mode's CA
 * through NODE_EXTRA_CA_CERTS, with EPHEMERA_URL and EPHEMERA_INFERENCE_KEY
 * set. The script prints what it saw as its last line of JSON, returned here.
 */

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalProcess } from '../../../local/child-process';

const ROOT = join(__dirname, '..', '..', '..');

export async function runClientChecks(
  local: LocalProcess,
  script: string,
  env: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<any> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join('test', 'local', 'support', script)],
    {
      cwd: ROOT,
      timeout: 90_000,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NODE_EXTRA_CA_CERTS: local.caCertPath,
        EPHEMERA_URL: local.url,
        EPHEMERA_INFERENCE_KEY: local.inferenceKey,
        ...env,
      },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}
