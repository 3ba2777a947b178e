/**
 * The run's outputs: a table on stdout, `<out>/<scenario>.json` per scenario and `<out>/index.html`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Check } from './budget.ts';
import { renderHtml } from './html.ts';
import type { ScenarioResult } from './scenario.ts';

function ms(value: number | null): string {
  return value === null
    ? '-'
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;
}

function failedChecks(checks: Check[]): string {
  const failed = checks.filter((c) => !c.ok);
  return failed.length === 0
    ? 'passes'
    : failed
        .map((c) => `${c.name} ${c.value === null ? 'n/a' : c.unit === 'ms' ? ms(c.value) : c.value}`)
        .join('; ');
}

/** Whether the run as a whole passes: every scenario within budget, every control outside it. */
export function runPassed(results: ScenarioResult[]): boolean {
  return results.every((r) => r.passed && !r.control.passed);
}

export function tableRows(results: ScenarioResult[]): Record<string, string | number>[] {
  return results.map((r) => ({
    scenario: r.name,
    result: r.passed ? 'PASS' : 'FAIL',
    'failed idem.': `${r.requests.failedIdempotent}/${r.requests.idempotent}`,
    'failed attempts': r.requests.failedAttempts,
    'lost/dup jobs': `${r.jobs.lost}/${r.jobs.duplicated}`,
    // Where the fault outlasts the worker's lease a re-run is allowed if it was safe (see ledger.ts).
    reruns:
      r.jobs.rerun > 0 &&
      r.checks.find((c) => c.name === 're-runs not preceded by a lease-expired requeue')?.ok
        ? `${r.jobs.rerun} (after lease expiry)`
        : r.jobs.rerun,
    'missed/dup events': `${r.jobs.missedEvents}/${r.jobs.duplicatedEvents}`,
    detect: ms(r.detectionMs),
    recover: ms(r.recoveryMs),
    'longest reconnect': ms(r.longestReconnectMs),
    control: `${r.control.passed ? 'PASSED (proves nothing)' : 'fails'}: ${failedChecks(r.control.checks)}`,
  }));
}

function textTable(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '(no scenarios)\n';
  const keys = Object.keys(rows[0] as object);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [
    line(keys),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(keys.map((k) => String(r[k])))),
  ].join('\n');
}

/** Prints the table, writes the JSON files and the HTML report; returns whether the run passed. */
export function writeReports(results: ScenarioResult[], outDir: string): boolean {
  mkdirSync(outDir, { recursive: true });
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
  const at = new Date().toISOString();
  for (const r of results) {
    writeFileSync(join(outDir, `${r.name}.json`), `${JSON.stringify({ at, machine, ...r }, null, 2)}\n`);
  }
  const html = join(outDir, 'index.html');
  writeFileSync(html, renderHtml(results, { at, machine }));
  console.log(`\n${textTable(tableRows(results))}\n`);
  for (const r of results) {
    if (!r.passed) console.log(`${r.name} FAILS its budget: ${failedChecks(r.checks)}`);
    if (r.control.passed)
      console.log(`${r.name}: the control passed its budget too, so the scenario proves nothing`);
    if (r.error) console.log(`${r.name}: ${r.error}`);
  }
  const ok = runPassed(results);
  console.log(
    `${ok ? 'all scenarios within budget, every control outside it' : 'chaos run FAILED'}; report: ${html}`,
  );
  return ok;
}
