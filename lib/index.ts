/** Ephemera's public API: constructs, configuration, and the rule packs. */
export * from './data-keys';
export * from './isolated-network';
export * from './short-ttl-image-bucket';
export * from './tls-load-balancer';
export * from './metadata-store';
export * from './retention-functions';
export * from './incident-response';
export * from './ephemera-stack';
export * from './config';
export * from './compliance';
export * from './rules';
export * from './inference-gateway';
export * from './control-tower-checks';
export * from './customer-erasure';
export * from './admin-api';
export * from './watchdog';
