import type { ComplianceSummary } from './compliance-report';

const PACK_PREFIX =
  /^(AwsSolutions|HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321|EphemeraRT|cdk-validator-cfnguard::|CloudFormation-Validate::)-?/;

/**
 * A one-screen summary of the rule packs' verdict: which packs ran, every
 * unacknowledged finding, and the acknowledgements grouped by their reason
 * (one line per reason, with the rules it covers).
 */
export function formatComplianceSummary(s: ComplianceSummary, outdir: string): string {
  const lines: string[] = ['Ephemera compliance summary'];
  lines.push(
    '  packs: ' +
      s.plugins.map((p) => `${p.name} ${p.success ? 'ok' : `FAILED(${p.violations})`}`).join(', '),
  );
  const byReason = new Map<string, { rules: Set<string>; constructs: Set<string> }>();
  for (const a of s.acknowledgements) {
    const entry = byReason.get(a.reason) ?? { rules: new Set(), constructs: new Set() };
    entry.rules.add(a.rule.replace(PACK_PREFIX, ''));
    entry.constructs.add(a.path);
    byReason.set(a.reason, entry);
  }
  lines.push(
    `  acknowledged: ${s.acknowledgements.length} rule acknowledgements for ${byReason.size} reasons, each on the construct it concerns:`,
  );
  for (const [reason, { rules, constructs }] of byReason) {
    lines.push(
      `    - ${[...rules].join(', ')} (${constructs.size} constructs): ${truncate(reason, 150)}`,
    );
  }
  if (s.findings.length === 0) {
    lines.push('  unacknowledged findings: 0');
  } else {
    lines.push(`  UNACKNOWLEDGED FINDINGS: ${s.findings.length}`);
    for (const f of s.findings) lines.push(`    [${f.plugin}] ${f.rule}: ${f.paths.join(', ')}`);
  }
  lines.push(`  full report: ${outdir}/validation-report.json`);
  return lines.join('\n');
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}
