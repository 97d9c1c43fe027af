import { ComplianceSummary } from '../lib/compliance';

/** A one-screen summary of the rule packs' verdict. */
export function formatComplianceSummary(s: ComplianceSummary, outdir: string): string {
  const lines: string[] = [];
  lines.push('Ephemera compliance summary');
  lines.push('  packs run:');
  for (const p of s.plugins) {
    lines.push(`    ${p.violations === 0 ? 'ok  ' : 'FAIL'} ${p.name}${p.violations ? ` (${p.violations} rules)` : ''}`);
  }
  const byRule = new Map<string, { reason: string; count: number }>();
  for (const a of s.acknowledgements) {
    const prev = byRule.get(a.rule);
    byRule.set(a.rule, { reason: a.reason, count: (prev?.count ?? 0) + 1 });
  }
  lines.push(
    `  acknowledged: ${s.acknowledgements.length} acknowledgements of ${byRule.size} rules, each on the construct it concerns:`,
  );
  for (const [rule, { reason, count }] of [...byRule].sort()) {
    lines.push(`    ${rule} (${count}): ${truncate(reason, 110)}`);
  }
  if (s.findings.length === 0) {
    lines.push('  unacknowledged findings: 0');
  } else {
    lines.push(`  UNACKNOWLEDGED FINDINGS: ${s.findings.length}`);
    for (const f of s.findings) {
      lines.push(`    [${f.plugin}] ${f.rule}: ${f.paths.join(', ')}`);
    }
  }
  lines.push(`  full report: ${outdir}/validation-report.json`);
  return lines.join('\n');
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}
