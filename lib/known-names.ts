/**
 * What the app and `EphemeraStack` accept by name, and the refusal of
 * anything else: a context key that is neither Ephemera's nor CDK's own, a
 * prop or a `config` property that `EphemeraStack` does not read. A misspelt
 * key would otherwise be ignored and leave its default in place: with
 * `frontdoor=private`, a public stack.
 */
import { ContextProvider } from 'aws-cdk-lib/cloud-assembly-schema';
import { IConstruct } from 'constructs';
import type { EphemeraConfig, EphemeraStackProps } from './config';
import { SETTING_KEYS } from './core/config-schema';
import { closestName, unknownNameMessage } from './core/unknown-names';

/** Where every Ephemera context key is listed. */
export const CONFIGURATION_DOC = 'docs/configuration.md';

/**
 * The namespaces of CDK's own context keys: feature flags and library
 * settings (`@aws-cdk/core:...`, `@aws-cdk/aws-s3:...`,
 * `@aws-cdk-containers/...`), what the CLI and aws-cdk-lib set for the app
 * (`aws:cdk:enable-path-metadata`, `aws:cdk:bundling-stacks`,
 * `aws:cdk:version-reporting`, ...), the CLI's own settings
 * (`aws-cdk:enableDiffNoFail`), aws-cdk-lib's private keys
 * (`aws-cdk-private:...`) and project markers (`cdk-migrate`).
 */
export const CDK_CONTEXT_PREFIXES: readonly string[] = [
  '@aws-cdk/',
  '@aws-cdk-containers/',
  'aws:cdk:',
  'aws-cdk:',
  'aws-cdk-private:',
  'cdk-',
];

/**
 * CDK's own context keys outside those namespaces: `cdk acknowledge` writes
 * `acknowledged-issue-numbers`, `cdk cli-telemetry` writes `cli-telemetry`,
 * and aws-ecr-assets reads `assets-ecr-repository-name`.
 */
export const CDK_CONTEXT_NAMES: readonly string[] = [
  'acknowledged-issue-numbers',
  'cli-telemetry',
  'assets-ecr-repository-name',
];

/** CDK's context providers (`availability-zones`, `ssm`, `hosted-zone`, `vpc-provider`, ...). */
const CONTEXT_PROVIDERS: readonly string[] = Object.values(ContextProvider);

/**
 * Whether a context key is CDK's own: in one of CDK_CONTEXT_PREFIXES' namespaces,
 * one of CDK_CONTEXT_NAMES, or a lookup's cached answer, which the CLI writes
 * to cdk.context.json under `<provider>:<its parameters>`
 * (`availability-zones:account=111122223333:region=eu-west-1`): a CDK context
 * provider's name and a colon, or any key naming an `account=` among its
 * parameters.
 */
export function isCdkContextKey(key: string): boolean {
  return (
    CDK_CONTEXT_PREFIXES.some((p) => key.startsWith(p)) ||
    CDK_CONTEXT_NAMES.includes(key) ||
    CONTEXT_PROVIDERS.some((p) => key.startsWith(`${p}:`)) ||
    key.includes(':account=')
  );
}

/**
 * One line per context key of `scope` that is neither in `known` (by default
 * Ephemera's keys, lib/core/config-schema.ts) nor CDK's own, in the order
 * they were set, each naming the closest known key. The context is all of it,
 * wherever it came from: cdk.json, `-c`, cdk.context.json and ~/.cdk.json
 * (which the CDK CLI hands the app in `CDK_CONTEXT_JSON`), and the app's own.
 */
export function unknownContextKeys(
  scope: IConstruct,
  known: readonly string[] = SETTING_KEYS,
): string[] {
  return Object.keys(scope.node.getAllContext() as Record<string, unknown>)
    .filter((key) => !known.includes(key) && !isCdkContextKey(key))
    .map((key) => unknownNameMessage('context key', key, known, CONFIGURATION_DOC));
}

/**
 * Refuses the context of `scope` (the app) when any key is unknown
 * (unknownContextKeys), naming every one at once. `known` adds your own keys
 * to Ephemera's, for an app of your own.
 */
export function checkContextKeys(scope: IConstruct, known: readonly string[] = []): void {
  const problems = unknownContextKeys(scope, [...SETTING_KEYS, ...known]);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Each property of a props type, required or optional (so the list is complete and exact). */
type Presence<T> = {
  readonly [K in keyof Required<T>]-?: undefined extends T[K] ? 'optional' : 'required';
};

/** Every prop `EphemeraStack` reads: StackProps' and `config`. */
const STACK_PROPS: Presence<EphemeraStackProps> = {
  analyticsReporting: 'optional',
  config: 'optional',
  crossRegionReferences: 'optional',
  description: 'optional',
  env: 'optional',
  notificationArns: 'optional',
  permissionsBoundary: 'optional',
  propertyInjectors: 'optional',
  stackName: 'optional',
  suppressTemplateIndentation: 'optional',
  synthesizer: 'optional',
  tags: 'optional',
  terminationProtection: 'optional',
};

/** Every property of `EphemeraConfig`, and which must be there. */
const CONFIG_PROPERTIES: Presence<EphemeraConfig> = {
  imageTtl: 'required',
  imageSweepInterval: 'required',
  metadataRetentionDays: 'required',
  logRetention: 'required',
  accessLogRetentionDays: 'required',
  certificateArn: 'optional',
  domainName: 'optional',
  hostedZoneId: 'optional',
  hostedZoneName: 'optional',
  tlsVersions: 'required',
  fips: 'required',
  maxAzs: 'required',
  vpcCidr: 'required',
  frontDoor: 'required',
  frontDoorKind: 'required',
  apiVpcEndpointIds: 'required',
  apiGatewayAccountRole: 'required',
  allowedCidrs: 'optional',
  httpRedirect: 'required',
  webAclArn: 'optional',
  alarmEmails: 'required',
  allowedRegions: 'required',
  allowInternetEgress: 'required',
  keyRotationDays: 'required',
  removalPolicy: 'required',
  upstream: 'required',
  models: 'required',
  gatewayTimeout: 'required',
  gatewayMaxConcurrency: 'required',
  reserveConcurrency: 'required',
  remoteImageUrls: 'required',
  accessLogs: 'required',
  maxKeyAgeDays: 'required',
  endpointServicePrincipals: 'required',
  allowInsecureTrustAll: 'required',
  receiptWebhookUrl: 'optional',
  settings: 'required',
};

/** The props' own (enumerable, string-named) property names; anything but an object has none. */
const namesOf = (o: unknown): string[] =>
  typeof o === 'object' && o !== null ? Object.keys(o) : [];

/**
 * What is wrong with the names in `EphemeraStack`'s props, for callers that
 * TypeScript does not check (JavaScript, or an object cast to the type): a
 * prop it does not read, where a context key given as a prop is named as
 * one; and in `config`, a property `EphemeraConfig` does not have, or one it
 * requires that is missing. Values are left to the stack.
 */
export function stackPropsProblems(props: unknown): string[] {
  const propNames = Object.keys(STACK_PROPS);
  const problems = namesOf(props)
    .filter((name) => !Object.hasOwn(STACK_PROPS, name))
    .map((name) => {
      const prop = closestName(name, propNames);
      const key = prop === undefined ? closestName(name, SETTING_KEYS) : undefined;
      return key === undefined
        ? unknownNameMessage('EphemeraStack prop', name, propNames, CONFIGURATION_DOC)
        : `Unknown EphemeraStack prop '${name}': did you mean the context key '${key}' (cdk.json or -c ${key}=...), or a whole 'config'? (see ${CONFIGURATION_DOC})`;
    });
  // Without a config (undefined or null), the stack reads its context.
  const config = (props as { config?: Record<string, unknown> | null } | undefined)?.config;
  if (config === undefined || config === null) return problems;
  const configNames = Object.keys(CONFIG_PROPERTIES);
  return [
    ...problems,
    ...namesOf(config)
      .filter((name) => !Object.hasOwn(CONFIG_PROPERTIES, name))
      .map((name) =>
        unknownNameMessage('EphemeraStack config property', name, configNames, CONFIGURATION_DOC),
      ),
    ...Object.entries(CONFIG_PROPERTIES)
      .filter(([name, presence]) => presence === 'required' && config[name] === undefined)
      .map(
        ([name]) =>
          `EphemeraStack config lacks '${name}': give a whole EphemeraConfig (readConfig reads one from context)`,
      ),
  ];
}

/** Refuses `EphemeraStack`'s props when stackPropsProblems finds any, naming every one at once. */
export function checkStackProps<P>(props: P): P {
  const problems = stackPropsProblems(props);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return props;
}
