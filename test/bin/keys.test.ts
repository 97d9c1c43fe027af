import {
  createAwsKeyStore,
  DEFAULT_STACK,
  main,
  createStackOutputsReader,
  parseCliArgs,
  resolveTarget,
  runCommand,
  UsageError,
  USAGE,
  type CloudFormationModule,
  type KeysStore,
  type MainDeps,
  type ResolvedTarget,
} from '../../bin/keys';
import {
  KeyStore,
  KeyStateError,
  KeyStoreInputError,
  KeyStoreUnavailableError,
} from '../../lib/core/key-store';

const ID = 'abcdefghij012345';
const KEY = `eph_${ID}_${'A'.repeat(43)}`;

function fakeStore(overrides: Partial<KeysStore> = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const store: KeysStore = {
    create: async (input) => {
      calls.push(['create', input]);
      return {
        id: ID,
        key: KEY,
        name: input.name,
        scopes: input.scopes,
        expires_at: '2030-04-01T00:00:00.000Z',
      };
    },
    rotate: async (id, grace) => {
      calls.push(['rotate', id, grace]);
      return {
        id,
        key: KEY,
        expires_at: '2030-04-01T00:00:00.000Z',
        previous_valid_until: '2030-01-02T00:00:00.000Z',
      };
    },
    revoke: async (id) => {
      calls.push(['revoke', id]);
      return id === ID;
    },
    list: async (opts) => {
      calls.push(['list', opts]);
      if (opts?.cursor === undefined) {
        return {
          data: [
            {
              id: ID,
              name: 'ops',
              scopes: ['admin'],
              created_at: '2030-01-01T00:00:00.000Z',
              expires_at: '2030-04-01T00:00:00.000Z',
            },
          ],
          next_cursor: 'next',
        };
      }
      return {
        data: [
          {
            id: 'zzzzzzzzzzzzzzzz',
            name: 'old',
            scopes: ['inference', 'admin'],
            created_at: '2030-01-01T00:00:00.000Z',
            expires_at: '2030-04-01T00:00:00.000Z',
            revoked_at: '2030-01-03T00:00:00.000Z',
          },
        ],
        next_cursor: null,
      };
    },
    ...overrides,
  };
  return { store, calls };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('parseCliArgs', () => {
  it('parses create with repeated and comma-separated scopes', () => {
    expect(
      parseCliArgs([
        'create',
        '--name',
        'ops',
        '--scope',
        'admin',
        '--scope',
        'inference,admin',
        '--expires-in-days',
        '30',
      ]),
    ).toEqual({
      command: { kind: 'create', name: 'ops', scopes: ['admin', 'inference'], expiresInDays: 30 },
      target: { table: undefined, hmacKeyId: undefined, stack: undefined, region: undefined },
    });
  });

  it('parses the target options', () => {
    expect(
      parseCliArgs([
        'list',
        '--stack',
        'Prod',
        '--region',
        'eu-west-1',
        '--table',
        't',
        '--hmac-key-id',
        'k',
      ]).target,
    ).toEqual({ table: 't', hmacKeyId: 'k', stack: 'Prod', region: 'eu-west-1' });
  });

  it('takes the HMAC key as --hmac-key or --hmac-key-id, not two different ones', () => {
    const arn = 'arn:aws:kms:eu-west-1:111111111111:key/k';
    expect(parseCliArgs(['list', '--hmac-key', arn]).target.hmacKeyId).toBe(arn);
    expect(parseCliArgs(['list', '--hmac-key', arn, '--hmac-key-id', arn]).target.hmacKeyId).toBe(
      arn,
    );
    expect(() => parseCliArgs(['list', '--hmac-key', arn, '--hmac-key-id', 'other'])).toThrow(
      '--hmac-key and --hmac-key-id name the same key: give one',
    );
  });

  it('parses rotate, revoke, list and help', () => {
    expect(parseCliArgs(['rotate', ID, '--grace-seconds', '0']).command).toEqual({
      kind: 'rotate',
      id: ID,
      graceSeconds: 0,
    });
    expect(parseCliArgs(['rotate', ID]).command).toEqual({ kind: 'rotate', id: ID });
    expect(parseCliArgs(['revoke', ID]).command).toEqual({ kind: 'revoke', id: ID });
    expect(parseCliArgs(['list']).command).toEqual({ kind: 'list' });
    expect(parseCliArgs(['--help']).command).toEqual({ kind: 'help' });
    expect(parseCliArgs(['help']).command).toEqual({ kind: 'help' });
  });

  it.each<[string[], string]>([
    [[], 'missing command (create, rotate, revoke or list)'],
    [['delete', ID], "unknown command 'delete' (create, rotate, revoke or list)"],
    [['create', '--scope', 'admin'], 'create needs --name'],
    [['create', '--name', 'ops'], 'create needs --scope inference or --scope admin'],
    [
      ['create', '--name', 'ops', '--scope', 'root'],
      "--scope must be inference or admin, got 'root'",
    ],
    [
      ['create', '--name', 'ops', '--scope', 'admin', '--expires-in-days', 'soon'],
      '--expires-in-days must be a whole number',
    ],
    [
      ['create', 'extra', '--name', 'ops', '--scope', 'admin'],
      'create takes no positional arguments',
    ],
    [['rotate'], 'rotate takes exactly one key id'],
    [['rotate', ID, '--grace-seconds', '-5'], "Option '--grace-seconds' argument is ambiguous."],
    [['rotate', ID, '--grace-seconds', '1.5'], '--grace-seconds must be a whole number'],
    [['rotate', ID, '--grace-seconds=-5'], '--grace-seconds must be a whole number'],
    [['revoke'], 'revoke takes exactly one key id'],
    [['revoke', ID, ID], 'revoke takes exactly one key id'],
    [['revoke', ID, '--name', 'x'], '--name does not apply to revoke'],
    [['list', '--grace-seconds', '5'], '--grace-seconds does not apply to list'],
    [['list', 'x'], 'list takes no positional arguments'],
  ])('refuses %p', (argv, message) => {
    let error: unknown;
    try {
      parseCliArgs(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message.startsWith(message)).toBe(true);
  });

  it('refuses unknown options', () => {
    expect(() => parseCliArgs(['list', '--bogus'])).toThrow(UsageError);
  });
});

describe('runCommand', () => {
  it('create prints the key once on stdout and details on stderr', async () => {
    const { store, calls } = fakeStore();
    const { io, out, err } = capture();
    const code = await runCommand(
      { kind: 'create', name: 'ops', scopes: ['admin'], expiresInDays: 30 },
      store,
      io,
    );
    expect(code).toBe(0);
    expect(calls).toEqual([['create', { name: 'ops', scopes: ['admin'], expiresInDays: 30 }]]);
    expect(out).toEqual([`EPHEMERA_KEY=${KEY}`]);
    expect(err.join('\n')).toContain(`Created API key ${ID}`);
    expect(err.join('\n')).not.toContain(KEY);
  });

  it('rotate prints the new key and the grace deadline', async () => {
    const { store, calls } = fakeStore();
    const { io, out, err } = capture();
    expect(await runCommand({ kind: 'rotate', id: ID, graceSeconds: 60 }, store, io)).toBe(0);
    expect(calls).toEqual([['rotate', ID, 60]]);
    expect(out).toEqual([`EPHEMERA_KEY=${KEY}`]);
    expect(err.join('\n')).toContain('accepted until 2030-01-02T00:00:00.000Z');
  });

  it('revoke exits 0 for a known key and 1 for an unknown one', async () => {
    const { store } = fakeStore();
    const a = capture();
    expect(await runCommand({ kind: 'revoke', id: ID }, store, a.io)).toBe(0);
    expect(a.err).toEqual([`Revoked API key ${ID}.`]);
    const b = capture();
    expect(await runCommand({ kind: 'revoke', id: 'zzzzzzzzzzzzzzzz' }, store, b.io)).toBe(1);
    expect(b.err).toEqual(['No API key zzzzzzzzzzzzzzzz.']);
  });

  it('list follows the cursor through every page', async () => {
    const { store, calls } = fakeStore();
    const { io, out, err } = capture();
    expect(await runCommand({ kind: 'list' }, store, io)).toBe(0);
    expect(calls).toEqual([
      ['list', { limit: 100, cursor: undefined }],
      ['list', { limit: 100, cursor: 'next' }],
    ]);
    expect(out).toEqual([
      'id\tname\tscopes\tcreated_at\texpires_at\trevoked_at',
      `${ID}\tops\tadmin\t2030-01-01T00:00:00.000Z\t2030-04-01T00:00:00.000Z\t-`,
      'zzzzzzzzzzzzzzzz\told\tinference,admin\t2030-01-01T00:00:00.000Z\t2030-04-01T00:00:00.000Z\t2030-01-03T00:00:00.000Z',
    ]);
    expect(err).toEqual(['2 key(s).']);
  });
});

describe('resolveTarget', () => {
  const noStack = async () => {
    throw new Error('should not be called');
  };

  it('prefers flags, then the environment, without reading the stack', async () => {
    await expect(
      resolveTarget({ table: 't', hmacKeyId: 'k', region: 'eu-west-1' }, {}, noStack),
    ).resolves.toEqual({
      tableName: 't',
      hmacKeyId: 'k',
      region: 'eu-west-1',
    });
    await expect(
      resolveTarget({ table: 'flag' }, { KEY_TABLE_NAME: 'env', HMAC_KEY_ID: 'envkey' }, noStack),
    ).resolves.toEqual({ tableName: 'flag', hmacKeyId: 'envkey' });
  });

  it('reads the stack outputs when something is missing', async () => {
    const reads: Array<[string, string | undefined]> = [];
    const reader = async (stack: string, region: string | undefined) => {
      reads.push([stack, region]);
      return { KeyTableName: 'stack-table', HmacKeyId: 'stack-key' };
    };
    await expect(resolveTarget({ region: 'eu-west-1' }, {}, reader)).resolves.toEqual({
      tableName: 'stack-table',
      hmacKeyId: 'stack-key',
      region: 'eu-west-1',
    });
    await expect(
      resolveTarget({ stack: 'Other' }, { HMAC_KEY_ID: 'env' }, reader),
    ).resolves.toEqual({
      tableName: 'stack-table',
      hmacKeyId: 'env',
    });
    expect(reads).toEqual([
      [DEFAULT_STACK, 'eu-west-1'],
      ['Other', undefined],
    ]);
  });

  it('explains a stack without the outputs', async () => {
    await expect(resolveTarget({}, {}, async () => ({}))).rejects.toThrow(
      new UsageError(
        'stack Ephemera has no KeyTableName and HmacKeyId outputs; pass --table and --hmac-key',
      ),
    );
  });
});

describe('main', () => {
  function deps(store: KeysStore, targets: ResolvedTarget[] = []) {
    const c = capture();
    const d: MainDeps = {
      env: { KEY_TABLE_NAME: 'keys', HMAC_KEY_ID: 'alias/hmac' },
      io: c.io,
      readStackOutputs: async () => ({}),
      createStore: (t) => {
        targets.push(t);
        return store;
      },
    };
    return { d, ...c };
  }

  it('wires the resolved target to the store and runs the command', async () => {
    const { store } = fakeStore();
    const targets: ResolvedTarget[] = [];
    const { d, out } = deps(store, targets);
    expect(
      await main(['create', '--name', 'ops', '--scope', 'admin', '--region', 'eu-west-1'], d),
    ).toBe(0);
    expect(targets).toEqual([{ tableName: 'keys', hmacKeyId: 'alias/hmac', region: 'eu-west-1' }]);
    expect(out).toEqual([`EPHEMERA_KEY=${KEY}`]);
  });

  it('prints usage and exits 0 for help, without touching AWS', async () => {
    const targets: ResolvedTarget[] = [];
    const { d, out } = deps(fakeStore().store, targets);
    expect(await main(['--help'], d)).toBe(0);
    expect(out).toEqual([USAGE]);
    expect(targets).toEqual([]);
  });

  it('exits 2 with the usage for a usage error', async () => {
    const { d, out, err } = deps(fakeStore().store);
    expect(await main(['create', '--name', 'ops'], d)).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual(['error: create needs --scope inference or --scope admin', USAGE]);
  });

  it('exits 2 for input the store refuses', async () => {
    const { store } = fakeStore({
      create: async () => {
        throw new KeyStoreInputError(
          'expires_in_days must be a whole number from 1 to 365 (default 90)',
        );
      },
    });
    const { d, err } = deps(store);
    expect(
      await main(['create', '--name', 'ops', '--scope', 'admin', '--expires-in-days', '999'], d),
    ).toBe(2);
    expect(err).toEqual([
      'error: expires_in_days must be a whole number from 1 to 365 (default 90)',
    ]);
  });

  it('exits 1 for a key that cannot be rotated or an AWS failure', async () => {
    const { store } = fakeStore({
      rotate: async (id) => {
        throw new KeyStateError(id, 'revoked');
      },
      list: async () => {
        throw new KeyStoreUnavailableError('dynamodb', 'AccessDeniedException');
      },
    });
    const a = deps(store);
    expect(await main(['rotate', ID], a.d)).toBe(1);
    expect(a.err).toEqual([`error: API key ${ID} is revoked`]);
    const b = deps(store);
    expect(await main(['list'], b.d)).toBe(1);
    expect(b.err).toEqual(['error: Key store unavailable: DynamoDB error (AccessDeniedException)']);
  });
});

describe('AWS wiring', () => {
  it('explains that stack lookup needs @aws-sdk/client-cloudformation when it is missing', async () => {
    const reader = createStackOutputsReader(async () => {
      throw new Error("Cannot find module '@aws-sdk/client-cloudformation'");
    });
    await expect(reader('Ephemera', 'eu-west-1')).rejects.toThrow(
      new UsageError(
        'cannot read stack Ephemera outputs: @aws-sdk/client-cloudformation is not installed; ' +
          'pass --table and --hmac-key (or set KEY_TABLE_NAME and HMAC_KEY_ID)',
      ),
    );
  });

  it('reads the outputs of the named stack with DescribeStacks', async () => {
    const seen: unknown[] = [];
    const fake: CloudFormationModule = {
      CloudFormationClient: class {
        constructor(config: { region?: string }) {
          seen.push(config);
        }
        async send(command: unknown) {
          seen.push(command);
          return {
            Stacks: [
              {
                Outputs: [
                  { OutputKey: 'KeyTableName', OutputValue: 'Ephemera-Keys' },
                  { OutputKey: 'HmacKeyId', OutputValue: 'key-123' },
                  { OutputKey: 'Empty' },
                ],
              },
            ],
          };
        }
      },
      DescribeStacksCommand: class {
        constructor(readonly input: { StackName: string }) {}
      },
    };
    const reader = createStackOutputsReader(async () => fake);
    await expect(reader('Prod', 'eu-west-1')).resolves.toEqual({
      KeyTableName: 'Ephemera-Keys',
      HmacKeyId: 'key-123',
    });
    expect(seen).toEqual([{ region: 'eu-west-1' }, { input: { StackName: 'Prod' } }]);
  });

  it('builds a KeyStore for the target without calling AWS', () => {
    const store = createAwsKeyStore({
      tableName: 'keys',
      hmacKeyId: 'alias/hmac',
      region: 'eu-west-1',
    });
    expect(store).toBeInstanceOf(KeyStore);
  });
});
