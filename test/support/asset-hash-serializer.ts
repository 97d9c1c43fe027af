/**
 * Jest snapshot serializer that blanks 64-hex asset hashes, so a snapshot changes
 * only when the template does, not when a Lambda bundle's bytes do.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;

module.exports = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string) => JSON.stringify(value.replace(ASSET_HASH, '<ASSET_HASH>')),
};
