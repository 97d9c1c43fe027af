import * as fs from 'fs';
import * as path from 'path';
import { App, IPolicyValidationPlugin, Validations } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  NIST80053R5Checks,
  PCIDSS321Checks,
} from 'cdk-nag';
import { IConstruct } from 'constructs';
import type { Acknowledgement, ComplianceSummary, Finding } from './compliance-report';
import { ControlTowerChecks } from './control-tower-checks';
import { RetentionTransportChecks } from './rules/retention-transport-checks';

/** The Control Tower rule that Ephemera's own pack checks instead (see below). */
export const CT_RULE_REPLACED_BY_EPHEMERA = 'ct-elasticloadbalancing-pr-2';

/** The rule packs every Ephemera synth runs. */
export function compliancePlugins(scope: IConstruct): IPolicyValidationPlugin[] {
  return [
    new AwsSolutionsChecks(scope),
    new HIPAASecurityChecks(scope),
    new NIST80053R5Checks(scope),
    new PCIDSS321Checks(scope),
    new ControlTowerChecks({
      // The plugin crashes on this rule whenever a listener's certificate is a
      // CloudFormation parameter (cdklabs/cdk-validator-cfnguard#178), which
      // takes every other Control Tower rule down with it. The same control
      // (HTTPS listeners use ACM certificates) is EphemeraRT-ALBListenerACMCertificate.
      disabledRules: [CT_RULE_REPLACED_BY_EPHEMERA],
    }),
    new RetentionTransportChecks(scope),
  ];
}

/** Registers every rule pack on the app; returns their names. */
export function addCompliancePlugins(app: App): string[] {
  const plugins = compliancePlugins(app);
  Validations.of(app).addPlugins(...plugins);
  return plugins.map((p) => p.name);
}

export type { Acknowledgement, ComplianceSummary, Finding } from './compliance-report';

/**
 * Reads CDK's validation report from a cloud assembly directory, plus the
 * acknowledgements recorded on the construct tree. Every violation still in
 * the report is a finding, whatever its severity (the cfn-guard plugin's
 * violations carry none, so once any acknowledgement exists CDK marks its
 * report successful and would let synth pass), and so is a plugin that
 * failed to run at all. `registeredPlugins` names the packs that ran, so the
 * summary can list those CDK left out of the report for having nothing to say.
 */
export function readComplianceReport(
  outdir: string,
  root?: IConstruct,
  registeredPlugins: string[] = [],
): ComplianceSummary {
  const file = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(file)) {
    throw new Error(`No validation report at ${file}: were the rule packs registered?`);
  }
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as RawReport;
  const plugins: ComplianceSummary['plugins'] = [];
  const findings: Finding[] = [];
  for (const plugin of report.pluginReports ?? []) {
    const name = plugin.pluginName ?? 'unknown';
    const violations = plugin.violations ?? [];
    const error = plugin.metadata?.error;
    plugins.push({
      name,
      success: violations.length === 0 && !error,
      violations: violations.length,
      error,
    });
    if (error) findings.push({ plugin: name, rule: 'plugin-failed', paths: [firstLine(error)] });
    for (const v of violations) {
      findings.push({
        plugin: name,
        rule: v.ruleName,
        paths: (v.violatingConstructs ?? []).map(
          (c) => c.constructPath ?? c.resourceLogicalId ?? '(unknown resource)',
        ),
      });
    }
  }
  // CDK leaves a plugin with nothing to report (no violation, nothing
  // acknowledged) out of the report: it ran and passed.
  for (const name of registeredPlugins) {
    if (!plugins.some((p) => p.name === name)) plugins.push({ name, success: true, violations: 0 });
  }
  return { plugins, findings, acknowledgements: root ? collectAcknowledgements(root) : [] };
}

/** Every acknowledgement on the construct tree, with the construct it sits on. */
export function collectAcknowledgements(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ rule: id.replace(/^annotation::/i, ''), reason, path: c.node.path });
      }
    }
  }
  return out;
}

function firstLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' ');
}

interface RawReport {
  pluginReports?: Array<{
    pluginName?: string;
    metadata?: { error?: string };
    violations?: Array<{
      ruleName: string;
      violatingConstructs?: Array<{ constructPath?: string; resourceLogicalId?: string }>;
    }>;
  }>;
}
export { formatComplianceSummary } from './compliance-summary';
