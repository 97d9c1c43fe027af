import type { App, IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { CfnResource } from 'aws-cdk-lib';
import type { BackgroundPack } from './background-packs';
import { PackWorker, reportOf } from './pack-worker';

/**
 * CloudFormation's own template validator (aws-cdk-lib's
 * CloudFormationValidatePlugin, the same code and the same verdict), run in a
 * worker thread so that its slowest part overlaps the rest of the synth.
 *
 * The validator's engine compiles the CloudFormation rules for the resource
 * types in the templates: about 2 s for this stack, more than any other pack
 * takes. That depends only on the resource types, which the construct tree
 * already names before the templates are written. So `start(app)`, called
 * just before `app.synth()`, hands the worker the tree's resource types; the
 * worker loads the validator and builds its engine while the main thread
 * prepares the app and writes the templates. As soon as CDK invokes the
 * app's first pack, `begin` hands the worker the templates, which it
 * validates with the engine it already has (the validator rebuilds it if the
 * templates hold a type the tree did not name) while the main thread runs
 * the other packs (./background-packs). When CDK asks this plugin for its
 * verdict, the main thread takes the worker's answer, waiting for it if
 * needed.
 *
 * Without `start`, or when the worker cannot run, the validator runs in the
 * main thread as CDK would run it.
 */

/** The validator's name, as CDK's report writes it (CloudFormationValidatePlugin.PLUGIN_NAME). */
export const CFN_VALIDATE_PLUGIN_NAME = 'CloudFormation Validate';

/** Resource types CDK adds while synthesizing, after the tree is read. */
const ADDED_AT_SYNTH = ['AWS::CDK::Metadata'];

/** Every resource type the construct tree holds, plus those CDK adds at synth. */
export function treeResourceTypes(app: App): string[] {
  const types = new Set(ADDED_AT_SYNTH);
  for (const c of app.node.findAll()) {
    if (CfnResource.isCfnResource(c)) types.add(c.cfnResourceType);
  }
  return [...types].sort();
}

/**
 * CloudFormation's template validator, run in a worker thread once `start`
 * is called (see above); its report is the in-process validator's.
 */
export class CloudFormationValidateInWorker implements BackgroundPack {
  public readonly name = CFN_VALIDATE_PLUGIN_NAME;
  private readonly worker = new PackWorker({
    module: require.resolve('aws-cdk-lib'),
    exportName: 'CloudFormationValidatePlugin',
  });

  /**
   * Starts the worker and its engine for the app's resource types. Call it
   * once the tree is complete, just before `app.synth()`; `stop()` after.
   */
  public start(app: App): void {
    // The engine is an internal of the validator: were the method ever
    // missing, validate() would build the engine itself.
    this.worker.start({
      args: [],
      method: 'initializeEngine',
      methodArgs: [new Set(treeResourceTypes(app))],
    });
  }

  /** Hands the worker the templates, which it validates while the other packs run. */
  public begin(context: IPolicyValidationContext): void {
    this.worker.ask([], context);
  }

  /** Ends the worker (also when its verdict was not needed, e.g. reused). */
  public stop(): void {
    this.worker.stop();
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const answer = this.worker.answer([], context);
    if (answer) return reportOf(answer);
    // No worker: validated here, as CDK would. Loaded only now, since the
    // validator compiles its WebAssembly when first used.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CloudFormationValidatePlugin } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
    return new CloudFormationValidatePlugin().validate(context);
  }
}
