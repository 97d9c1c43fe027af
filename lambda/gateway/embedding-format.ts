/**
 * Embedding vectors on the wire: JSON arrays of numbers (`encoding_format`
 * `float`), or base64 of their little-endian float32 bytes (`base64`), exactly
 * as OpenAI sends them. Pure functions; a malformed vector reads as
 * `undefined`, for the caller to treat as a failed upstream.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A vector as base64 of its little-endian float32 bytes. */
export function encodeFloat32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/**
 * A non-empty array of finite numbers within float32's range (so the base64
 * encoding carries them too), or undefined.
 */
export function floatVector(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) return undefined;
  }
  return value as number[];
}

/**
 * Base64 of little-endian float32 bytes as a vector: undefined unless the text
 * is strict base64 of a whole, non-zero number of float32 values, all finite.
 */
export function decodeFloat32Base64(value: unknown): number[] | undefined {
  if (typeof value !== 'string' || value.length === 0 || !BASE64.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
  const vector = new Array<number>(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) {
    const v = bytes.readFloatLE(i * 4);
    if (!Number.isFinite(v)) return undefined;
    vector[i] = v;
  }
  return vector;
}

/** An upstream's vector in either encoding (an array of numbers, or a base64 string). */
export function readVector(value: unknown): number[] | undefined {
  return typeof value === 'string' ? decodeFloat32Base64(value) : floatVector(value);
}
