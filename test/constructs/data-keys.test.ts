import { Duration, NestedStack, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DataKeys, DataKeysProps } from '../../lib/data-keys';
import { expectThrowsExactly, keyPolicyStatements, logicalId, testStack } from '../support/stacks';

function build(props?: DataKeysProps): { stack: Stack; keys: DataKeys; template: Template } {
  const stack = testStack();
  const keys = new DataKeys(stack, 'DataKeys', props);
  return { stack, keys, template: Template.fromStack(stack) };
}

const SYMMETRIC = ['metadata', 'images', 'logs', 'queues'] as const;

describe('DataKeys', () => {
  const { stack, keys, template } = build();
  const symmetricKeys = () => [keys.metadataKey, keys.imagesKey, keys.logsKey, keys.queuesKey];

  test('creates six keys: four symmetric, one HMAC, one signing', () => {
    template.resourceCountIs('AWS::KMS::Key', 6);
    template.resourceCountIs('AWS::KMS::Alias', 6);
    expect(keys.allKeys).toHaveLength(6);
  });

  test('the four symmetric keys rotate every 365 days by default', () => {
    const all = template.findResources('AWS::KMS::Key');
    for (const key of symmetricKeys()) {
      const props = all[logicalId(key)].Properties;
      expect(props.EnableKeyRotation).toBe(true);
      expect(props.RotationPeriodInDays).toBe(365);
      // SYMMETRIC_DEFAULT is AES-256-GCM; CloudFormation omits the property for it.
      expect(props.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
      expect(props.KeyUsage ?? 'ENCRYPT_DECRYPT').toBe('ENCRYPT_DECRYPT');
    }
    template.resourcePropertiesCountIs(
      'AWS::KMS::Key',
      { EnableKeyRotation: true, RotationPeriodInDays: 365 },
      4,
    );
  });

  test('a custom rotationPeriod reaches every symmetric key', () => {
    const custom = build({ rotationPeriod: Duration.days(180) }).template;
    custom.resourcePropertiesCountIs(
      'AWS::KMS::Key',
      { EnableKeyRotation: true, RotationPeriodInDays: 180 },
      4,
    );
    custom.resourcePropertiesCountIs('AWS::KMS::Key', { RotationPeriodInDays: 365 }, 0);
  });

  test('the HMAC key is HMAC_256 for GenerateMac/VerifyMac', () => {
    const props = template.findResources('AWS::KMS::Key')[logicalId(keys.hmacKey)].Properties;
    expect(props).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    // KMS cannot rotate HMAC keys automatically; asking it to would fail the deployment.
    expect(props.EnableKeyRotation).toBeUndefined();
    expect(props.RotationPeriodInDays).toBeUndefined();
  });

  test('the signing key is an ECC_NIST_P256 SIGN_VERIFY key', () => {
    const props = template.findResources('AWS::KMS::Key')[logicalId(keys.signingKey)].Properties;
    expect(props).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(props.EnableKeyRotation).toBeUndefined();
  });

  test('each key has the alias alias/<stack name in lower case>/<name>', () => {
    expect(stack.stackName).toBe('Test');
    const names = [...SYMMETRIC, 'hmac', 'signing'];
    const keyOf: Record<string, string> = {
      metadata: logicalId(keys.metadataKey),
      images: logicalId(keys.imagesKey),
      logs: logicalId(keys.logsKey),
      queues: logicalId(keys.queuesKey),
      hmac: logicalId(keys.hmacKey),
      signing: logicalId(keys.signingKey),
    };
    for (const name of names) {
      template.hasResourceProperties('AWS::KMS::Alias', {
        AliasName: `alias/test/${name}`,
        TargetKeyId: { 'Fn::GetAtt': [keyOf[name], 'Arn'] },
      });
    }
  });

  test('stacks of different names get different aliases (alias names are account-wide)', () => {
    const aliasesOf = (name: string) => {
      const named = testStack({}, name);
      new DataKeys(named, 'DataKeys');
      return Object.values(Template.fromStack(named).findResources('AWS::KMS::Alias'))
        .map((a) => a.Properties.AliasName as string)
        .sort();
    };
    const names = [...SYMMETRIC, 'hmac', 'signing'].sort();
    expect(aliasesOf('Ephemera')).toEqual(names.map((n) => `alias/ephemera/${n}`));
    expect(aliasesOf('EphemeraStaging')).toEqual(names.map((n) => `alias/ephemerastaging/${n}`));
  });

  test('in a nested stack (its name unknown at synth) aliasPrefix is required', () => {
    const parent = testStack({}, 'Parent');
    const nested = new NestedStack(parent, 'Nested');
    expectThrowsExactly(
      () => new DataKeys(nested, 'DataKeys'),
      'Invalid DataKeys props:\n  - aliasPrefix is required where the stack name is not known at synth (a nested stack): alias names must be unique in the account and region',
    );
    expect(() => new DataKeys(nested, 'Named', { aliasPrefix: 'alias/nested' })).not.toThrow();
  });

  test('a custom aliasPrefix is used for every alias', () => {
    const custom = build({ aliasPrefix: 'alias/acme/ephemera' }).template;
    const aliases = Object.values(custom.findResources('AWS::KMS::Alias')).map(
      (a) => a.Properties.AliasName,
    );
    expect(aliases.sort()).toEqual(
      [...SYMMETRIC, 'hmac', 'signing'].map((n) => `alias/acme/ephemera/${n}`).sort(),
    );
  });

  test('every key waits 30 days before deletion and is retained with the stack by default', () => {
    template.resourcePropertiesCountIs('AWS::KMS::Key', { PendingWindowInDays: 30 }, 6);
    const all = template.findResources('AWS::KMS::Key');
    for (const key of Object.values(all)) {
      expect(key.DeletionPolicy).toBe('Retain');
      expect(key.UpdateReplacePolicy).toBe('Retain');
    }
  });

  test('removalPolicy DESTROY and a 7-day pendingWindow are passed through', () => {
    const custom = build({
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    }).template;
    custom.resourcePropertiesCountIs('AWS::KMS::Key', { PendingWindowInDays: 7 }, 6);
    for (const key of Object.values(custom.findResources('AWS::KMS::Key'))) {
      expect(key.DeletionPolicy).toBe('Delete');
    }
  });

  test('every key policy keeps the account root and denies grants except for AWS resources', () => {
    for (const key of keys.allKeys) {
      const statements = keyPolicyStatements(template, key);
      expect(statements).toContainEqual({
        Action: 'kms:*',
        Effect: 'Allow',
        Principal: {
          AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] },
        },
        Resource: '*',
      });
      expect(statements).toContainEqual({
        Sid: 'DenyGrantsExceptForAwsResources',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          BoolIfExists: {
            'kms:GrantIsForAWSResource': 'false',
            'aws:PrincipalIsAWSService': 'false',
          },
        },
      });
    }
  });

  test('CloudWatch Logs of this region may use the logs key, for this account’s log groups only', () => {
    const statements = keyPolicyStatements(template, keys.logsKey);
    expect(statements).toContainEqual({
      Sid: 'AllowCloudWatchLogsForThisAccount',
      Effect: 'Allow',
      Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
      Action: [
        'kms:Decrypt*',
        'kms:Describe*',
        'kms:Encrypt*',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
      ],
      Resource: '*',
      Condition: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': {
            'Fn::Join': [
              '',
              ['arn:aws:logs:eu-west-1:', { Ref: 'AWS::AccountId' }, ':log-group:*'],
            ],
          },
        },
      },
    });
  });

  test('CloudWatch alarms may use the queues key, from this account only', () => {
    const statements = keyPolicyStatements(template, keys.queuesKey);
    expect(statements).toContainEqual({
      Sid: 'AllowCloudWatchAlarmsFromThisAccount',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
  });

  test('no service principal is allowed on any key other than its data class’s key', () => {
    const servicePrincipals = (key: (typeof keys.allKeys)[number]) =>
      keyPolicyStatements(template, key)
        .filter((s) => s.Effect === 'Allow')
        .map((s) => (s.Principal as Record<string, unknown>).Service)
        .filter((s) => s !== undefined);
    expect(servicePrincipals(keys.metadataKey)).toEqual([]);
    expect(servicePrincipals(keys.imagesKey)).toEqual([]);
    expect(servicePrincipals(keys.hmacKey)).toEqual([]);
    expect(servicePrincipals(keys.signingKey)).toEqual([]);
    expect(servicePrincipals(keys.logsKey)).toEqual(['logs.eu-west-1.amazonaws.com']);
    expect(servicePrincipals(keys.queuesKey)).toEqual(['cloudwatch.amazonaws.com']);
  });

  test('keyFor maps each data class to its key', () => {
    expect(keys.keyFor('metadata')).toBe(keys.metadataKey);
    expect(keys.keyFor('images')).toBe(keys.imagesKey);
    expect(keys.keyFor('logs')).toBe(keys.logsKey);
    expect(keys.keyFor('queues')).toBe(keys.queuesKey);
    expect(stack.resolve(keys.keyFor('logs').keyArn)).toEqual({
      'Fn::GetAtt': [logicalId(keys.logsKey), 'Arn'],
    });
  });

  describe('validation', () => {
    test('rotationPeriod, pendingWindow and aliasPrefix problems are reported together', () => {
      expectThrowsExactly(
        () =>
          new DataKeys(testStack(), 'DataKeys', {
            rotationPeriod: Duration.days(89),
            pendingWindow: Duration.days(31),
            aliasPrefix: 'ephemera',
          }),
        'Invalid DataKeys props:\n' +
          '  - rotationPeriod must be between 90 days and 2560 days (got 89 days)\n' +
          '  - pendingWindow must be between 7 days and 30 days (got 31 days)\n' +
          "  - aliasPrefix must look like 'alias/<name>' and not start with 'alias/aws' (got 'ephemera')",
      );
    });

    test.each([
      [
        'rotationPeriod 2561 days',
        { rotationPeriod: Duration.days(2561) },
        'rotationPeriod must be between 90 days and 2560 days (got 2561 days)',
      ],
      [
        'pendingWindow 6 days',
        { pendingWindow: Duration.days(6) },
        'pendingWindow must be between 7 days and 30 days (got 6 days)',
      ],
      [
        "aliasPrefix 'alias/aws/ephemera'",
        { aliasPrefix: 'alias/aws/ephemera' },
        "aliasPrefix must look like 'alias/<name>' and not start with 'alias/aws' (got 'alias/aws/ephemera')",
      ],
      [
        "aliasPrefix 'alias/has space'",
        { aliasPrefix: 'alias/has space' },
        "aliasPrefix must look like 'alias/<name>' and not start with 'alias/aws' (got 'alias/has space')",
      ],
    ] as Array<[string, DataKeysProps, string]>)('%s is rejected', (_label, props, problem) => {
      expectThrowsExactly(
        () => new DataKeys(testStack(), 'DataKeys', props),
        `Invalid DataKeys props:\n  - ${problem}`,
      );
    });

    test.each([
      ['the lower bounds', { rotationPeriod: Duration.days(90), pendingWindow: Duration.days(7) }],
      [
        'the upper bounds',
        { rotationPeriod: Duration.days(2560), pendingWindow: Duration.days(30) },
      ],
      ['the shortest alias prefix', { aliasPrefix: 'alias/a' }],
    ] as Array<[string, DataKeysProps]>)('%s are accepted', (_label, props) => {
      expect(() => new DataKeys(testStack(), 'DataKeys', props)).not.toThrow();
    });
  });
});
