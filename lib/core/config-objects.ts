/**
 * Objects of the config bucket that the constructs and the handlers must agree on.
 */

/** The trust store: one JSON object holding the outbound trust mode and the uploaded PEM bundle. */
export const TRUST_STORE_OBJECT_KEY = 'trust/trust-store.json';

/** How long a handler may use a trust store it has read before it checks for a change. */
export const TRUST_STORE_MAX_AGE_SECONDS = 60;

/** Largest PEM bundle the trust store accepts (bytes). */
export const TRUST_BUNDLE_MAX_BYTES = 500 * 1024;

/** An uploaded certificate this close to its expiry raises an alarm. */
export const TRUST_EXPIRY_WARNING_DAYS = 30;
