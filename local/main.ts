/**
 * `npm run local`: Ephemera's HTTP contract on https://127.0.0.1:8443 with
 * the real handlers and local stand-ins for the AWS services.
 *
 *   npm run local [-- --port N] [-- --in-memory]
 *
 * Environment: EPHEMERA_UPSTREAM_URL (an OpenAI-compatible server; http://
 * only for loopback hosts; default: the demo model), EPHEMERA_MODELS (the
 * models offered, JSON as the `models` setting; default: what the upstream
 * lists), EPHEMERA_IMAGE_TTL_SECONDS (1-86400, default 3600),
 * EPHEMERA_DATA_DIR (default .ephemera), EPHEMERA_REQUEST_TIMEOUT_SECONDS
 * (2-900, default 300: the upstream deadline and the erasure wait follow
 * from it as deployed), EPHEMERA_ALLOW_INSECURE_TRUST_ALL (true
 * lets the trust store turn certificate checks off), EPHEMERA_DEMO_WORD_DELAY_MS (0-1000,
 * default 25). `--port 0` picks a free port. EPHEMERA_DELETION_PAGE_SIZE
 * (1-1000, default 1000) sets the records the deletion worker erases per page.
 *
 * A bad start prints one line on stderr and exits 1 (a data folder another
 * local mode uses is one); usage errors exit 2. A full disk stops nothing:
 * requests answer 503 until there is room again (see ./storage-guard).
 * Ctrl-C (or SIGTERM) stops every server and exits 0.
 *
 * Started by a parent with an IPC channel (the end-to-end tests), it also
 * reports `ready` with its addresses, answers `heap` (heap use after a
 * forced GC when run with --expose-gc) and `snapshot` (a heap snapshot
 * written to the given file), and stops when the parent goes. Nothing of
 * this is reachable over the network.
 */

import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { nodeVersionNote, quietSdkNodeWarning } from '../bin/node-support';
import { banner } from './banner';
import {
  LocalModeError,
  startLocalMode,
  type LocalMode,
  type LocalModeOptions,
  IMAGE_TTL_RANGE,
} from './local-mode';

const USAGE = 'Usage: npm run local -- [--port N] [--in-memory]';

/** A whole number in a range from the environment; NaN (refused by the checks) when malformed. */
function intEnv(name: string, min: number, max: number): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) fail(`${name} must be a whole number from ${min} to ${max}`, 2);
  return n;
}

function boolEnv(name: string): boolean | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false') fail(`${name} must be true or false`, 2);
  return value === 'true';
}

/** An error's name, and its code when it is a bare identifier (never its message). */
function crashName(err: unknown): string {
  const name = String((err as Error | undefined)?.name ?? 'error').replace(/[^\w.]/g, '');
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)
    ? `${name} (${code})`
    : name;
}

function fail(message: string, code: number): never {
  process.stderr.write(`ephemera local: ${message}\n`);
  process.exit(code);
}

function options(): LocalModeOptions {
  let values: { port?: string; 'in-memory'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        'in-memory': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const env = process.env;
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!/^\d+$/.test(values.port!) || port > 65_535)) {
    fail('--port must be a whole number from 0 to 65535 (0: any free port)', 2);
  }
  const ttl = intEnv('EPHEMERA_IMAGE_TTL_SECONDS', IMAGE_TTL_RANGE.min, IMAGE_TTL_RANGE.max);
  const requestTimeoutSeconds = intEnv('EPHEMERA_REQUEST_TIMEOUT_SECONDS', 2, 900);
  const demoWordDelayMs = intEnv('EPHEMERA_DEMO_WORD_DELAY_MS', 0, 1_000);
  const deletionPageSize = intEnv('EPHEMERA_DELETION_PAGE_SIZE', 1, 1_000);
  const allowInsecureTrustAll = boolEnv('EPHEMERA_ALLOW_INSECURE_TRUST_ALL');
  return {
    ...(port !== undefined ? { port } : {}),
    ...(values['in-memory'] ? { inMemory: true } : {}),
    ...(env.EPHEMERA_DATA_DIR ? { dataDir: env.EPHEMERA_DATA_DIR } : {}),
    ...(env.EPHEMERA_UPSTREAM_URL ? { upstreamUrl: env.EPHEMERA_UPSTREAM_URL } : {}),
    ...(env.EPHEMERA_MODELS ? { modelsJson: env.EPHEMERA_MODELS } : {}),
    ...(ttl !== undefined ? { imageTtlSeconds: ttl } : {}),
    ...(requestTimeoutSeconds !== undefined ? { requestTimeoutSeconds } : {}),
    ...(demoWordDelayMs !== undefined ? { demoWordDelayMs } : {}),
    ...(deletionPageSize !== undefined ? { deletionPageSize } : {}),
    ...(allowInsecureTrustAll !== undefined ? { allowInsecureTrustAll } : {}),
  };
}

async function main(): Promise<void> {
  // A crash must not print a stack or message that could quote a request: its
  // name, and a system error's code (ENOSPC, ECONNRESET...), which cannot.
  process.on('uncaughtException', (err) => fail(`stopped on an unexpected ${crashName(err)}`, 1));
  process.on('unhandledRejection', () => fail('stopped on an unexpected rejection', 1));
  // Before the first AWS SDK client: one line in the banner instead of its Node version warning.
  quietSdkNodeWarning();

  let mode;
  try {
    mode = await startLocalMode(options());
  } catch (err) {
    if (err instanceof LocalModeError) fail(err.message, 1);
    // Nothing has been served yet: the message cannot hold request content.
    fail(`could not start: ${String((err as Error)?.message ?? err).split('\n')[0]}`, 1);
  }
  process.stdout.write(banner(mode, nodeVersionNote()));

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('Stopping local mode...\n');
    mode.stop().then(
      () => process.exit(0),
      () => fail('could not stop cleanly', 1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (process.send) diagnostics(mode, stop);
}

/** The IPC channel of a parent that started local mode (see the top of this file). */
function diagnostics(mode: LocalMode, stop: () => void): void {
  const reply = (message: object) => process.send?.(message);
  const gc = (globalThis as { gc?: () => void }).gc;
  reply({
    type: 'ready',
    url: mode.url,
    caCertPath: mode.caCertPath,
    receiptKeyPath: mode.receiptKeyPath,
    adminKey: mode.adminKey,
    inferenceKey: mode.inferenceKey,
    services: mode.services,
  });
  process.on('message', (message: { type?: string; file?: string }) => {
    if (message?.type === 'heap') {
      // Full collections, with a turn of the event loop between them so that
      // finalizers and weak callbacks run and what they release is collected.
      void (async () => {
        for (let i = 0; i < 3; i++) {
          gc?.();
          await new Promise((r) => setImmediate(r));
        }
        reply({ type: 'heap', heapUsed: process.memoryUsage().heapUsed });
      })();
    } else if (message?.type === 'snapshot' && typeof message.file === 'string') {
      gc?.();
      reply({ type: 'snapshot', file: writeHeapSnapshot(message.file) });
    }
  });
  process.on('disconnect', stop);
}

void main();
