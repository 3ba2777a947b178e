/**
 * The self-contained HTML report: no scripts, no CDN, one inline SVG timeline per scenario (request
 * rate and errors of the platform and of its control, outage spans from the traces, WebSocket clients
 * away, and the fault's marks), beside the budget checks.
 */
import type { Check } from './budget.ts';
import type { ScenarioResult } from './scenario.ts';
import type { Series, Timeline } from './timeline.ts';

const W = 900;
const PLOT_H = 160;
const LANE_H = 14;
const LEFT = 50;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(c: Check): string {
  if (c.value === null) return 'n/a';
  return c.unit === 'ms' ? `${Math.round(c.value)} ms` : String(c.value);
}

function checksTable(checks: Check[]): string {
  const rows = checks
    .map(
      (c) =>
        `<tr class="${c.ok ? 'ok' : 'bad'}"><td>${esc(c.name)}</td><td>${fmt(c)}</td><td>&le; ${c.limit}${c.unit ? ` ${c.unit}` : ''}</td><td>${c.ok ? 'ok' : 'over budget'}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>check</th><th>measured</th><th>budget</th><th></th></tr>${rows}</table>`;
}

function path(values: number[], x: (i: number) => number, y: (v: number) => number): string {
  return values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
}

/** The timeline of one scenario as an inline SVG. */
export function timelineSvg(t: Timeline): string {
  const perS = 1000 / t.bucketMs;
  const n = t.tether.t.length;
  const spanMs = Math.max(1, t.endMs - t.startMs);
  const xOf = (ms: number) => LEFT + ((ms - t.startMs) / spanMs) * (W - LEFT - 10);
  const xi = (i: number) => xOf(t.startMs + (i + 0.5) * t.bucketMs);
  const rates = (s: Series | undefined) => (s ? s.ok.map((v, i) => (v + (s.errors[i] ?? 0)) * perS) : []);
  const all = [...rates(t.tether), ...rates(t.control), ...t.disconnected];
  const max = Math.max(1, ...all);
  const yOf = (v: number) => 10 + PLOT_H - (v / max) * PLOT_H;
  const barW = Math.max(1, (W - LEFT - 10) / n / 2);
  const bars = (s: Series | undefined, cls: string, dx: number) =>
    s
      ? s.errors
          .map((e, i) =>
            e > 0
              ? `<rect class="${cls}" x="${(xi(i) - barW + dx).toFixed(1)}" y="${yOf(e * perS).toFixed(1)}" width="${barW.toFixed(1)}" height="${(10 + PLOT_H - yOf(e * perS)).toFixed(1)}"><title>${e * perS}/s errors</title></rect>`
              : '',
          )
          .join('')
      : '';
  const lanesTop = 20 + PLOT_H;
  const lanes = t.outages
    .map((o, i) => {
      const y = lanesTop + i * (LANE_H + 2);
      const x = xOf(o.startMs);
      const w = Math.max(2, xOf(o.endMs) - x);
      return `<rect class="outage" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE_H}"><title>${esc(o.label)}: ${((o.endMs - o.startMs) / 1000).toFixed(2)} s</title></rect><text class="lane" x="${(x + w + 4).toFixed(1)}" y="${y + 11}">${esc(o.label)} ${((o.endMs - o.startMs) / 1000).toFixed(2)} s</text>`;
    })
    .join('');
  const height = lanesTop + Math.max(1, t.outages.length) * (LANE_H + 2) + 30;
  const marks = t.marks
    .map(
      (m, i) =>
        `<line class="mark" x1="${xOf(m.atMs).toFixed(1)}" x2="${xOf(m.atMs).toFixed(1)}" y1="10" y2="${height - 24}"/><text class="mark-label" x="${(xOf(m.atMs) + 3).toFixed(1)}" y="${20 + (i % 3) * 11}">${esc(m.label)}</text>`,
    )
    .join('');
  const ticks: string[] = [];
  const stepS = Math.max(1, Math.ceil(spanMs / 1000 / 12));
  for (let s = 0; s * 1000 <= spanMs; s += stepS) {
    const x = xOf(t.startMs + s * 1000);
    ticks.push(
      `<line class="tick" x1="${x}" x2="${x}" y1="${10 + PLOT_H}" y2="${14 + PLOT_H}"/><text class="axis" x="${x}" y="${height - 8}" text-anchor="middle">${s} s</text>`,
    );
  }
  const yAxis = `<text class="axis" x="${LEFT - 6}" y="${yOf(max) + 4}" text-anchor="end">${Math.round(max)}/s</text><text class="axis" x="${LEFT - 6}" y="${yOf(0)}" text-anchor="end">0</text>`;
  const lines = [
    `<path class="rate tether" d="${path(rates(t.tether), xi, yOf)}"/>`,
    t.control ? `<path class="rate control" d="${path(rates(t.control), xi, yOf)}"/>` : '',
    t.disconnected.some((d) => d > 0) ? `<path class="ws" d="${path(t.disconnected, xi, yOf)}"/>` : '',
  ].join('');
  return `<svg class="timeline" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="timeline">
<rect class="plot" x="${LEFT}" y="10" width="${W - LEFT - 10}" height="${PLOT_H}"/>${yAxis}${ticks.join('')}
${bars(t.tether, 'err tether-err', 0)}${bars(t.control, 'err control-err', barW)}${lines}${lanes}${marks}</svg>`;
}

const style = `body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
h2{margin-top:2em;border-top:1px solid #ddd;padding-top:1em}.pass{color:#1a7f37}.fail{color:#cf222e}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
tr.bad td{background:#ffebe9}.plot{fill:#fafafa;stroke:#ccc}.rate{fill:none;stroke-width:1.5}
.tether{stroke:#1a7f37}.control{stroke:#888;stroke-dasharray:4 3}.tether-err{fill:#cf222e}.control-err{fill:#f0a020}
.ws{fill:none;stroke:#8250df;stroke-width:1.5}.outage{fill:#cf222e;opacity:.35}.mark{stroke:#0969da;stroke-dasharray:2 2}
.mark-label,.lane,.axis{font-size:10px;fill:#444}.tick{stroke:#999}.legend span{margin-right:1.2em}
.sw{display:inline-block;width:12px;height:8px;margin-right:4px}`;

const legend = `<p class="legend"><span><i class="sw" style="background:#1a7f37"></i>Tether requests/s</span><span><i class="sw" style="background:#cf222e"></i>Tether failed attempts/s</span><span><i class="sw" style="background:#888"></i>control requests/s</span><span><i class="sw" style="background:#f0a020"></i>control failed attempts/s</span><span><i class="sw" style="background:#8250df"></i>WebSocket clients away</span><span><i class="sw" style="background:#cf222e;opacity:.35"></i>outage span (traces)</span><span><i class="sw" style="background:#0969da"></i>fault marks</span></p>`;

export function renderHtml(
  results: ScenarioResult[],
  meta: { at: string; machine: { cpus: number; cpu: string; node: string } },
): string {
  const sections = results
    .map((r) => {
      const verdict = r.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
      const control = r.control.passed
        ? '<span class="fail">passed its budget: this scenario proves nothing</span>'
        : '<span class="pass">fails its budget, as expected</span>';
      const notes = [...r.notes, ...r.jobs.examples, ...r.control.notes]
        .map((n) => `<li>${esc(n)}</li>`)
        .join('');
      return `<section id="${esc(r.name)}"><h2>${esc(r.title)} ${verdict}</h2><p>${esc(r.fault)}</p>
${timelineSvg(r.timeline)}
<p>Requests: ${r.requests.idempotent} idempotent (${r.requests.failedIdempotent} failed), ${r.requests.failedAttempts} of ${r.requests.attempts} attempts failed and were retried or given up${r.requests.skipped ? `, ${r.requests.skipped} not sent (client at its in-flight cap)` : ''}; jobs accepted ${r.jobs.accepted}, followed over WebSocket ${r.jobs.followed}.</p>
${checksTable(r.checks)}
<h3>Control: ${esc(r.control.title)} — ${control}</h3>
${checksTable(r.control.checks)}${notes ? `<ul>${notes}</ul>` : ''}</section>`;
    })
    .join('\n');
  const summary = results
    .map(
      (r) =>
        `<tr class="${r.passed && !r.control.passed ? 'ok' : 'bad'}"><td><a href="#${esc(r.name)}">${esc(r.name)}</a></td><td>${r.passed ? 'PASS' : 'FAIL'}</td><td>${r.control.passed ? 'passed (bad)' : 'fails'}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tether chaos report</title><style>${style}</style></head><body>
<h1>Tether chaos report</h1><p>${esc(meta.at)} · ${meta.machine.cpus} × ${esc(meta.machine.cpu)} · Node ${esc(meta.machine.node)} · ${results[0]?.quick ? 'quick run' : 'full run'}</p>
<table><tr><th>scenario</th><th>budget</th><th>control</th></tr>${summary}</table>${legend}
${sections}</body></html>\n`;
}
