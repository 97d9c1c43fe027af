import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type {
  App,
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import type { BackgroundPack } from '../background-packs';

/**
 * Reusing a rule pack's verdict on an unchanged re-synth. A pack that reads
 * only the synthesized templates (cfn-guard, CloudFormation's own validator)
 * gives the same verdict for the same templates: acknowledgements are applied
 * by CDK afterwards, from the construct tree. So its report is stored beside
 * the templates with a key over everything it was computed from (the pack's
 * identity and version, each stack's path, account and region, and each
 * template's bytes), and a later synth into the same output directory that
 * writes the same templates reads it back instead of running the pack.
 *
 * Packs that walk the construct tree (cdk-nag, EphemeraRT) are never reused.
 */

/** The file beside the templates that keeps a pack's last verdict. */
export function verdictFile(outdir: string, pluginName: string): string {
  const slug = pluginName.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return path.join(outdir, `${slug}.verdict.json`);
}

interface StoredVerdict {
  readonly key: string;
  readonly report: PolicyValidationPluginReport;
}

/** SHA-256 over the pack's identity and the context's stacks and template bytes. */
export function verdictKey(context: IPolicyValidationContext, identity: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of identity) hash.update(part).update('\0');
  const stacks = [...context.stackTemplates].sort((a, b) =>
    a.templatePath.localeCompare(b.templatePath),
  );
  for (const s of stacks) {
    hash.update(JSON.stringify([s.stackConstructPath, s.templatePath, s.accountId, s.region]));
  }
  for (const template of [...context.templatePaths].sort()) {
    hash.update(`\0${template}\0`).update(fs.readFileSync(template));
  }
  return hash.digest('hex');
}

/**
 * The verdict stored for exactly this context and identity, or `run()`'s,
 * stored for next time. An unreadable or stale store is recomputed, never
 * trusted.
 */
export function reusableVerdict(
  context: IPolicyValidationContext,
  pluginName: string,
  identity: readonly string[],
  run: () => PolicyValidationPluginReport,
): PolicyValidationPluginReport {
  if (context.templatePaths.length === 0) return run();
  const reused = storedVerdict(context, pluginName, identity);
  if (reused) return reused;
  const report = run();
  const stored: StoredVerdict = { key: verdictKey(context, [pluginName, ...identity]), report };
  fs.writeFileSync(
    verdictFile(path.dirname(context.templatePaths[0]), pluginName),
    JSON.stringify(stored),
  );
  return report;
}

/** The verdict stored for exactly this context and identity, if any. */
export function storedVerdict(
  context: IPolicyValidationContext,
  pluginName: string,
  identity: readonly string[],
): PolicyValidationPluginReport | undefined {
  if (context.templatePaths.length === 0) return undefined;
  const file = verdictFile(path.dirname(context.templatePaths[0]), pluginName);
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredVerdict;
    if (stored.key === verdictKey(context, [pluginName, ...identity])) return stored.report;
  } catch {
    // Nothing stored yet, or not readable: compute it.
  }
  return undefined;
}

/**
 * Wraps a pack whose verdict depends on the templates alone, so an unchanged
 * re-synth reuses it. `identity` names what else the verdict depends on (the
 * pack's version, its rules).
 */
export class ReusedVerdict implements IPolicyValidationPlugin {
  public readonly name: string;

  constructor(
    private readonly plugin: IPolicyValidationPlugin,
    protected readonly identity: readonly string[],
  ) {
    this.name = plugin.name;
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return reusableVerdict(context, this.name, this.identity, () => this.plugin.validate(context));
  }
}

/**
 * A background pack (./background-packs) whose verdict is reused on an
 * unchanged re-synth: the pack begins its work only when no stored verdict
 * fits the templates, and stops when one does.
 */
export class ReusedBackgroundVerdict extends ReusedVerdict implements BackgroundPack {
  constructor(
    private readonly pack: BackgroundPack,
    identity: readonly string[],
  ) {
    super(pack, identity);
  }

  public start(app: App): void {
    this.pack.start(app);
  }

  public begin(context: IPolicyValidationContext): void {
    if (storedVerdict(context, this.name, this.identity)) this.pack.stop();
    else this.pack.begin(context);
  }

  public stop(): void {
    this.pack.stop();
  }
}
