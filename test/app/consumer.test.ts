/**
 * An engineer reuses Ephemera's constructs in a stack of their own, importing
 * only from lib/index.ts, and runs the same rule packs: no findings.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  compliancePlugins,
  DataKeys,
  IncidentResponse,
  IsolatedNetwork,
  readComplianceReport,
  RetentionTransportChecks,
  ShortTtlImageBucket,
} from '../../lib/index';
import { tempOutdir } from '../support/ephemera-app';

test('DataKeys + IsolatedNetwork + IncidentResponse + ShortTtlImageBucket in a user stack pass every pack', () => {
  const app = new App({
    outdir: tempOutdir(),
    context: { '@aws-cdk/core:failSynthOnValidationErrors': false },
  });
  const stack = new Stack(app, 'TeamImages', { env: { region: 'eu-central-1' } });
  const keys = new DataKeys(stack, 'Keys', { aliasPrefix: 'alias/team-images' });
  const network = new IsolatedNetwork(stack, 'Net', { logsKey: keys.logsKey });
  const incidents = new IncidentResponse(stack, 'Incidents', {
    encryptionKey: keys.queuesKey,
    watchedKeys: keys.allKeys,
  });
  const images = new ShortTtlImageBucket(stack, 'Images', {
    encryptionKey: keys.imagesKey,
    logsKey: keys.logsKey,
    alarms: incidents,
    ttl: Duration.minutes(30),
    vpc: network.vpc,
    vpcSubnets: network.workloadSubnets,
  });
  const plugins = compliancePlugins(app);
  Validations.of(app).addPlugins(...plugins);
  const assembly = app.synth();
  const summary = readComplianceReport(
    assembly.directory,
    app,
    plugins.map((p) => p.name),
  );
  expect(summary.findings).toEqual([]);
  expect(plugins.some((p) => p instanceof RetentionTransportChecks)).toBe(true);

  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  expect(images.ttl.toMinutes()).toBe(30);
});
