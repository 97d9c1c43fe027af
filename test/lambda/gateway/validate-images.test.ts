import fc from 'fast-check';
import { validateImages } from '../../../lambda/gateway/validate-images';

const base = { model: 'img', prompt: 'a cat' };

describe('validateImages', () => {
  it('applies the defaults (b64_json, which stores nothing; 1024x1024; n=1)', () => {
    expect(validateImages(base, 4)).toEqual({
      ok: true,
      value: {
        model: 'img',
        prompt: 'a cat',
        n: 1,
        size: '1024x1024',
        width: 1024,
        height: 1024,
        responseFormat: 'b64_json',
      },
    });
  });

  it('reads every field', () => {
    expect(
      validateImages(
        {
          ...base,
          n: 4,
          size: '1792x1024',
          quality: 'hd',
          style: 'natural',
          response_format: 'b64_json',
          seed: 42,
          user: 'x',
        },
        4,
      ),
    ).toEqual({
      ok: true,
      value: {
        model: 'img',
        prompt: 'a cat',
        n: 4,
        size: '1792x1024',
        width: 1792,
        height: 1024,
        quality: 'hd',
        style: 'natural',
        responseFormat: 'b64_json',
        seed: 42,
      },
    });
    expect(validateImages({ ...base, size: 'auto' }, 4)).toMatchObject({
      ok: true,
      value: { size: '1024x1024' },
    });
  });

  it.each([
    [{ ...base, prompt: '' }, 'prompt must be a string of 1 to 32000 characters'],
    [{ ...base, prompt: 'x'.repeat(32_001) }, 'prompt must be a string of 1 to 32000 characters'],
    [{ ...base, n: 5 }, 'n must be a whole number from 1 to 4'],
    [{ ...base, n: 0 }, 'n must be a whole number from 1 to 4'],
    [
      { ...base, size: '100x100' },
      "size must be 'auto' or WIDTHxHEIGHT with sides from 256 to 4096",
    ],
    [{ ...base, size: '1024X1024' }, "size must be 'auto' or WIDTHxHEIGHT"],
    [{ ...base, size: '5000x1024' }, "size must be 'auto' or WIDTHxHEIGHT"],
    [{ ...base, quality: 'ultra' }, 'quality must be one of standard, hd, low, medium, high, auto'],
    [{ ...base, style: 'noir' }, 'style must be one of vivid, natural'],
    [{ ...base, response_format: 'png' }, "response_format must be 'url' or 'b64_json'"],
    [{ ...base, seed: -1 }, 'seed must be a whole number from 0 to 2147483646'],
    [{ prompt: 'x' }, 'model must be a non-empty string'],
  ])('refuses %j', (body, expected) => {
    const result = validateImages(body, 4);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(expected);
  });

  it('never throws and never quotes the request in an error (property)', () => {
    const CANARY = 'CANARY-91ac';
    const canary = fc.string({ maxLength: 10 }).map((s) => CANARY + s);
    const value = fc.oneof(
      canary,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(canary, { maxLength: 2 }),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            model: value,
            prompt: value,
            n: value,
            size: value,
            quality: value,
            style: value,
            response_format: value,
            seed: value,
          },
          { requiredKeys: [] },
        ),
        (body) => {
          const result = validateImages(body, 4);
          if (!result.ok) expect(result.message).not.toContain(CANARY);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
