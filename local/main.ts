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
 * EPHEMERA_DATA_DIR (default .ephemera).
 *
 * A bad start prints one line on stderr and exits 1; usage errors exit 2.
 * Ctrl-C (or SIGTERM) stops every server and exits 0.
 */

import { parseArgs } from 'node:util';
import { banner } from './banner';
import { LocalModeError, startLocalMode, type LocalModeOptions } from './local-mode';

const USAGE = 'Usage: npm run local -- [--port N] [--in-memory]';

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
  if (port !== undefined && (!/^\d+$/.test(values.port!) || port < 1 || port > 65_535)) {
    fail('--port must be a whole number from 1 to 65535', 2);
  }
  const ttl = env.EPHEMERA_IMAGE_TTL_SECONDS;
  return {
    ...(port !== undefined ? { port } : {}),
    ...(values['in-memory'] ? { inMemory: true } : {}),
    ...(env.EPHEMERA_DATA_DIR ? { dataDir: env.EPHEMERA_DATA_DIR } : {}),
    ...(env.EPHEMERA_UPSTREAM_URL ? { upstreamUrl: env.EPHEMERA_UPSTREAM_URL } : {}),
    ...(env.EPHEMERA_MODELS ? { modelsJson: env.EPHEMERA_MODELS } : {}),
    ...(ttl ? { imageTtlSeconds: /^\d+$/.test(ttl) ? Number(ttl) : Number.NaN } : {}),
  };
}

async function main(): Promise<void> {
  // A crash must not print a stack or message that could quote a request.
  process.on('uncaughtException', (err) => fail(`stopped on an unexpected ${err.name}`, 1));
  process.on('unhandledRejection', () => fail('stopped on an unexpected rejection', 1));

  let mode;
  try {
    mode = await startLocalMode(options());
  } catch (err) {
    if (err instanceof LocalModeError) fail(err.message, 1);
    // Nothing has been served yet: the message cannot hold request content.
    fail(`could not start: ${String((err as Error)?.message ?? err).split('\n')[0]}`, 1);
  }
  process.stdout.write(banner(mode));

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
}

void main();
