/** report.html: the summary, a timeline of every pod and the load over time as one inline SVG. */
import type { TimelineEvent } from '@tether/rollout-sim';
import { summaryText, type SimulationReport } from './report.ts';
import { bucketMs } from './series.ts';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Interval {
  from: number;
  to: number;
}

/** Intervals between an opening and a closing kind of event (an open one ends at `end`). */
function intervals(events: TimelineEvent[], open: string, close: string[], end: number): Interval[] {
  const out: Interval[] = [];
  let from: number | undefined;
  for (const e of events) {
    if (e.kind === open && from === undefined) from = e.atMs;
    else if (close.includes(e.kind) && from !== undefined) {
      out.push({ from, to: e.atMs });
      from = undefined;
    }
  }
  if (from !== undefined) out.push({ from, to: end });
  return out;
}

const layers: { open: string; close: string[]; color: string; label: string; y: number; h: number }[] = [
  { open: 'created', close: ['terminated'], color: '#cfd8dc', label: 'starting / not ready', y: 0, h: 18 },
  { open: 'ready', close: ['unready', 'terminated'], color: '#a5d6a7', label: 'ready (probe)', y: 0, h: 9 },
  {
    open: 'routable',
    close: ['unroutable', 'terminated'],
    color: '#2e7d32',
    label: 'routable (Service)',
    y: 9,
    h: 9,
  },
  {
    open: 'terminating',
    close: ['terminated'],
    color: '#ffb74d',
    label: 'terminating (preStop)',
    y: 0,
    h: 18,
  },
  { open: 'sigterm', close: ['terminated'], color: '#e53935', label: 'after SIGTERM', y: 0, h: 18 },
];

/** The timeline and load plot as an SVG element. */
export function timelineSvg(report: SimulationReport): string {
  const events = report.timeline;
  const end = Math.max(1, ...events.map((e) => e.atMs), ...report.series.map((p) => p.atMs + bucketMs));
  const pods = [...new Set(events.filter((e) => e.pod).map((e) => e.pod))];
  const left = 150;
  const width = 1100;
  const plotW = width - left - 20;
  const rowH = 24;
  const podsTop = 30;
  const loadTop = podsTop + pods.length * rowH + 30;
  const loadH = 140;
  const height = loadTop + loadH + 60;
  const x = (ms: number): number => left + (ms / end) * plotW;
  const parts: string[] = [];
  // Time axis: a tick every second (or every 5/10 s on long runs).
  const step = end > 120_000 ? 10_000 : end > 30_000 ? 5_000 : 1_000;
  for (let t = 0; t <= end; t += step)
    parts.push(
      `<line x1="${x(t)}" y1="${podsTop - 5}" x2="${x(t)}" y2="${loadTop + loadH}" stroke="#eee"/>`,
      `<text x="${x(t)}" y="${loadTop + loadH + 15}" font-size="10" text-anchor="middle">${t / 1000}s</text>`,
    );
  for (const e of events.filter((e) => e.kind === 'rollout-started'))
    parts.push(
      `<line x1="${x(e.atMs)}" y1="${podsTop - 10}" x2="${x(e.atMs)}" y2="${loadTop + loadH}" stroke="#1565c0" stroke-dasharray="4 3"><title>${escape(`${e.detail ?? ''} started at ${e.atMs} ms`)}</title></line>`,
    );
  pods.forEach((pod, i) => {
    const y = podsTop + i * rowH;
    const own = events.filter((e) => e.pod === pod);
    parts.push(`<text x="${left - 6}" y="${y + 13}" font-size="11" text-anchor="end">${escape(pod)}</text>`);
    for (const layer of layers)
      for (const iv of intervals(own, layer.open, layer.close, end))
        parts.push(
          `<rect x="${x(iv.from)}" y="${y + layer.y}" width="${Math.max(1, x(iv.to) - x(iv.from))}" height="${layer.h}" fill="${layer.color}"><title>${escape(`${pod}: ${layer.label} ${iv.from}–${iv.to} ms`)}</title></rect>`,
        );
    for (const e of own.filter((e) =>
      ['exited', 'liveness-failed', 'startup-failed', 'restarting'].includes(e.kind),
    ))
      parts.push(
        `<circle cx="${x(e.atMs)}" cy="${y + 9}" r="4" fill="#6a1b9a"><title>${escape(`${e.kind} ${e.detail ?? ''} at ${e.atMs} ms`)}</title></circle>`,
      );
  });
  const maxPerBucket = Math.max(
    1,
    ...report.series.map((p) => p.ok + p.failed + p.wsCloses + p.wsConnectFailures),
  );
  const barW = Math.max(1, (bucketMs / end) * plotW - 0.5);
  for (const p of report.series) {
    const scale = (n: number): number => (n / maxPerBucket) * loadH;
    let base = loadTop + loadH;
    for (const [n, color, label] of [
      [p.ok, '#90caf9', 'ok'],
      [p.failed, '#d32f2f', 'failed'],
      [p.wsCloses, '#ffa000', 'WebSocket closes'],
      [p.wsConnectFailures, '#6a1b9a', 'failed WebSocket handshakes'],
    ] as const) {
      if (n === 0) continue;
      const h = Math.max(scale(n), 2);
      base -= h;
      parts.push(
        `<rect x="${x(p.atMs)}" y="${base}" width="${barW}" height="${h}" fill="${color}"><title>${escape(`${p.atMs}–${p.atMs + bucketMs} ms: ${n} ${label}`)}</title></rect>`,
      );
    }
  }
  parts.push(
    `<text x="${left - 6}" y="${loadTop + 12}" font-size="11" text-anchor="end">load per ${bucketMs} ms</text>`,
    `<text x="${left - 6}" y="${loadTop + 26}" font-size="10" text-anchor="end">max ${maxPerBucket}</text>`,
  );
  const legend = [
    ...layers.map((l) => [l.color, l.label]),
    ['#90caf9', 'requests ok'],
    ['#d32f2f', 'requests failed'],
    ['#ffa000', 'WebSocket closes'],
    ['#6a1b9a', 'failed handshake / exit / restart'],
    ['#1565c0', 'rollout started'],
  ];
  legend.forEach(([color, label], i) => {
    const lx = left + (i % 5) * 210;
    const ly = height - 30 + Math.floor(i / 5) * 14;
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${ly}" font-size="10">${escape(label as string)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 10}" viewBox="0 0 ${width} ${height + 10}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** A self-contained page (no script, no external asset). */
export function reportHtml(report: SimulationReport): string {
  const podRows = report.pods
    .map((p) => {
      const t = p.termination;
      const cells = [
        p.id,
        String(p.revision),
        p.timeToReadyMs === undefined ? '—' : `${p.timeToReadyMs} ms`,
        String(p.restarts),
        t ? `${t.durationMs} ms` : '—',
        t?.afterSigtermMs === undefined ? '—' : `${t.afterSigtermMs} ms`,
        t
          ? t.killed
            ? 'SIGKILL (grace ran out)'
            : `code ${t.code}, signal ${t.signal}`
          : 'running at the end',
      ];
      return `<tr>${cells.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chart-verify simulate: ${escape(report.source.deployment)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f5f5f5;padding:12px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}
.pass{color:#2e7d32}.fail{color:#c62828}</style></head><body>
<h1 class="${report.passed ? 'pass' : 'fail'}">${report.passed ? 'PASS' : 'FAIL'}: ${escape(report.source.deployment)}</h1>
<pre>${escape(summaryText(report))}</pre>
<h2>Timeline</h2>
${timelineSvg(report)}
<h2>Pods</h2>
<table><tr><th>pod</th><th>revision</th><th>time to ready</th><th>restarts</th><th>delete → exit</th><th>SIGTERM → exit</th><th>ended</th></tr>
${podRows}
</table>
<h2>Settings</h2>
<pre>${escape(JSON.stringify({ source: report.source, settings: report.settings }, null, 2))}</pre>
</body></html>
`;
}
