/** live's report: the rollout analysis, the load's outcome, and a one-screen summary. */
import type { Stats } from '../stats.ts';
import type { RotationAnalysis } from './analyze.ts';
import type { LoadSummary } from './load-job.ts';

export interface LiveReport {
  /** No failed request, no endpoint left rotation late, no pod killed or exiting non-zero. */
  passed: boolean;
  context: string;
  namespace: string;
  deployment: string;
  service: string;
  rollouts: number;
  load?: LoadSummary;
  /** Informer errors recovered by restarting the informer. */
  watchRestarts: { resource: string; error: string }[];
  analysis: RotationAnalysis;
  summary: RotationAnalysis['summary'] & { failedRequests: number };
  warnings: string[];
}

export function buildReport(fields: Omit<LiveReport, 'passed' | 'summary'>): LiveReport {
  const failedRequests = fields.load ? fields.load.failed : 0;
  const summary = { ...fields.analysis.summary, failedRequests };
  const warnings = [...fields.warnings];
  if (!fields.load) warnings.push('the load Job printed no summary: requests were not counted');
  return {
    ...fields,
    warnings,
    summary,
    passed:
      fields.load !== undefined &&
      failedRequests === 0 &&
      summary.endpointsLeftLate === 0 &&
      summary.podsKilledAfterGrace === 0 &&
      summary.podsExitedNonZero === 0,
  };
}

const ms = (s: Stats | undefined) =>
  s ? `median ${s.median} ms (min ${s.min}, max ${s.max}, n=${s.count})` : 'n/a';

export function formatReport(report: LiveReport): string {
  const { summary } = report;
  const lines = [
    `chart-verify live ${report.context} ${report.namespace}/${report.deployment} via Service ${report.service}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `requests       ${
      report.load
        ? `${report.load.sent} sent, ${report.load.failed} failed${
            Object.keys(report.load.errors).length
              ? ` (${Object.entries(report.load.errors)
                  .map(([k, v]) => `${k} x${v}`)
                  .join(', ')})`
              : ''
          }`
        : 'not counted'
    }`,
    `rollouts       ${report.rollouts}`,
    `time to ready  ${ms(summary.timeToReadyMs)}`,
    `termination    ${ms(summary.terminationMs)}   (deletion to exit)`,
    `drain          ${ms(summary.drainAfterSigtermMs)}   (SIGTERM to exit)`,
    `killed         ${summary.podsKilledAfterGrace} pods after the grace period; ${summary.podsExitedNonZero} exited non-zero; ${summary.restarts} container restarts`,
    `watch          ${report.watchRestarts.length} informer restarts${report.watchRestarts.length ? ` (${report.watchRestarts.map((r) => `${r.resource}: ${r.error}`).join('; ')})` : ''}`,
    '',
    'old pod                                  left rotation          stopped serving   headroom',
    ...report.analysis.oldPods.map((p) =>
      [
        p.pod.padEnd(40),
        (p.leftRotationAt !== undefined ? `${p.leftRotationAt} ms (${p.leftRotationBy})` : 'never').padEnd(
          22,
        ),
        `${Math.min(p.sigtermAt ?? Infinity, p.exitedAt ?? Infinity)} ms`.padEnd(17),
        p.ok ? `${p.headroomMs} ms` : `LATE: ${p.problem}`,
      ].join(' '),
    ),
    ...report.warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n');
}
