/**
 * The embeddings request validator and the vector encodings: what is
 * accepted, how each refusal names its field, and (as properties) that an
 * accepted body's inputs are exactly the strings given and that no message
 * ever quotes the input.
 */

import fc from 'fast-check';
import {
  decodeFloat32Base64,
  encodeFloat32Base64,
  floatVector,
  readVector,
} from '../../../lambda/gateway/embedding-format';
import { EMBEDDING_LIMITS, validateEmbeddings } from '../../../lambda/gateway/validate-embeddings';

const ok = (body: Record<string, unknown>) => {
  const r = validateEmbeddings({ model: 'embed', ...body });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const refusal = (body: unknown) => {
  const r = validateEmbeddings(body);
  if (r.ok) throw new Error('expected a refusal');
  return { message: r.message, param: r.param };
};

describe('validateEmbeddings', () => {
  it('takes one string as one input, floats by default; user is dropped', () => {
    expect(ok({ input: 'hello', user: 'someone' })).toEqual({
      model: 'embed',
      input: ['hello'],
      encodingFormat: 'float',
    });
  });

  it('takes an array of strings in order, base64 and dimensions', () => {
    expect(ok({ input: ['a', 'b', 'c'], encoding_format: 'base64', dimensions: 256 })).toEqual({
      model: 'embed',
      input: ['a', 'b', 'c'],
      encodingFormat: 'base64',
      dimensions: 256,
    });
    expect(ok({ input: ['a'], encoding_format: null, dimensions: null })).toEqual({
      model: 'embed',
      input: ['a'],
      encodingFormat: 'float',
    });
    expect(ok({ input: Array(EMBEDDING_LIMITS.maxInputs).fill('x') }).input).toHaveLength(2048);
  });

  it.each([
    ['a body that is not an object', ['x'], 'Request body must be a JSON object', undefined],
    ['no model', { input: 'x' }, 'model must be a non-empty string', 'model'],
    ['no input', { model: 'm' }, 'input is required: a string or an array of strings', 'input'],
    ['an empty string', { model: 'm', input: '' }, 'input must be a non-empty string', 'input'],
    [
      'an empty array',
      { model: 'm', input: [] },
      'input must be a non-empty array of strings',
      'input',
    ],
    [
      'an object',
      { model: 'm', input: { text: 'x' } },
      'input must be a string or a non-empty array of strings',
      'input',
    ],
    [
      'a token array',
      { model: 'm', input: [1, 2, 3] },
      'input must be a string or an array of strings: token arrays are not supported',
      'input',
    ],
    [
      'a batch of token arrays',
      { model: 'm', input: [[1, 2], [3]] },
      'input must be a string or an array of strings: token arrays are not supported',
      'input',
    ],
    [
      'an empty string among strings',
      { model: 'm', input: ['a', 'b', 'c', ''] },
      'input[3] must be a non-empty string',
      'input[3]',
    ],
    [
      'a number among strings',
      { model: 'm', input: ['a', 7] },
      'input[1] must be a non-empty string',
      'input[1]',
    ],
    [
      'too many inputs',
      { model: 'm', input: Array(2049).fill('x') },
      'input must have at most 2048 items',
      'input',
    ],
    [
      'another encoding',
      { model: 'm', input: 'x', encoding_format: 'int8' },
      "encoding_format must be 'float' or 'base64'",
      'encoding_format',
    ],
    [
      'zero dimensions',
      { model: 'm', input: 'x', dimensions: 0 },
      'dimensions must be a whole number from 1 to 16384',
      'dimensions',
    ],
    [
      'fractional dimensions',
      { model: 'm', input: 'x', dimensions: 256.5 },
      'dimensions must be a whole number from 1 to 16384',
      'dimensions',
    ],
    [
      'dimensions as text',
      { model: 'm', input: 'x', dimensions: '256' },
      'dimensions must be a whole number from 1 to 16384',
      'dimensions',
    ],
    [
      'a user that is not text',
      { model: 'm', input: 'x', user: 7 },
      'user must be a string',
      'user',
    ],
  ])('refuses %s, naming the field', (_what, body, message, param) => {
    expect(refusal(body)).toEqual({ message, param });
  });

  it('accepts exactly the given strings, in order (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1 }),
          fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 40 }),
        ),
        fc.option(fc.constantFrom('float', 'base64'), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: EMBEDDING_LIMITS.maxDimensions }), { nil: undefined }),
        (input, encoding, dimensions) => {
          const r = validateEmbeddings({
            model: 'm',
            input,
            ...(encoding ? { encoding_format: encoding } : {}),
            ...(dimensions ? { dimensions } : {}),
          });
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.value.input).toEqual(typeof input === 'string' ? [input] : input);
          expect(r.value.encodingFormat).toBe(encoding ?? 'float');
          expect(r.value.dimensions).toBe(dimensions);
        },
      ),
    );
  });

  it('never quotes the input in a message, whatever the body (property)', () => {
    const CANARY = 'CNRY-embed-7b1e';
    const withCanary = fc.string().map((s) => `${s}${CANARY}${s}`);
    const anyValue = fc.oneof(
      withCanary,
      fc.constant(''),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(withCanary, fc.constant(''), fc.integer(), fc.constant(null)), {
        maxLength: 6,
      }),
      fc.dictionary(withCanary, withCanary, { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            model: fc.oneof(withCanary, fc.constant(''), fc.integer()),
            input: anyValue,
            encoding_format: anyValue,
            dimensions: anyValue,
            user: anyValue,
          },
          { requiredKeys: [] },
        ),
        (body) => {
          const r = validateEmbeddings(body);
          if (r.ok) {
            // Accepted: the inputs are exactly the strings given, untouched.
            const given = body.input;
            expect(r.value.input).toEqual(typeof given === 'string' ? [given] : given);
            expect(r.value.input.every((s) => typeof s === 'string' && s !== '')).toBe(true);
            return;
          }
          expect(r.message).not.toContain(CANARY);
          expect(r.param ?? '').not.toContain(CANARY);
          expect(r.message.startsWith(r.param ?? '')).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('embedding vectors on the wire', () => {
  it('base64 is little-endian float32, as OpenAI sends it', () => {
    // 1.0 is 0x3f800000: bytes 00 00 80 3f.
    expect(encodeFloat32Base64([1, -2])).toBe(
      Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'),
    );
    expect(decodeFloat32Base64(encodeFloat32Base64([1, -2, 0.5]))).toEqual([1, -2, 0.5]);
    // Values round to float32.
    expect(decodeFloat32Base64(encodeFloat32Base64([0.1]))).toEqual([Math.fround(0.1)]);
  });

  it('round-trips any float32 vector (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 64,
        }),
        (vector) => {
          const decoded = decodeFloat32Base64(encodeFloat32Base64(vector));
          expect(decoded).toEqual(vector);
          expect(readVector(encodeFloat32Base64(vector))).toEqual(decoded);
        },
      ),
    );
  });

  it.each([
    ['not base64', '@@@@'],
    ['a length that is no whole float', Buffer.from([1, 2, 3]).toString('base64')],
    ['empty', ''],
    ['NaN', Buffer.from([0, 0, 0xc0, 0x7f]).toString('base64')],
    ['infinity', Buffer.from([0, 0, 0x80, 0x7f]).toString('base64')],
    ['a number', 5],
  ])('a base64 vector that is %s reads as nothing', (_what, value) => {
    expect(decodeFloat32Base64(value)).toBeUndefined();
  });

  it.each([
    ['empty', []],
    ['text', ['0.1']],
    ['null', [0.1, null]],
    ['beyond float32', [1e39]],
    ['not an array', { 0: 1 }],
  ])('a float vector that is %s reads as nothing', (_what, value) => {
    expect(floatVector(value)).toBeUndefined();
    expect(readVector(value)).toBeUndefined();
  });
});
