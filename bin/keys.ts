/**
 * Operator CLI for API keys (promise P8), for bootstrapping the first admin key
 * and for break-glass use; day-to-day management goes through `/v1/keys`.
 * The package ships it as `ephemera-keys` (dist/bin/keys.js, one bundle with
 * the AWS SDK clients it uses, built by bin/build-package.ts); in this
 * repository it is `npm run keys --`.
 *
 *   ephemera-keys create --name ops --scope admin [--scope inference] [--expires-in-days 90]
 *   ephemera-keys rotate <id> [--grace-seconds 86400]
 *   ephemera-keys revoke <id>
 *   ephemera-keys list
 *
 * Target: `--table` / `--hmac-key` (or `--hmac-key-id`), else env
 * KEY_TABLE_NAME / HMAC_KEY_ID, else the CloudFormation outputs `KeyTableName`
 * and `HmacKeyId` of `--stack` (default `Ephemera`; `addApiKeyOutputs` adds
 * them to a stack of your own). `--region` overrides the SDK's default
 * region; the SDK's own settings (credentials, `AWS_ENDPOINT_URL_DYNAMODB`,
 * `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL_CLOUDFORMATION`) apply.
 *
 * A new or rotated key is printed once on stdout as `EPHEMERA_KEY=eph_...`;
 * everything else goes to stderr. Exit codes: 0 done, 1 failed, 2 usage error.
 */

import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { createKmsHasher } from '../lib/core/keyed-hash';
import { HMAC_KEY_OUTPUT, KEY_TABLE_OUTPUT } from '../lib/core/stack-outputs';
import { replaceSdkNodeWarning } from './node-support';
import {
  KeyStateError,
  KeyStore,
  KeyStoreInputError,
  KeyStoreUnavailableError,
  SCOPES,
  type Scope,
} from '../lib/core/key-store';

export const DEFAULT_STACK = 'Ephemera';

export const USAGE = `Usage: ephemera-keys <command> [options]
       (in the Ephemera repository: npm run keys -- <command> [options])

Commands:
  create --name NAME --scope SCOPE [--scope SCOPE] [--expires-in-days N]
                                 create a key; prints EPHEMERA_KEY=eph_... once
                                 SCOPE: inference or admin (repeat or comma-separate)
                                 N: 1-365, default 90
  rotate ID [--grace-seconds N]  new secret; the old one works for N s (0-604800, default 86400)
  revoke ID                      revoke at once
  list                           list keys (no secrets)

Target (first found wins):
  --table NAME --hmac-key KEY    key table and KMS HMAC key (id or ARN; --hmac-key-id also works)
  env KEY_TABLE_NAME, HMAC_KEY_ID
  --stack NAME                   outputs ${KEY_TABLE_OUTPUT} and ${HMAC_KEY_OUTPUT} of this stack (default ${DEFAULT_STACK})
  --region REGION                AWS region (default: the SDK's, e.g. AWS_REGION)
`;

/** A mistake in the command line (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type KeysCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'create';
      readonly name: string;
      readonly scopes: Scope[];
      readonly expiresInDays?: number;
    }
  | { readonly kind: 'rotate'; readonly id: string; readonly graceSeconds?: number }
  | { readonly kind: 'revoke'; readonly id: string }
  | { readonly kind: 'list' };

export interface TargetOptions {
  readonly table?: string;
  readonly hmacKeyId?: string;
  readonly stack?: string;
  readonly region?: string;
}

export interface ParsedCli {
  readonly command: KeysCommand;
  readonly target: TargetOptions;
}

const COMMAND_OPTIONS: Record<Exclude<KeysCommand['kind'], 'help'>, readonly string[]> = {
  create: ['name', 'scope', 'expires-in-days'],
  rotate: ['grace-seconds'],
  revoke: [],
  list: [],
};

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${flag} must be a whole number`);
  return Number(value);
}

function oneId(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one key id`);
  return positionals[0];
}

/** Parses the arguments after `npm run keys --`. Throws `UsageError`. */
export function parseCliArgs(argv: readonly string[]): ParsedCli {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        scope: { type: 'string', multiple: true },
        'expires-in-days': { type: 'string' },
        'grace-seconds': { type: 'string' },
        table: { type: 'string' },
        'hmac-key': { type: 'string' },
        'hmac-key-id': { type: 'string' },
        stack: { type: 'string' },
        region: { type: 'string' },
      },
    });
  } catch (err) {
    // Not `instanceof Error`: node's errors may come from another realm (jest).
    const raw = (err as { message?: unknown } | null)?.message;
    const message = typeof raw === 'string' ? raw.split('\n')[0] : 'invalid arguments';
    throw new UsageError(message);
  }
  const { values, positionals } = parsed;
  const hmacKey = values['hmac-key'];
  const hmacKeyId = values['hmac-key-id'];
  if (hmacKey !== undefined && hmacKeyId !== undefined && hmacKey !== hmacKeyId) {
    throw new UsageError('--hmac-key and --hmac-key-id name the same key: give one');
  }
  const target: TargetOptions = {
    table: values.table,
    hmacKeyId: hmacKey ?? hmacKeyId,
    stack: values.stack,
    region: values.region,
  };
  const [verb, ...rest] = positionals;
  if (values.help || verb === 'help') return { command: { kind: 'help' }, target };
  if (verb === undefined) throw new UsageError('missing command (create, rotate, revoke or list)');
  if (!Object.prototype.hasOwnProperty.call(COMMAND_OPTIONS, verb)) {
    throw new UsageError(`unknown command '${verb}' (create, rotate, revoke or list)`);
  }
  const kind = verb as keyof typeof COMMAND_OPTIONS;
  for (const option of ['name', 'scope', 'expires-in-days', 'grace-seconds'] as const) {
    if (values[option] !== undefined && !COMMAND_OPTIONS[kind].includes(option)) {
      throw new UsageError(`--${option} does not apply to ${kind}`);
    }
  }

  switch (kind) {
    case 'create': {
      if (rest.length > 0) throw new UsageError('create takes no positional arguments');
      if (values.name === undefined) throw new UsageError('create needs --name');
      const scopes = (values.scope ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
      if (scopes.length === 0)
        throw new UsageError('create needs --scope inference or --scope admin');
      for (const s of scopes) {
        if (!(SCOPES as readonly string[]).includes(s)) {
          throw new UsageError(`--scope must be inference or admin, got '${s}'`);
        }
      }
      const expiresInDays = wholeNumber('expires-in-days', values['expires-in-days']);
      return {
        command: {
          kind,
          name: values.name,
          scopes: [...new Set(scopes)] as Scope[],
          ...(expiresInDays === undefined ? {} : { expiresInDays }),
        },
        target,
      };
    }
    case 'rotate': {
      const id = oneId('rotate', rest);
      const graceSeconds = wholeNumber('grace-seconds', values['grace-seconds']);
      return {
        command: { kind, id, ...(graceSeconds === undefined ? {} : { graceSeconds }) },
        target,
      };
    }
    case 'revoke':
      return { command: { kind, id: oneId('revoke', rest) }, target };
    case 'list':
      if (rest.length > 0) throw new UsageError('list takes no positional arguments');
      return { command: { kind }, target };
  }
}

/** What the commands need from the key store (a `KeyStore`, or a fake in tests). */
export type KeysStore = Pick<KeyStore, 'create' | 'rotate' | 'revoke' | 'list'>;

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs one command against a store. Returns the exit code; throws for store errors. */
export async function runCommand(command: KeysCommand, store: KeysStore, io: Io): Promise<number> {
  switch (command.kind) {
    case 'help':
      io.out(USAGE);
      return 0;
    case 'create': {
      const created = await store.create({
        name: command.name,
        scopes: command.scopes,
        expiresInDays: command.expiresInDays,
      });
      io.out(`EPHEMERA_KEY=${created.key}`);
      io.err(
        `Created API key ${created.id} (name '${created.name}', scopes ${created.scopes.join(',')}, expires ${created.expires_at}).`,
      );
      io.err('The key above is shown only this once; store it now.');
      return 0;
    }
    case 'rotate': {
      const rotated = await store.rotate(command.id, command.graceSeconds);
      io.out(`EPHEMERA_KEY=${rotated.key}`);
      io.err(
        `Rotated API key ${rotated.id}: the previous secret is accepted until ${rotated.previous_valid_until}; the key expires ${rotated.expires_at}.`,
      );
      io.err('The key above is shown only this once; store it now.');
      return 0;
    }
    case 'revoke': {
      if (await store.revoke(command.id)) {
        io.err(`Revoked API key ${command.id}.`);
        return 0;
      }
      io.err(`No API key ${command.id}.`);
      return 1;
    }
    case 'list': {
      io.out(['id', 'name', 'scopes', 'created_at', 'expires_at', 'revoked_at'].join('\t'));
      let cursor: string | undefined;
      let count = 0;
      do {
        const page = await store.list({ limit: 100, cursor });
        for (const k of page.data) {
          io.out(
            [
              k.id,
              k.name,
              k.scopes.join(','),
              k.created_at,
              k.expires_at,
              k.revoked_at ?? '-',
            ].join('\t'),
          );
          count++;
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor !== undefined);
      io.err(`${count} key(s).`);
      return 0;
    }
  }
}

export interface ResolvedTarget {
  readonly tableName: string;
  readonly hmacKeyId: string;
  readonly region?: string;
}

export type StackOutputsReader = (
  stack: string,
  region: string | undefined,
) => Promise<Record<string, string>>;

/** Flags, then environment, then the stack's outputs (read only if something is still missing). */
export async function resolveTarget(
  target: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
  readStackOutputs: StackOutputsReader,
): Promise<ResolvedTarget> {
  let tableName = target.table || env.KEY_TABLE_NAME || undefined;
  let hmacKeyId = target.hmacKeyId || env.HMAC_KEY_ID || undefined;
  if (tableName === undefined || hmacKeyId === undefined) {
    const stack = target.stack ?? DEFAULT_STACK;
    const outputs = await readStackOutputs(stack, target.region);
    tableName ??= outputs[KEY_TABLE_OUTPUT];
    hmacKeyId ??= outputs[HMAC_KEY_OUTPUT];
    if (!tableName || !hmacKeyId) {
      throw new UsageError(
        `stack ${stack} has no ${KEY_TABLE_OUTPUT} and ${HMAC_KEY_OUTPUT} outputs; pass --table and --hmac-key`,
      );
    }
  }
  return { tableName, hmacKeyId, ...(target.region ? { region: target.region } : {}) };
}

/** The parts of `@aws-sdk/client-cloudformation` the CLI uses. */
export interface CloudFormationModule {
  CloudFormationClient: new (config: { region?: string }) => {
    send(command: unknown): Promise<{
      Stacks?: Array<{ Outputs?: Array<{ OutputKey?: string; OutputValue?: string }> }>;
    }>;
  };
  DescribeStacksCommand: new (input: { StackName: string }) => unknown;
}

/**
 * Loaded only for `--stack`. The packaged CLI bundles it (the import below
 * names it literally); elsewhere, without it, the target must come from flags
 * or the environment.
 */
const CLOUDFORMATION_MODULE = '@aws-sdk/client-cloudformation';

/** Reads a stack's outputs with DescribeStacks (`cloudformation:DescribeStacks`). */
export function createStackOutputsReader(
  load: () => Promise<CloudFormationModule>,
): StackOutputsReader {
  return async (stack, region) => {
    let cfn: CloudFormationModule;
    try {
      cfn = await load();
    } catch {
      throw new UsageError(
        `cannot read stack ${stack} outputs: ${CLOUDFORMATION_MODULE} is not installed; ` +
          'pass --table and --hmac-key (or set KEY_TABLE_NAME and HMAC_KEY_ID)',
      );
    }
    const client = new cfn.CloudFormationClient(region ? { region } : {});
    const out = await client.send(new cfn.DescribeStacksCommand({ StackName: stack }));
    const outputs: Record<string, string> = {};
    for (const o of out.Stacks?.[0]?.Outputs ?? []) {
      if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
    }
    return outputs;
  };
}

export const readCloudFormationOutputs = createStackOutputsReader(
  async () => (await import('@aws-sdk/client-cloudformation')) as CloudFormationModule,
);

/** Builds a real `KeyStore` for a resolved target. */
export function createAwsKeyStore(target: ResolvedTarget): KeysStore {
  const config = target.region ? { region: target.region } : {};
  const kms = new KMSClient(config);
  return new KeyStore({
    ddb: new DynamoDBClient(config),
    tableName: target.tableName,
    hasher: createKmsHasher({ kms, keyId: target.hmacKeyId }),
  });
}

export interface MainDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly io: Io;
  readonly readStackOutputs: StackOutputsReader;
  readonly createStore: (target: ResolvedTarget) => KeysStore;
}

/** Parses, resolves the target, runs the command and maps errors to exit codes. */
export async function main(argv: readonly string[], deps: MainDeps): Promise<number> {
  const { io } = deps;
  try {
    const { command, target } = parseCliArgs(argv);
    if (command.kind === 'help') {
      io.out(USAGE);
      return 0;
    }
    const resolved = await resolveTarget(target, deps.env, deps.readStackOutputs);
    return await runCommand(command, deps.createStore(resolved), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err(USAGE);
      return 2;
    }
    if (err instanceof KeyStoreInputError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof KeyStateError) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    if (err instanceof KeyStoreUnavailableError) {
      io.err(`error: ${err.message}${err.errorName ? ` (${err.errorName})` : ''}`);
      return 1;
    }
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    io.err(`error: ${name}: ${message}`);
    return 1;
  }
}

if (require.main === module) {
  // Node < 22: this one line on stderr instead of the AWS SDK's seven-line warning.
  replaceSdkNodeWarning((line) => process.stderr.write(`${line}\n`));
  void main(process.argv.slice(2), {
    env: process.env,
    io: {
      out: (line) => process.stdout.write(line + '\n'),
      err: (line) => process.stderr.write(line + '\n'),
    },
    readStackOutputs: readCloudFormationOutputs,
    createStore: createAwsKeyStore,
  }).then((code) => {
    process.exitCode = code;
  });
}
