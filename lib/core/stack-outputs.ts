/**
 * Names of the stack outputs that the keys CLI (`ephemera-keys --stack`,
 * `npm run keys -- --stack`) reads to find the key table and the HMAC key.
 */

/** The key table's name (a `MetadataStore`'s `keyTable`). */
export const KEY_TABLE_OUTPUT = 'KeyTableName';

/** The HMAC key's id (a `DataKeys`' `hmacKey`). */
export const HMAC_KEY_OUTPUT = 'HmacKeyId';
