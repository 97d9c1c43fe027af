import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, IPolicyValidationContext, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EphemeraStack } from '../../lib/ephemera-stack';

/** The context of cdk.json, as `cdk synth` would see it. */
export function cdkJsonContext(): Record<string, unknown> {
  const file = path.join(__dirname, '..', '..', 'cdk.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { context: Record<string, unknown> })
    .context;
}

/** A fresh cloud-assembly directory, removed when the process exits. */
export function tempOutdir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ephemera-cdk-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestAppOptions {
  /** Extra context on top of cdk.json's. */
  readonly context?: Record<string, unknown>;
  /** Bundle the Lambda code with esbuild (slower). @default false */
  readonly bundle?: boolean;
  /** Run CDK's built-in CloudFormation validation (about 2 s). @default false */
  readonly builtinValidation?: boolean;
}

/** An app with cdk.json's context, for tests that build stacks. */
export function testApp(options: TestAppOptions = {}): App {
  return new App({
    outdir: tempOutdir(),
    builtinCloudFormationValidation: options.builtinValidation ?? false,
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

/** The default Ephemera stack in eu-west-1 and its template. */
export function defaultStack(options: TestAppOptions = {}): {
  app: App;
  stack: EphemeraStack;
  template: Template;
} {
  const app = testApp(options);
  const stack = new EphemeraStack(app, 'Ephemera', { env: { region: 'eu-west-1' } });
  return { app, stack, template: Template.fromStack(stack) };
}

/** Construct paths (relative to the stack, without `/Resource`) by logical id. */
export function constructPaths(stack: Stack): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(c)) continue;
    out.set(
      stack.getLogicalId(c),
      c.node.path.slice(stack.node.path.length + 1).replace(/\/Resource$/, ''),
    );
  }
  return out;
}

/**
 * Synthesizes the app of `stack` and returns what a rule pack is given for
 * that one stack: its template path, its environment and the construct tree.
 */
export function validationContextOf(stack: Stack): IPolicyValidationContext {
  const app = stack.node.root as App;
  const assembly = app.synth();
  const templatePath = path.join(assembly.directory, stack.templateFile);
  return {
    templatePaths: [templatePath],
    stackTemplates: [
      {
        stackConstructPath: stack.node.path,
        templatePath,
        accountId: Token.isUnresolved(stack.account) ? undefined : stack.account,
        region: Token.isUnresolved(stack.region) ? undefined : stack.region,
      },
    ],
    appConstruct: app,
  };
}
