import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import { HMAC_KEY_OUTPUT, KEY_TABLE_OUTPUT } from './core/stack-outputs';

export { HMAC_KEY_OUTPUT, KEY_TABLE_OUTPUT };

export interface ApiKeyOutputsProps {
  /** The table API keys live in: a `MetadataStore`'s `keyTable`. */
  readonly keyTable: dynamodb.ITable;
  /** The HMAC_256 key their secrets are hashed with: a `DataKeys`' `hmacKey`. */
  readonly hmacKey: kms.IKey;
}

/** The outputs `addApiKeyOutputs` created. */
export interface ApiKeyOutputs {
  readonly keyTable: CfnOutput;
  readonly hmacKey: CfnOutput;
}

/**
 * Adds the two outputs the keys CLI reads to the stack of `scope`:
 * `KeyTableName` and `HmacKeyId`, so that `ephemera-keys create --stack
 * <stack name> ...` finds its target once the stack is deployed (without
 * them, pass `--table` and `--hmac-key`). Once per stack; `EphemeraStack`
 * adds them itself.
 */
export function addApiKeyOutputs(scope: IConstruct, props: ApiKeyOutputsProps): ApiKeyOutputs {
  const stack = Stack.of(scope);
  return {
    keyTable: new CfnOutput(stack, KEY_TABLE_OUTPUT, { value: props.keyTable.tableName }),
    hmacKey: new CfnOutput(stack, HMAC_KEY_OUTPUT, { value: props.hmacKey.keyId }),
  };
}
