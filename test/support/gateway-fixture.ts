import { Stack } from 'aws-cdk-lib';
import { DataKeys } from '../../lib/data-keys';
import { IncidentResponse } from '../../lib/incident-response';
import { InferenceGateway, InferenceGatewayProps } from '../../lib/inference-gateway';
import { IsolatedNetwork } from '../../lib/isolated-network';
import { MetadataStore } from '../../lib/metadata-store';
import { ShortTtlImageBucket } from '../../lib/short-ttl-image-bucket';
import { TlsLoadBalancer } from '../../lib/tls-load-balancer';
import { testCertificate } from './stacks';

/** An InferenceGateway with everything it needs around it, in `stack`. */
export function gatewayInStack(
  stack: Stack,
  extra: Partial<InferenceGatewayProps> = {},
): InferenceGateway {
  const keys = new DataKeys(stack, 'Keys');
  const network = new IsolatedNetwork(stack, 'Net', { logsKey: keys.logsKey });
  const store = new MetadataStore(stack, 'Store', { encryptionKey: keys.metadataKey });
  const incidents = new IncidentResponse(stack, 'Incidents', {
    encryptionKey: keys.queuesKey,
    watchedKeys: keys.allKeys,
  });
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
  return new InferenceGateway(stack, 'Gateway', {
    listener: lb.httpsListener,
    vpc: network.vpc,
    usageTable: store.usageTable,
    keyTable: store.keyTable,
    metadataKey: keys.metadataKey,
    images,
    hmacKey: keys.hmacKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    ...extra,
  });
}
