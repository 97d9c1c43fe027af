/** The handler module reads its configuration once, at import (cold start). */

type IndexModule = typeof import('../../../lambda/image-sweeper/index');

function loadWithEnv(env: Record<string, string | undefined>): IndexModule {
  const saved = { ...process.env };
  try {
    for (const name of ['IMAGE_BUCKET_NAME', 'MAX_DELETES_PER_RUN']) delete process.env[name];
    Object.assign(process.env, env);
    let loaded: IndexModule | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('../../../lambda/image-sweeper/index') as IndexModule;
    });
    return loaded as IndexModule;
  } finally {
    process.env = saved;
  }
}

describe('image sweeper entry point', () => {
  test('exports handler and createHandler when the environment is valid', () => {
    const mod = loadWithEnv({ IMAGE_BUCKET_NAME: 'ephemera-images', AWS_REGION: 'us-east-1' });
    expect(typeof mod.handler).toBe('function');
    expect(typeof mod.createHandler).toBe('function');
  });

  test('fails at init when IMAGE_BUCKET_NAME is missing', () => {
    expect(() => loadWithEnv({ AWS_REGION: 'us-east-1' })).toThrow(
      'Invalid image sweeper configuration: IMAGE_BUCKET_NAME is required',
    );
  });

  test('fails at init when MAX_DELETES_PER_RUN is invalid', () => {
    expect(() =>
      loadWithEnv({
        IMAGE_BUCKET_NAME: 'ephemera-images',
        MAX_DELETES_PER_RUN: '0',
        AWS_REGION: 'us-east-1',
      }),
    ).toThrow('MAX_DELETES_PER_RUN must be a whole number from 1 to 10000000');
  });
});
