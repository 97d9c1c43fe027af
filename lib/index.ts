/**
 * Ephemera's public API: the constructs with their props and interfaces, the
 * configuration, the rule packs, and the helpers the docs show. Every name is
 * listed here on purpose; the rest of lib/ is implementation, free to change.
 * api/ephemera.api.md lists the signatures (`npm run api-report` writes it;
 * test/app/api-report.test.ts fails when it is out of date).
 */

// Keys and network.
export { DataKeys, type DataClass, type DataKeysProps } from './data-keys';
export { IsolatedNetwork, type IsolatedNetworkProps } from './isolated-network';

// State: metadata tables, images, the trust store.
export {
  CUSTOMER_INDEX,
  MetadataStore,
  type IMetadataStore,
  type MetadataStoreAttributes,
  type MetadataStoreProps,
} from './metadata-store';
export {
  ShortTtlImageBucket,
  type IShortTtlImageBucket,
  type ShortTtlImageBucketAttributes,
  type ShortTtlImageBucketProps,
} from './short-ttl-image-bucket';
export {
  ConfigBucket,
  type ConfigBucketAttributes,
  type ConfigBucketProps,
  type IConfigBucket,
} from './config-bucket';

// Front doors.
export { TlsLoadBalancer, TlsVersions, type TlsLoadBalancerProps } from './tls-load-balancer';
export { PrivateFrontDoor, type PrivateFrontDoorProps } from './private-front-door';
export {
  ApiAccessLogFields,
  ApiEndpointAccess,
  ApiGatewayAccountRole,
  StreamingFrontDoor,
  type ApiDomain,
  type StreamingFrontDoorProps,
} from './streaming-front-door';

// Functions and what runs on them.
export {
  FunctionTrigger,
  HardenedFunction,
  type FunctionBasics,
  type FunctionDefaults,
  type HardenedFunctionProps,
} from './hardened-function';
export {
  InferenceGateway,
  type GatewayModel,
  type GatewayUpstream,
  type InferenceGatewayProps,
  type RemoteImageUrls,
} from './inference-gateway';
export { AdminApi, type AdminApiProps } from './admin-api';
export {
  CustomerErasure,
  type CustomerErasureAttributes,
  type CustomerErasureProps,
  type ICustomerErasure,
  type ReceiptQueueTarget,
} from './customer-erasure';
export { RECEIPT_STORES, type ReceiptExclusion } from './core/receipt-scope';
export { ReceiptWebhook, type ReceiptWebhookProps } from './receipt-webhook';
export { Watchdog, type WatchdogProps } from './watchdog';
export { IncidentResponse, type IAlarmSink, type IncidentResponseProps } from './incident-response';
export { addApiKeyOutputs, type ApiKeyOutputs, type ApiKeyOutputsProps } from './api-key-outputs';

// The whole stack and its configuration.
export { EphemeraStack, type EphemeraStackProps } from './ephemera-stack';
export {
  CONFIG_DEFAULTS,
  ephemeraConfig,
  readConfig,
  type ConfigKey,
  type EphemeraConfig,
  type EphemeraSettings,
  type FrontDoor,
  type FrontDoorKind,
  type GatewayUpstreamConfig,
} from './config';
export { checkContextKeys } from './known-names';

// Rule packs and their report.
export { RetentionTransportChecks } from './rules';
export { ControlTowerChecks, type ControlTowerChecksProps } from './control-tower-checks';
export {
  addCompliancePlugins,
  compliancePlugins,
  readComplianceReport,
  type Acknowledgement,
  type ComplianceSummary,
  type Finding,
} from './compliance';
