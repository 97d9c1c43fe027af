/** The Lambda entry point validates its environment at module load (cold start). */

import { testEnv } from './support/fixtures';

describe('gateway entry point', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('fails at init with a message naming the variables', async () => {
    for (const name of Object.keys(testEnv())) delete process.env[name];
    await jest.isolateModulesAsync(async () => {
      await expect(import('../../../lambda/gateway/index')).rejects.toThrow(
        /^Invalid gateway configuration: USAGE_TABLE_NAME is required/,
      );
    });
  });

  it('exports handler and createHandler with a valid environment', async () => {
    Object.assign(process.env, testEnv(), { AWS_REGION: 'us-east-1' });
    await jest.isolateModulesAsync(async () => {
      const mod =
        (await import('../../../lambda/gateway/index')) as typeof import('../../../lambda/gateway/index');
      expect(typeof mod.createHandler).toBe('function');
      const result = await mod.handler({
        requestContext: { elb: { targetGroupArn: 'arn' } },
        httpMethod: 'GET',
        path: '/healthz',
        queryStringParameters: {},
        headers: {},
        body: null,
        isBase64Encoded: false,
      });
      expect(result.statusCode).toBe(200);
    });
  });
});
