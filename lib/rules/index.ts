export * from './retention-transport-checks';
export * from './retention-rules';
export * from './encryption-rules';
export * from './transport-rules';
export * from './rest-api-rules';
export { classifyKmsKey } from './cfn-values';
export type { KmsKeyKind } from './cfn-values';
