/** static's three outputs: a table for people, JSON for scripts, JUnit XML for CI. */
import type { Finding } from './finding.ts';

export interface StaticReport {
  source: string;
  objects: number;
  findings: Finding[];
}

function status(f: Finding): 'pass' | 'FAIL' | 'waived' {
  return f.passed ? 'pass' : f.waived ? 'waived' : 'FAIL';
}

function where(f: Finding): string {
  return f.container ? `${f.ref} [${f.container}]` : f.ref;
}

/** One line per failed or waived finding (all findings with `verbose`), then a summary line. */
export function formatTable(report: StaticReport, verbose = false): string {
  const rows = report.findings.filter((f) => verbose || !f.passed);
  const header = ['status', 'rule', 'object', 'detail'];
  const cells = rows.map((f) => [
    status(f),
    f.rule,
    where(f),
    f.waived ? `${f.message} (waived: ${f.waived})` : f.message,
  ]);
  const widths = header
    .slice(0, 3)
    .map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => [...c.slice(0, 3).map((v, i) => v.padEnd(widths[i] ?? 0)), c[3]].join('  ');
  const counts = summary(report.findings);
  return [
    `chart-verify static ${report.source}: ${report.objects} objects, ${report.findings.length} checks`,
    ...(rows.length > 0 ? ['', line(header), ...cells.map(line)] : []),
    '',
    `${counts.failed} failed, ${counts.waived} waived, ${counts.passed} passed`,
  ].join('\n');
}

export function summary(findings: Finding[]): { passed: number; failed: number; waived: number } {
  return {
    passed: findings.filter((f) => f.passed).length,
    failed: findings.filter((f) => !f.passed && !f.waived).length,
    waived: findings.filter((f) => f.waived).length,
  };
}

export function toJson(report: StaticReport): string {
  return JSON.stringify({ ...report, summary: summary(report.findings) }, null, 2);
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/**
 * JUnit XML: one testsuite per rule, one testcase per object (and container) it checked; a
 * failure carries the message, a waiver is `skipped` with its reason.
 */
export function toJUnit(report: StaticReport): string {
  const byRule = new Map<string, Finding[]>();
  for (const f of report.findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  const total = summary(report.findings);
  const suites = [...byRule].map(([rule, findings]) => {
    const counts = summary(findings);
    const cases = findings.map((f) => {
      const open = `    <testcase classname="chart-verify.static.${xml(rule)}" name="${xml(where(f))}" time="0"`;
      if (f.passed) return `${open}/>`;
      if (f.waived)
        return `${open}>\n      <skipped message="${xml(`waived: ${f.waived}`)}"/>\n    </testcase>`;
      return `${open}>\n      <failure message="${xml(f.message)}" type="${xml(rule)}">${xml(f.message)}</failure>\n    </testcase>`;
    });
    return [
      `  <testsuite name="${xml(rule)}" tests="${findings.length}" failures="${counts.failed}" errors="0" skipped="${counts.waived}" time="0">`,
      ...cases,
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chart-verify static ${xml(report.source)}" tests="${report.findings.length}" failures="${total.failed}" errors="0" skipped="${total.waived}" time="0">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
