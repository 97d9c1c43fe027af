import { Stack } from 'aws-cdk-lib';
import { AdminApi, AdminApiProps } from '../../lib/admin-api';
import { CustomerErasure, CustomerErasureProps } from '../../lib/customer-erasure';
import { DataKeys } from '../../lib/data-keys';
import { IncidentResponse } from '../../lib/incident-response';
import { InferenceGateway, InferenceGatewayProps } from '../../lib/inference-gateway';
import { IsolatedNetwork } from '../../lib/isolated-network';
import { MetadataStore } from '../../lib/metadata-store';
import { ShortTtlImageBucket } from '../../lib/short-ttl-image-bucket';
import { TlsLoadBalancer } from '../../lib/tls-load-balancer';
import { Watchdog, WatchdogProps } from '../../lib/watchdog';
import { testCertificate } from './stacks';

/** Keys, network, tables and alarms: what every serving construct stands on, in `stack`. */
export function groundInStack(stack: Stack, aliasPrefix?: string) {
  const keys = new DataKeys(stack, 'Keys', aliasPrefix ? { aliasPrefix } : {});
  const network = new IsolatedNetwork(stack, 'Net', { logsKey: keys.logsKey });
  const store = new MetadataStore(stack, 'Store', { encryptionKey: keys.metadataKey });
  const incidents = new IncidentResponse(stack, 'Incidents', {
    encryptionKey: keys.queuesKey,
    watchedKeys: keys.allKeys,
  });
  return { keys, network, store, incidents };
}

/** The constructs the request path and the admin plane stand on, in `stack`. */
export function foundationInStack(stack: Stack) {
  const { keys, network, store, incidents } = groundInStack(stack);
  const images = new ShortTtlImageBucket(stack, 'Images', {
    encryptionKey: keys.imagesKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    vpc: network.vpc,
  });
  const lb = new TlsLoadBalancer(stack, 'Lb', {
    vpc: network.vpc,
    certificate: testCertificate(stack),
  });
  return { keys, network, store, incidents, images, lb };
}

/** An InferenceGateway with everything it needs around it, in `stack`. */
export function gatewayInStack(
  stack: Stack,
  extra: Partial<InferenceGatewayProps> = {},
): InferenceGateway {
  const { keys, network, store, incidents, images, lb } = foundationInStack(stack);
  return new InferenceGateway(stack, 'Gateway', {
    listener: lb.httpsListener,
    vpc: network.vpc,
    store,
    images,
    hmacKey: keys.hmacKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    ...extra,
  });
}

/** A CustomerErasure with everything it needs around it, in `stack`. */
export function erasureInStack(
  stack: Stack,
  extra: Partial<CustomerErasureProps> = {},
  foundation = foundationInStack(stack),
): CustomerErasure {
  const { keys, network, store, incidents, images } = foundation;
  return new CustomerErasure(stack, 'Erasure', {
    vpc: network.vpc,
    store,
    queuesKey: keys.queuesKey,
    signingKey: keys.signingKey,
    images,
    logsKey: keys.logsKey,
    alarms: incidents,
    ...extra,
  });
}

/** An AdminApi with everything it needs around it, in `stack`. */
export function adminInStack(stack: Stack, extra: Partial<AdminApiProps> = {}): AdminApi {
  const foundation = foundationInStack(stack);
  const { keys, network, store, incidents, lb } = foundation;
  return new AdminApi(stack, 'Admin', {
    listener: lb.httpsListener,
    vpc: network.vpc,
    store,
    hmacKey: keys.hmacKey,
    logsKey: keys.logsKey,
    erasure: erasureInStack(stack, {}, foundation),
    alarms: incidents,
    ...extra,
  });
}

/** A Watchdog with everything it needs around it, in `stack`. */
export function watchdogInStack(stack: Stack, extra: Partial<WatchdogProps> = {}): Watchdog {
  const { keys, network, store, incidents } = foundationInStack(stack);
  return new Watchdog(stack, 'Watchdog', {
    vpc: network.vpc,
    store,
    logsKey: keys.logsKey,
    alarms: incidents,
    ...extra,
  });
}
