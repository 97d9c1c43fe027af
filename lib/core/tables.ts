/**
 * Names the tables' code and infrastructure must agree on: the constructs
 * create these indexes and attributes, the handlers query them.
 */

/** Attribute that holds each item's expiry (epoch seconds) in every table. */
export const TTL_ATTRIBUTE = 'ttl';

/** The usage table's index by keyed customer hash, sorted by `timestamp`. */
export const USAGE_CUSTOMER_INDEX = 'by_customer';

/** The deletion table's sparse index of open jobs (`pending`), sorted by `requested_at`. */
export const DELETION_PENDING_INDEX = 'pending';
