/**
 * What a client call threw, as the client-check scripts report it: the error
 * class, status, OpenAI `type`/`code`/`param`, the `x-should-retry` header,
 * whether the AI SDK sees an APICallError, and (given a canary) whether the
 * error's text repeats it.
 */

import { APICallError } from 'ai';

export async function failure(
  call: () => Promise<unknown>,
  canary?: string,
): Promise<Record<string, unknown>> {
  try {
    await call();
    return { threw: false };
  } catch (err) {
    const e = err as {
      constructor: { name: string };
      status?: number;
      statusCode?: number;
      type?: string;
      code?: string;
      param?: string;
      headers?: Headers | Record<string, string>;
      responseBody?: string;
    };
    const headers = e.headers instanceof Headers ? Object.fromEntries(e.headers) : e.headers;
    const text = JSON.stringify({ message: (err as Error).message, body: e.responseBody });
    return {
      threw: true,
      name: e.constructor.name,
      status: e.status ?? e.statusCode,
      isApiCallError: APICallError.isInstance(err),
      type: e.type,
      code: e.code,
      param: e.param,
      shouldRetry: headers?.['x-should-retry'],
      ...(canary === undefined ? {} : { echoes: text.includes(canary) }),
    };
  }
}
