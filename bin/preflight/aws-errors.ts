/**
 * AWS errors as one line a person can act on: which permission is missing,
 * that the credentials are absent or expired, or what else went wrong. Never
 * a stack trace, and never anything from the credentials themselves.
 */

/** An AWS call that failed, tagged with the IAM action it needed. */
export class AwsCallError extends Error {
  override readonly name = 'AwsCallError';
  constructor(
    readonly action: string,
    readonly code: string,
    readonly original: unknown,
  ) {
    super(`${action} failed: ${code}`);
  }
}

/** Error codes that mean the caller may not call the action. */
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'Forbidden',
  'ForbiddenException',
]);

/** Error codes that mean there are no usable credentials. */
const NO_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenProviderError',
]);

/** The error's code (the SDK's `name`, e.g. `AccessDeniedException`). */
export function errorCode(err: unknown): string {
  if (err instanceof AwsCallError) return err.code;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown } | null;
  for (const v of [e?.name, e?.Code, e?.code]) {
    if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  }
  return 'Error';
}

/** Runs one AWS call; a failure becomes an AwsCallError naming `action`. */
export async function call<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw new AwsCallError(action, errorCode(err), err);
  }
}

/** One line of text: whitespace collapsed, at most `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 3)}...`;
}

/** The message of an error, as one line. */
export function messageOf(err: unknown): string {
  const raw = err instanceof AwsCallError ? err.original : err;
  const m = (raw as { message?: unknown } | null)?.message;
  return oneLine(typeof m === 'string' ? m : String(raw));
}

export const DOCS_SECTION = 'docs/deploy.md, "Before you deploy"';

/** What a failed call means for the user: the detail and the fix of a FAIL line. */
export function explain(err: unknown): { detail: string; fix: string } {
  const code = errorCode(err);
  const action = err instanceof AwsCallError ? err.action : undefined;
  if (NO_CREDENTIALS.has(code)) {
    return {
      detail: `no valid AWS credentials (${code})`,
      fix: 'sign in (aws sso login, or set AWS_PROFILE or --profile) and run preflight again',
    };
  }
  if (DENIED.has(code) && action) {
    return {
      detail: `access denied: the caller may not call ${action}`,
      fix: `allow ${action} for the caller (every action preflight needs: ${DOCS_SECTION})`,
    };
  }
  if (action) {
    return {
      detail: `${action} failed: ${code}: ${messageOf(err)}`,
      fix: 'run preflight again; if it fails the same way, check the region and the network',
    };
  }
  return {
    detail: `the check failed: ${code}: ${messageOf(err)}`,
    fix: 'run preflight again; if it fails the same way, report it with this line',
  };
}
