/**
 * The HTML report: one self-contained page (inline CSS and SVG, no script, no network) drawn from
 * the JSON reports in the bench directory: the run, the environment, a summary of every figure
 * against its goal, then per benchmark its ratios, throughput bars, latency bars and curves.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostEnvironment } from './environment.ts';
import { barPairs, curveChart, esc, ratioChart } from './html-svg.ts';
import { formatNumber, loadReports, type SummaryRow, summaryRows, type WrittenReport } from './results.ts';
import type { RunRecord } from './runner.ts';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1120px;padding:0 16px;color:#1d2530}
h1{margin:0 0 4px}h2{margin:32px 0 4px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}h3{margin:18px 0 6px}
.muted{color:#5b6675}.banner{background:#fff4d6;border:1px solid #e6c35c;padding:8px 12px;border-radius:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border-bottom:1px solid #e3e7ec;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.met{color:#1e7d45;font-weight:600}.missed{color:#c0392b;font-weight:700}.failed{color:#c0392b;font-weight:700}
.curves{display:flex;flex-wrap:wrap;gap:8px}figure.curve{margin:0;width:340px}figcaption{font-size:12px;font-weight:600;min-height:3em}
svg.chart{display:block;margin:6px 0;font-size:11px;overflow:visible}
svg .bar-baseline,svg .swatch-baseline{fill:#9aabc0}svg .bar-candidate,svg .swatch-candidate{fill:#2b6cb0}
svg .curve{fill:none;stroke-width:2}svg .curve-baseline{stroke:#9aabc0;stroke-dasharray:5 3}svg .curve-candidate{stroke:#2b6cb0}
svg .grid{stroke:#e3e7ec}svg .tick{fill:#5b6675}svg .chart-title{font-weight:600}
svg .parity{stroke:#5b6675;stroke-dasharray:3 3}svg .goal{stroke:#1d2530;stroke-width:2}
svg .ratio-met{fill:#3fa56b}svg .ratio-missed{fill:#d1495b}svg .ratio-none{fill:#b8c2cf}
svg .verdict-met{fill:#1e7d45;font-weight:600}svg .verdict-missed{fill:#c0392b;font-weight:700}
`;

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const cell = (v: string, i: number) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${v}</td>`;
  return (
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

function verdictCell(r: SummaryRow): string {
  if (r.verdict === 'none') return '';
  return r.verdict === 'met' ? '<span class="met">✓ met</span>' : '<span class="missed">✗ MISSED</span>';
}

function summaryTable(rows: SummaryRow[]): string {
  return table(
    ['benchmark', 'scenario', 'figure', 'baseline', 'candidate', 'ratio', 'goal', 'verdict', 'errors'],
    rows.map((r) => [
      esc(r.bench),
      esc(r.scenario),
      esc(`${r.figure} (${r.unit})`),
      formatNumber(r.baseline),
      formatNumber(r.candidate),
      Number.isFinite(r.ratio) ? `${r.ratio.toFixed(3)}x` : '-',
      esc(r.goal || '-'),
      verdictCell(r),
      r.errors > 0 ? `<span class="failed">${r.errors}</span>` : '0',
    ]),
    [3, 4, 5, 8],
  );
}

function runTable(run: RunRecord): string {
  return table(
    ['benchmark', 'status', 'seconds', 'note'],
    run.benches.map((b) => [
      esc(b.name),
      b.status === 'ok' ? '<span class="met">ok</span>' : `<span class="failed">${esc(b.status)}</span>`,
      (b.durationMs / 1000).toFixed(1),
      esc(b.message ?? ''),
    ]),
    [2],
  );
}

function environmentList(values: Record<string, unknown>): string {
  const rows = Object.entries(values).map(([k, v]) => [
    esc(k),
    esc(typeof v === 'string' ? v : JSON.stringify(v)),
  ]);
  return table(['', ''], rows);
}

function section(report: WrittenReport): string {
  const labels = { baseline: report.baselineLabel, candidate: report.candidateLabel };
  const rows = summaryRows(report);
  let html = `<section class="bench" data-bench="${esc(report.name)}" id="bench-${esc(report.name)}">`;
  html += `<h2>${esc(report.name)}</h2><p class="muted">${esc(report.candidateLabel)} vs ${esc(report.baselineLabel)}, same run · written ${esc(report.generatedAt)}`;
  if (report.host) html += ` · load ${esc(report.host.loadavg.join(' / '))} on ${report.host.cpus} CPUs`;
  html += '</p>';
  html += `<h3>Ratios against goals</h3>${ratioChart(`${report.name}: candidate / baseline`, rows)}`;
  if (report.comparisons.length > 0) {
    html += `<h3>Throughput</h3>`;
    html += barPairs(
      `${report.name}: throughput`,
      report.comparisons.map((c) => ({
        label: c.scenario,
        baseline: c.baseline.throughput,
        candidate: c.candidate.throughput,
        unit: 'ops/s',
      })),
      labels,
    );
    html += `<h3>Latency p50 and p99</h3>`;
    html += barPairs(
      `${report.name}: latency`,
      report.comparisons.flatMap((c) => [
        {
          label: `${c.scenario} — p50`,
          baseline: c.baseline.p50Ms,
          candidate: c.candidate.p50Ms,
          unit: 'ms',
        },
        {
          label: `${c.scenario} — p99`,
          baseline: c.baseline.p99Ms,
          candidate: c.candidate.p99Ms,
          unit: 'ms',
        },
      ]),
      labels,
    );
  }
  if (report.metrics.length > 0) {
    html += `<h3>Metrics</h3>`;
    html += barPairs(
      `${report.name}: metrics`,
      report.metrics.map((m) => ({
        label: `${m.scenario} — ${m.metric}`,
        baseline: m.baseline,
        candidate: m.candidate,
        unit: m.unit,
      })),
      labels,
    );
  }
  const curves = [
    ...report.comparisons
      .filter((c) => c.baseline.curve || c.candidate.curve)
      .map((c) =>
        curveChart(c.scenario, { baseline: c.baseline.curve, candidate: c.candidate.curve }, labels),
      ),
    ...report.metrics
      .filter((m) => m.curves)
      .map((m) => curveChart(`${m.scenario} — ${m.metric}`, m.curves ?? {}, labels, m.unit)),
  ];
  if (curves.length > 0)
    html += `<h3>Latency distributions</h3><p class="muted">latency at each percentile; dashed: ${esc(report.baselineLabel)}</p><div class="curves">${curves.join('')}</div>`;
  html += `<h3>Figures</h3>${summaryTable(rows)}`;
  if (report.environment) html += `<h3>Settings</h3>${environmentList(report.environment)}`;
  return `${html}</section>`;
}

/** The page for these reports (and the run that made them, when known). */
export function renderReportPage(
  reports: WrittenReport[],
  run?: RunRecord,
  unreadable: string[] = [],
): string {
  const rows = reports.flatMap(summaryRows);
  const met = rows.filter((r) => r.verdict === 'met').length;
  const missed = rows.filter((r) => r.verdict === 'missed').length;
  const host = hostEnvironment();
  const quick = reports.some((r) => r.host?.scale === 'quick') || run?.scale === 'quick';
  let body = `<h1>Tether benchmarks</h1><p class="muted">Each benchmark against its baseline, measured in the same run. Page generated ${esc(new Date().toISOString())}.</p>`;
  if (quick)
    body += `<p class="banner">Quick run (BENCH_SCALE=quick): tiny sizes that prove every benchmark runs; the numbers mean nothing.</p>`;
  body += `<h2>Environment</h2>${environmentList({
    date: run?.startedAt ?? reports[0]?.generatedAt ?? '',
    node: host.node,
    cpus: host.cpus,
    'cpu model': host.cpuModel,
    platform: host.platform,
    memory: `${host.totalMemMiB} MiB`,
    'load average now (1/5/15 min)': host.loadavg.join(' / '),
    'load when each report was written': Object.fromEntries(
      reports.map((r) => [r.name, r.host?.loadavg ?? '?']),
    ),
  })}`;
  if (run) body += `<h2>Run</h2>${runTable(run)}`;
  if (unreadable.length > 0)
    body += `<p class="failed">Unreadable report files: ${esc(unreadable.join('; '))}</p>`;
  body += `<h2>Summary</h2><p>${met} goal${met === 1 ? '' : 's'} met, <span class="${missed > 0 ? 'missed' : ''}">${missed} missed</span>, across ${reports.length} benchmark${reports.length === 1 ? '' : 's'}.</p>`;
  body += `<nav>${reports.map((r) => `<a href="#bench-${esc(r.name)}">${esc(r.name)}</a>`).join(' · ')}</nav>`;
  body += summaryTable(rows);
  body += reports.map(section).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Tether benchmarks</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

/** Reads every report in `dir`, writes `dir/index.html`; returns its path and the summary rows. */
export function writeHtmlReport(dir: string, run?: RunRecord): { path: string; rows: SummaryRow[] } {
  const { reports, unreadable } = loadReports(dir);
  const path = join(dir, 'index.html');
  writeFileSync(path, renderReportPage(reports, run, unreadable));
  return { path, rows: reports.flatMap(summaryRows) };
}
