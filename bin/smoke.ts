/**
 * `npm run smoke`: Ephemera's promises checked from the outside, against any
 * deployment (or local mode), with nothing but its URL and an admin key.
 *
 *   npm run smoke -- --url https://api.example.com --admin-key eph_... [--ca ca.pem]
 *     [--model M] [--embedding-model M] [--image-model M] [--wait-ttl]
 *     [--receipt-key receipt-key.pem] [--erasure-timeout 900] [--only tls,auth]
 *
 * The admin key may come from EPHEMERA_ADMIN_KEY instead of `--admin-key`
 * (which other users of the machine can see in the process list). The run
 * creates a temporary inference key and a synthetic random customer, and
 * revokes and erases both at the end, also when a check fails or the run is
 * stopped (Ctrl-C). It needs no AWS credentials. One line per check (PASS,
 * FAIL or SKIP, with what was seen), then the clean-up and the duration. No
 * key or secret is ever printed.
 *
 * Exit codes: 0 every check passed or was skipped, 1 a check failed (or the
 * clean-up did), 2 usage error.
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readReceiptKey } from './smoke/checks/erasure';
import { DEFAULT_ERASURE_TIMEOUT_MS } from './smoke/run';
import { CHECKS, runSmoke, selectChecks, type CheckResult, type SmokeReport } from './smoke/runner';
import { createTarget } from './smoke/target';

export const USAGE = `Usage: npm run smoke -- --url https://<endpoint> [options]

  --url URL               the deployment's endpoint, the stack output ApiEndpoint (https://)
  --admin-key KEY         an admin key (or env EPHEMERA_ADMIN_KEY, which ps does not show)
  --ca FILE               PEM bundle of a private CA to trust besides the public ones
  --model ID              the chat model to use (default: found with GET /v1/models)
  --embedding-model ID    the embedding model (default: found; none is a SKIP)
  --image-model ID        the image model for --wait-ttl (default: found)
  --wait-ttl              store an image by URL and wait out its TTL (the image TTL: 1 h by default)
  --receipt-key FILE      the stack's receipt signing public key (PEM) to verify the receipt
  --erasure-timeout N     seconds (or Nm) the erasure may take (default ${DEFAULT_ERASURE_TIMEOUT_MS / 1000})
  --only IDS              only these checks, comma-separated: ${CHECKS.map((c) => c.id).join(', ')}

Creates a temporary inference key and a synthetic customer; revokes and erases both at the end.
Exit codes: 0 passed (or skipped), 1 a check failed, 2 usage error.
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface SmokeCli {
  readonly url: string;
  readonly adminKey: string;
  readonly caFile?: string;
  readonly model?: string;
  readonly embeddingModel?: string;
  readonly imageModel?: string;
  readonly waitTtl: boolean;
  readonly receiptKeyFile?: string;
  readonly erasureTimeoutMs: number;
  readonly only?: string[];
}

const ADMIN_KEY = /^eph_[a-z0-9]{16}_[\w-]{43}$/;
const DURATION = /^(\d{1,6})(s|m)?$/;

/** Parses the arguments after `npm run smoke --`; undefined for `--help`. Throws {@link UsageError}. */
export function parseSmokeArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): SmokeCli | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        url: { type: 'string' },
        'admin-key': { type: 'string' },
        ca: { type: 'string' },
        model: { type: 'string' },
        'embedding-model': { type: 'string' },
        'image-model': { type: 'string' },
        'wait-ttl': { type: 'boolean' },
        'receipt-key': { type: 'string' },
        'erasure-timeout': { type: 'string' },
        only: { type: 'string', multiple: true },
      },
    }));
  } catch (err) {
    // Not `instanceof Error`: node's errors may come from another realm (jest).
    throw new UsageError(String((err as { message?: string }).message ?? err));
  }
  if (values.help) return undefined;
  if (!values.url) throw new UsageError('--url is required');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError('--url is not a URL');
  }
  if (url.protocol !== 'https:') throw new UsageError('--url must be https://');
  let base = url.pathname;
  while (base.endsWith('/')) base = base.slice(0, -1);
  if (url.search || url.hash || url.username || url.password || base.endsWith('/v1')) {
    throw new UsageError(
      '--url is the endpoint (the stack output ApiEndpoint, with its stage path if any), without /v1 or a query',
    );
  }
  const adminKey = values['admin-key'] ?? env.EPHEMERA_ADMIN_KEY;
  if (!adminKey) throw new UsageError('--admin-key or EPHEMERA_ADMIN_KEY is required');
  if (!ADMIN_KEY.test(adminKey)) {
    // Never echoed: it may be a real key with a typo.
    throw new UsageError('the admin key is not of the form eph_<key id>_<secret>');
  }
  let erasureTimeoutMs = DEFAULT_ERASURE_TIMEOUT_MS;
  if (values['erasure-timeout'] !== undefined) {
    const m = DURATION.exec(values['erasure-timeout']);
    if (!m || Number(m[1]) === 0) {
      throw new UsageError('--erasure-timeout is a whole number of seconds (900) or minutes (15m)');
    }
    erasureTimeoutMs = Number(m[1]) * (m[2] === 'm' ? 60_000 : 1_000);
  }
  const only = values.only
    ?.flatMap((o) => o.split(','))
    .map((o) => o.trim())
    .filter(Boolean);
  if (only) {
    try {
      selectChecks(only);
    } catch (err) {
      throw new UsageError(`--only: ${(err as Error).message}`);
    }
  }
  return {
    url: `${url.origin}${base}`,
    adminKey,
    waitTtl: values['wait-ttl'] ?? false,
    erasureTimeoutMs,
    ...(values.ca ? { caFile: values.ca } : {}),
    ...(values.model ? { model: values.model } : {}),
    ...(values['embedding-model'] ? { embeddingModel: values['embedding-model'] } : {}),
    ...(values['image-model'] ? { imageModel: values['image-model'] } : {}),
    ...(values['receipt-key'] ? { receiptKeyFile: values['receipt-key'] } : {}),
    ...(only && only.length > 0 ? { only } : {}),
  };
}

function readFile(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as { code?: string }).code ?? 'cannot be read'}`);
  }
}

export function formatResult(result: CheckResult): string {
  return `${result.status}  ${result.id.padEnd(15)} ${result.detail}`;
}

export function formatSummary(report: SmokeReport): string {
  const count = (status: string) => report.results.filter((r) => r.status === status).length;
  return `${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped in ${(report.durationMs / 1000).toFixed(1)} s`;
}

export interface MainIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let cli: SmokeCli | undefined;
  let caPem: string | undefined;
  let receiptKeyPem: string | undefined;
  try {
    cli = parseSmokeArgs(argv, io.env ?? process.env);
    if (!cli) {
      io.out(USAGE);
      return 0;
    }
    if (cli.caFile) caPem = readFile('--ca', cli.caFile);
    if (cli.receiptKeyFile) {
      receiptKeyPem = readFile('--receipt-key', cli.receiptKeyFile);
      try {
        readReceiptKey(receiptKeyPem);
      } catch (err) {
        throw new UsageError(
          `--receipt-key: ${(err as Error).message.replace(/^--receipt-key /, '')}`,
        );
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ephemera smoke: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  const target = createTarget({
    url: cli.url,
    adminKey: cli.adminKey,
    ...(caPem ? { caPem } : {}),
  });
  io.out(`Ephemera smoke checks against ${cli.url}`);
  const report = await runSmoke(target, {
    ...(cli.model ? { model: cli.model } : {}),
    ...(cli.embeddingModel ? { embeddingModel: cli.embeddingModel } : {}),
    ...(cli.imageModel ? { imageModel: cli.imageModel } : {}),
    waitTtl: cli.waitTtl,
    erasureTimeoutMs: cli.erasureTimeoutMs,
    ...(receiptKeyPem ? { receiptKeyPem } : {}),
    ...(cli.only ? { only: cli.only } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    note: (message) => io.err(`  ... ${message}`),
    onResult: (result) => io.out(formatResult(result)),
  });
  for (const line of report.cleanup) io.out(`cleanup: ${line}`);
  io.out(formatSummary(report));
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('ephemera smoke: stopping; cleaning up (Ctrl-C again to quit at once)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ephemera smoke: stopped on ${(err as Error)?.name ?? 'an error'}\n`);
      process.exitCode = 1;
    },
  );
}
