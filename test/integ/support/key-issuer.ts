import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  generateMacStatement,
  keyViaService,
  TABLE_KEY_ACTIONS,
} from '../../../lib/private/kms-statements';

const ROOT = path.join(__dirname, '..', '..', '..');
const HANDLER = path.join(__dirname, 'issue-key-handler.ts');
const CORE = path.join(ROOT, 'lib', 'core');

export interface KeyIssuerProps {
  /** The deployment's key table. */
  readonly keyTable: dynamodb.ITable;
  /** The key that encrypts the key table. */
  readonly metadataKey: kms.IKey;
  /** The HMAC key the stored secret hashes are computed with. */
  readonly hmacKey: kms.IKey;
}

/**
 * A function that creates API keys in a deployed Ephemera stack, for the
 * integration tests' assertions (`invokeFunction`). It runs outside the VPC
 * (DynamoDB and KMS over their public endpoints) with only PutItem on the key
 * table, GenerateMac on the HMAC key and the table key through DynamoDB: what
 * `npm run keys -- create` needs.
 */
export class KeyIssuer extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: KeyIssuerProps) {
    super(scope, id);
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: issuerCode(),
      timeout: Duration.seconds(30),
      memorySize: 256,
      description: 'Ephemera integration tests: creates API keys for the assertions',
      environment: {
        KEY_TABLE_NAME: props.keyTable.tableName,
        HMAC_KEY_ID: props.hmacKey.keyArn,
      },
      logGroup: new logs.LogGroup(this, 'LogGroup', {
        retention: logs.RetentionDays.ONE_DAY,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.keyTable.tableArn],
      }),
    );
    this.function.addToRolePolicy(generateMacStatement(props.hmacKey));
    this.function.addToRolePolicy(
      keyViaService(this, props.metadataKey, 'dynamodb', TABLE_KEY_ACTIONS),
    );
  }
}

/** The handler, bundled by esbuild in this process (no Docker), hashed by its sources. */
function issuerCode(): lambda.Code {
  return lambda.Code.fromAsset(__dirname, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: sourcesHash(),
    bundling: {
      // Never used: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('ephemera-integ-bundles-locally-without-docker'),
      local: {
        tryBundle(outputDir: string): boolean {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const esbuild = require('esbuild') as typeof import('esbuild');
          esbuild.buildSync({
            entryPoints: [HANDLER],
            outfile: path.join(outputDir, 'index.js'),
            bundle: true,
            platform: 'node',
            target: 'node24',
            format: 'cjs',
            minify: true,
            // The runtime's SDK clients.
            external: ['@aws-sdk/*'],
            legalComments: 'none',
            logLevel: 'error',
          });
          return true;
        },
      },
    },
  });
}

function sourcesHash(): string {
  const hash = createHash('sha256');
  const core = fs
    .readdirSync(CORE)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => path.join(CORE, f));
  for (const file of [HANDLER, ...core]) {
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file));
  }
  return hash.digest('hex');
}
