/**
 * Error answers in OpenAI's shape, and the retry semantics their headers
 * give a client: `Retry-After` on every 429 and 503, `x-should-retry: false`
 * where a retry cannot change the answer, and `param` naming the field.
 */

import {
  authError,
  DEFAULT_RETRY_AFTER_SECONDS,
  errorBody,
  HttpError,
  invalidRequest,
  leadingField,
  modelNotFound,
} from '../../../lambda/shared/http-errors';
import { errorResult } from '../../../lambda/shared/http-results';

describe('error answers', () => {
  it('always carry message, type, param and code', () => {
    expect(JSON.parse(errorBody(new HttpError(500, 'server_error', 'Internal error')))).toEqual({
      error: { message: 'Internal error', type: 'server_error', param: null, code: null },
    });
    expect(JSON.parse(errorBody(modelNotFound()))).toEqual({
      error: {
        message:
          'The model does not exist or you do not have access to it. List the models with GET /v1/models.',
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
    expect(modelNotFound().status).toBe(404);
    // A model-id-shaped name is named; anything else is left out.
    expect(modelNotFound('org/m-1:0').message).toBe(
      "The model 'org/m-1:0' does not exist or you do not have access to it. List the models with GET /v1/models.",
    );
    expect(modelNotFound("x' or 1=1").message).not.toContain('1=1');
    expect(modelNotFound('a'.repeat(129)).message).not.toContain('aaa');
    expect(modelNotFound('chat', true).message).toBe(
      "The model 'chat' is not available for this endpoint. List the models with GET /v1/models.",
    );
  });

  it.each([429, 503])('give every %i a Retry-After, keeping one the error names', (status) => {
    const plain = new HttpError(status, 'server_error', 'x');
    expect(plain.headers).toEqual({ 'Retry-After': String(DEFAULT_RETRY_AFTER_SECONDS) });
    const named = new HttpError(status, 'requests', 'x', {
      headers: { 'retry-after': '7' },
    });
    expect(named.headers).toEqual({ 'retry-after': '7' });
    expect(errorResult(plain).headers).toMatchObject({ 'Retry-After': '1' });
  });

  it.each([400, 404, 500, 502, 504])('add no Retry-After to a %i', (status) => {
    expect(new HttpError(status, 'server_error', 'x').headers).toEqual({});
  });

  it('say x-should-retry: false only when told a retry cannot help', () => {
    const final = new HttpError(504, 'server_error', 'x', { retry: false });
    expect(final.headers).toEqual({ 'x-should-retry': 'false' });
    expect(new HttpError(502, 'server_error', 'x').headers).not.toHaveProperty('x-should-retry');
  });

  it('answer failed keys with invalid_api_key, insufficient_scope or a timed 429', () => {
    expect(
      authError({ ok: false, status: 401, reason: 'invalid' } as never, 'inference'),
    ).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
    expect(authError({ ok: false, status: 403, reason: 'scope' } as never, 'admin')).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
    });
    expect(
      authError(
        { ok: false, status: 429, reason: 'throttled', retryAfterSeconds: 30 } as never,
        'inference',
      ).headers,
    ).toEqual({ 'Retry-After': '30' });
  });
});

describe('param', () => {
  it.each([
    ['messages[2].content must be a string', 'messages[2].content'],
    ['tools[0].function.strict is not supported with this upstream', 'tools[0].function.strict'],
    ['temperature must be a number from 0 to 2', 'temperature'],
    ['input[3] must be a non-empty string', 'input[3]'],
    ['Request body must be a JSON object', undefined],
    ["The input exceeds the model's context", undefined],
    ['model', undefined],
  ])('of %j is %j', (message, param) => {
    expect(leadingField(message)).toBe(param);
    expect(invalidRequest(message).param).toBe(param ?? null);
  });

  it('is the one given when a message names no field first', () => {
    expect(invalidRequest('Give limit once', 'limit').param).toBe('limit');
  });
});
