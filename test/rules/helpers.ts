import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { RetentionTransportChecks } from '../../lib/rules';

/** A fresh app with one environment-specific stack (TableV2 replicas need a region). */
export function newStack(): { app: App; stack: Stack } {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  return { app, stack };
}

/** Every finding of the pack in `scope`, as sorted `<rule id> <construct path>` lines. */
export function findings(scope: IConstruct): string[] {
  const report = new RetentionTransportChecks().validateScope(scope);
  return report.violations
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
    .sort();
}

/** The rule ids reported for one resource (an L1, or an L2 through its default child). */
export function ruleIdsFor(construct: IConstruct): string[] {
  const resource = CfnResource.isCfnResource(construct)
    ? construct
    : (construct.node.defaultChild as CfnResource);
  const app = construct.node.root;
  const report = new RetentionTransportChecks().validateScope(app);
  return report.violations
    .filter((v) => v.violatingResources.some((r) => r.constructPath === resource.node.path))
    .map((v) => v.ruleName)
    .sort();
}
