import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type {
  App,
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import type { BackgroundPack } from './background-packs';
import { PackWorker, reportOf } from './pack-worker';
import { reusableVerdict, storedVerdict } from './private/reused-verdict';

/** Where the cfn-guard plugin keeps the AWS Control Tower proactive-control rules. */
const RULES_DIR = path.join(
  path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')),
  'rules',
  'control-tower',
  'cfn-guard',
);

const RESOURCE_TYPE = /["']AWS::[A-Za-z0-9]+::[A-Za-z0-9]+["']/g;

interface RuleFile {
  readonly file: string;
  /** Rule name as the plugin knows it (file name without `.guard`). */
  readonly name: string;
  /** Resource types the rule selects; empty means "could apply to anything". */
  readonly types: ReadonlySet<string>;
  /** SHA-256 of the rule's text. */
  readonly digest: string;
}

/** The cfn-guard plugin's version: part of the cache key, since its output may change with it. */
const PLUGIN_VERSION = (
  JSON.parse(
    fs.readFileSync(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'), 'utf8'),
  ) as { version: string }
).version;

let ruleFiles: RuleFile[] | undefined;

/** Every Control Tower rule file with the resource types it names. Read once. */
export function controlTowerRuleFiles(): RuleFile[] {
  ruleFiles ??= walk(RULES_DIR)
    .filter((f) => f.endsWith('.guard'))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(file, 'utf8');
      return {
        file,
        name: path.basename(file, '.guard'),
        types: new Set((text.match(RESOURCE_TYPE) ?? []).map((t) => t.slice(1, -1))),
        digest: createHash('sha256').update(text).digest('hex'),
      };
    });
  return ruleFiles;
}

/** The rule files that can apply to templates holding these resource types. */
export function applicableRuleFiles(
  types: ReadonlySet<string>,
  disabled: readonly string[],
): string[] {
  return controlTowerRuleFiles()
    .filter((r) => !disabled.includes(r.name))
    .filter((r) => r.types.size === 0 || [...r.types].some((t) => types.has(t)))
    .map((r) => r.file);
}

export interface ControlTowerChecksProps {
  /** Rule names (file names without `.guard`) not to run. @default - none */
  readonly disabledRules?: string[];
  /**
   * Reuse the previous verdict when the templates, the rules and the plugin
   * are byte-for-byte those it was computed from (kept next to the templates,
   * so only a re-synth into the same output directory can reuse it).
   * @default true
   */
  readonly reuseVerdict?: boolean;
}

/**
 * The AWS Control Tower proactive controls, run by `@cdklabs/cdk-validator-cfnguard`
 * (same plugin name, so acknowledgements are `cdk-validator-cfnguard::<rule>`),
 * but given only the rules that select a resource type present in the
 * templates. Every Control Tower rule filters `Resources` by type, so the
 * others could only report "not applicable"; skipping them takes cfn-guard
 * from about 2.5 s to a fraction of that on this stack (bench/synth), with
 * the same findings (test/app/control-tower-checks.test.ts compares them).
 *
 * cfn-guard runs in a child process and is the slowest pack. Its verdict is a
 * function of the templates and the rules alone, so a re-synth that writes
 * the same templates reuses the verdict stored beside them (./reused-verdict)
 * instead of running cfn-guard again. For the same reason the app runs it in
 * the background (./background-packs): once `start`ed, cfn-guard is run from
 * a worker thread as soon as the templates are written, while the main
 * thread runs the packs that walk the construct tree.
 */
export class ControlTowerChecks implements IPolicyValidationPlugin, BackgroundPack {
  public readonly name = 'cdk-validator-cfnguard';
  private readonly disabledRules: string[];
  private readonly reuseVerdict: boolean;
  private readonly worker = new PackWorker({
    module: require.resolve('@cdklabs/cdk-validator-cfnguard'),
    exportName: 'CfnGuardValidator',
  });

  constructor(props: ControlTowerChecksProps = {}) {
    this.disabledRules = props.disabledRules ?? [];
    this.reuseVerdict = props.reuseVerdict ?? true;
    const known = new Set(controlTowerRuleFiles().map((r) => r.name));
    const unknown = this.disabledRules.filter((r) => !known.has(r));
    if (unknown.length > 0) {
      throw new Error(`ControlTowerChecks: unknown disabledRules ${unknown.join(', ')}`);
    }
  }

  /** Starts the worker that will run cfn-guard (./background-packs); `stop()` after. */
  public start(_app: App): void {
    this.worker.start();
  }

  /** Has the worker run cfn-guard on the templates now, unless a stored verdict fits them. */
  public begin(context: IPolicyValidationContext): void {
    const { rules, identity } = this.rulesFor(context);
    if (rules.length === 0 || (this.reuseVerdict && storedVerdict(context, this.name, identity))) {
      this.worker.stop();
      return;
    }
    this.worker.ask(guardArgs(rules), context);
  }

  public stop(): void {
    this.worker.stop();
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const { rules, identity } = this.rulesFor(context);
    if (rules.length === 0) return { success: true, violations: [] };
    const run = (): PolicyValidationPluginReport => {
      // The worker's report if it runs, else cfn-guard run from this thread.
      const answer = this.worker.answer(guardArgs(rules), context);
      if (answer) return reportOf(answer);
      return new CfnGuardValidator(...guardArgs(rules)).validate(
        context,
      ) as PolicyValidationPluginReport;
    };
    if (!this.reuseVerdict) return run();
    return reusableVerdict(context, this.name, identity, run);
  }

  /** The rules that apply to the templates, and what their verdict depends on. */
  private rulesFor(context: IPolicyValidationContext): { rules: string[]; identity: string[] } {
    const types = new Set<string>();
    for (const templatePath of context.templatePaths) {
      const template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as {
        Resources?: Record<string, { Type?: string }>;
      };
      for (const resource of Object.values(template.Resources ?? {})) {
        if (resource.Type) types.add(resource.Type);
      }
    }
    const rules = applicableRuleFiles(types, this.disabledRules);
    const digests = new Map(controlTowerRuleFiles().map((r) => [r.file, r.digest]));
    const identity = [PLUGIN_VERSION, ...rules.map((r) => `${r}:${digests.get(r)}`)];
    return { rules, identity };
  }
}

/** The cfn-guard plugin's constructor arguments: only the given Control Tower rules. */
function guardArgs(rules: string[]): [{ controlTowerRulesEnabled: false; rules: string[] }] {
  return [{ controlTowerRulesEnabled: false, rules }];
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full) : [full];
  });
}
