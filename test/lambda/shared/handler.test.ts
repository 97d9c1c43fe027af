/** The one entry-point skeleton every handler's index.ts is built on. */

import {
  HandlerFailed,
  lambdaEntry,
  reportingOnlyErrorNames,
} from '../../../lambda/shared/handler';

describe('lambdaEntry', () => {
  test('parses the configuration once, builds the clients once, then the handler', async () => {
    const calls: string[] = [];
    const entry = lambdaEntry(
      {
        name: 'test handler',
        parseConfig: (env) => {
          calls.push('config');
          return { table: env.TABLE ?? '' };
        },
        clients: (config) => {
          calls.push('clients');
          return { client: `client of ${config.table}` };
        },
        create: (config, clients) => {
          calls.push('create');
          return async (event: string) => `${event} ${config.table} ${clients.client}`;
        },
      },
      { TABLE: 't1' },
    );
    expect(await entry.handler('a')).toBe('a t1 client of t1');
    expect(await entry.handler('b')).toBe('b t1 client of t1');
    expect(calls).toEqual(['config', 'clients', 'create']);
    expect(entry.config).toEqual({ table: 't1' });
  });

  test('a bad environment fails the init with the parser’s own error', () => {
    expect(() =>
      lambdaEntry(
        {
          name: 'test handler',
          parseConfig: () => {
            throw new Error('Invalid test configuration: TABLE is required');
          },
          clients: () => ({}),
          create: () => async () => undefined,
        },
        {},
      ),
    ).toThrow(/^Invalid test configuration: TABLE is required$/);
  });

  test('a failure reaches the runtime with the error’s name only, never its message', async () => {
    const secret = 'prompt text that must not be logged';
    const failing = reportingOnlyErrorNames('test handler', async () => {
      throw Object.assign(new Error(secret), { name: 'ThrottlingException' });
    });
    const err = await failing().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerFailed);
    expect((err as HandlerFailed).message).toBe('The test handler failed (ThrottlingException)');
    expect(JSON.stringify(err)).not.toContain(secret);
    expect(String((err as Error).stack)).not.toContain(secret);
    expect((err as Error).cause).toBeUndefined();

    const odd = reportingOnlyErrorNames('test handler', async () => {
      throw Object.assign(new Error(secret), { name: secret });
    });
    await expect(odd()).rejects.toThrow(/^The test handler failed \(Error\)$/);
  });
});
