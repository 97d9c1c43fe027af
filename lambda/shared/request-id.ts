/** The request id every answer and usage record carries. */

import { randomUUID } from 'node:crypto';
import { ID_PATTERNS } from './allowlist-logger';

/** The subset of the Lambda context the handlers read. */
export interface InvocationContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** Lambda's request id when it is a well-formed token, else a random UUID. */
export function requestIdOf(context: InvocationContext | undefined): string {
  const id = context?.awsRequestId;
  return typeof id === 'string' &&
    id.length <= ID_PATTERNS.token.maxLength &&
    ID_PATTERNS.token.pattern.test(id)
    ? id
    : randomUUID();
}
