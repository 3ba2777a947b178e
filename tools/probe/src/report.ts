/** The probe's report for people (a table) and for machines (JSON). */
import type { ProbeResult } from './probe.ts';
import type { Recommendation } from './recommend.ts';

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

export function verdict(result: ProbeResult): string {
  const lines: string[] = [];
  if (result.shortestDiedMs === undefined) {
    lines.push(
      `No idle timeout found: every connection survived, up to ${s(result.longestSurvivedMs)} idle.`,
    );
  } else {
    const how = result.deaths.map((d) => `${d.outcome} x${d.count}`).join(', ');
    lines.push(
      `Idle timeout between ${s(result.longestSurvivedMs)} (longest that survived) and ${s(result.shortestDiedMs)} (shortest that died); deaths: ${how}.`,
    );
  }
  lines.push(
    result.keepAlive.outcome === 'ok'
      ? `keepalive keeps the path open: a connection with TCP keepalive every ${s(result.keepAlive.delayMs)} survived ${s(result.keepAlive.idleMs)} idle.`
      : `keepalive did NOT keep the path open: with keepalive every ${s(result.keepAlive.delayMs)} the connection died after ${s(result.keepAlive.idleMs)} (${result.keepAlive.outcome}).`,
  );
  if (result.inconsistent) {
    lines.push(
      'Warning: a connection died after a shorter idle than another survived: this path is not a plain idle timer.',
    );
  }
  return lines.join('\n');
}

const explain: Record<string, string> = {
  silent: 'no reply, no reset: a middlebox dropped the flow silently (the dangerous kind)',
  reset: 'TCP reset: the middlebox (or server) rejected the forgotten flow',
  closed:
    'the server closed the connection (a server-side idle timeout, e.g. idle_session_timeout or Redis timeout)',
};

export function formatTable(result: ProbeResult, recommendations: Recommendation[]): string {
  const rows = result.observations.map((o) => `  ${s(o.idleMs).padStart(9)}  ${o.outcome}`);
  const recs = recommendations.map((r) => `  ${r.setting}: ${r.value}\n      ${r.why}`);
  const how = result.deaths.map((d) => `  ${d.outcome}: ${explain[d.outcome]}`);
  return [
    `tether-probe idle ${result.target}  (${s(result.durationMs)})`,
    '',
    verdict(result),
    ...(how.length ? ['', 'how death showed:', ...how] : []),
    '',
    '       idle  outcome',
    ...rows,
    '',
    'recommendation:',
    ...recs,
  ].join('\n');
}

export function toJson(result: ProbeResult, recommendations: Recommendation[]): string {
  return JSON.stringify({ ...result, verdict: verdict(result), recommendations }, null, 2);
}
