import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { secretTokenSource, tokenFromSecretString } from '../../../lambda/gateway/upstream-token';

describe('tokenFromSecretString', () => {
  it.each([
    ['tok-123', 'tok-123'],
    ['  tok-123\n', 'tok-123'],
    ['{"token":"abc"}', 'abc'],
    ['{"token":5}', undefined],
    ['{"other":"abc"}', undefined],
    ['{broken', undefined],
    ['has space', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (secret, token) => {
    expect(tokenFromSecretString(secret)).toBe(token);
  });
});

describe('secretTokenSource', () => {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const mock = mockClient(client);
  afterAll(() => mock.restore());
  beforeEach(() => mock.reset());

  it('starts reading at creation and caches the token', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: 'abc' });
    const source = secretTokenSource(client, 'arn');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await expect(source()).resolves.toBe('abc');
    await expect(source()).resolves.toBe('abc');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fails without detail and retries on the next call', async () => {
    mock
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('AccessDenied: CANARY'))
      .resolves({ SecretString: 'abc' });
    const source = secretTokenSource(client, 'arn');
    await expect(source()).rejects.toThrow(new Error('Could not read the upstream secret'));
    await expect(source()).resolves.toBe('abc');
  });

  it('refuses a secret without a usable token', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"token":""}' });
    await expect(secretTokenSource(client, 'arn')()).rejects.toThrow(
      'The upstream secret holds no usable token',
    );
  });
});
