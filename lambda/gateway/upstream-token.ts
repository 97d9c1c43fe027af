/**
 * The bearer token of an openai-compatible upstream, read from Secrets Manager
 * at cold start.
 *
 * The secret's `SecretString` is either the token itself or a JSON object with a
 * string field `token`. The read starts as soon as the source is created (at
 * module load); a failed read is retried on the next request instead of
 * breaking the instance for good.
 */

import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;

/** Extracts the token from a secret string; undefined if it holds none. */
export function tokenFromSecretString(secret: string | undefined): string | undefined {
  if (typeof secret !== 'string') return undefined;
  const trimmed = secret.trim();
  let token: unknown = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      token = (JSON.parse(trimmed) as { token?: unknown }).token;
    } catch {
      return undefined;
    }
  }
  return typeof token === 'string' && TOKEN_PATTERN.test(token) ? token : undefined;
}

/** A token source backed by one secret; the failure carries no detail of the secret or the SDK error. */
export function secretTokenSource(
  secrets: SecretsManagerClient,
  secretArn: string,
): () => Promise<string> {
  const load = async (): Promise<string> => {
    let secretString: string | undefined;
    try {
      secretString = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn })))
        .SecretString;
    } catch {
      throw new Error('Could not read the upstream secret');
    }
    const token = tokenFromSecretString(secretString);
    if (!token) throw new Error('The upstream secret holds no usable token');
    return token;
  };
  let pending: Promise<string> | undefined;
  const start = (): Promise<string> => {
    const attempt = load();
    pending = attempt;
    // Forget a failed read (so the next request retries); this also keeps the
    // cold-start read from being an unhandled rejection.
    attempt.catch(() => {
      if (pending === attempt) pending = undefined;
    });
    return attempt;
  };
  start();
  return () => pending ?? start();
}
