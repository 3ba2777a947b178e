/** The simulation's findings as one JSON-serialisable object, and its one-screen text summary. */
import type {
  LoadBalancerStats,
  LoadReport,
  RollingPodRecord,
  Timeline,
  TimelineEvent,
  WebSocketReport,
} from '@tether/rollout-sim';
import { stats, type Stats } from '../stats.ts';
import type { SimulateOptions } from './options.ts';
import type { PodTemplate } from './pod-template.ts';
import type { Series, SeriesPoint } from './series.ts';
import type { SimulatedObjects } from './source.ts';
import type { ResolvedStrategy } from './strategy.ts';

export interface SimulationReport {
  /** true when no request failed, no WebSocket failed and no pod needed SIGKILL. */
  passed: boolean;
  source: {
    chart?: string;
    manifest?: string;
    deployment: string;
    container: string;
    service?: string;
    workspace: string;
    command: string[];
  };
  settings: ResolvedStrategy & {
    rollouts: number;
    propagationDelayMs: number;
    terminationGracePeriodMs: number;
    preStop: string;
    probes: Record<string, string>;
    load: { ratePerSec: number; method: string; path: string; wsClients: number; wsPath: string };
  };
  http?: Omit<LoadReport, 'byResponder'> & { podsAnswering: number };
  websocket?: Omit<WebSocketReport, 'clients'> & {
    clients: number;
    /** Each client's opens, close codes and failed handshakes. */
    perClient: WebSocketReport['clients'];
    /** Closes with a code outside --ws-expected-close (1006: the connection died). */
    unexpectedCloses: number;
    /** Clients that got at least one expected close and reconnected after every close. */
    clientsDrainedAndReconnected: number;
    clientsWithoutReconnect: number;
  };
  /** The Service's own counts: connections reset for want of an endpoint, or because the pod refused. */
  service: LoadBalancerStats;
  pods: RollingPodRecord[];
  summary: {
    failedRequests: number;
    websocketFailures: number;
    podsKilledAfterGrace: number;
    /** Deleted pods whose process exited with a non-zero code (a shutdown step failed or timed out). */
    podsExitedNonZero: number;
    restarts: number;
    /** HTTP request latency, from the moment it was due (queueing in the client included). */
    httpLatencyMs?: Stats & { p99: number };
    timeToReadyMs?: Stats;
    /** Deletion to exit (preStop + drain). */
    terminationMs?: Stats;
    /** SIGTERM to exit: the app's own drain. */
    drainAfterSigtermMs?: Stats;
  };
  timeline: TimelineEvent[];
  series: SeriesPoint[];
  warnings: string[];
}

function describeProbe(
  probe:
    | {
        periodMs: number;
        timeoutMs: number;
        failureThreshold: number;
        successThreshold: number;
        initialDelayMs?: number;
        path: string;
      }
    | undefined,
): string {
  if (!probe) return 'none';
  return `GET ${probe.path} every ${probe.periodMs} ms (delay ${probe.initialDelayMs ?? 0} ms, timeout ${probe.timeoutMs} ms, success ${probe.successThreshold}, failure ${probe.failureThreshold})`;
}

export interface ReportInputs {
  options: SimulateOptions;
  objects: SimulatedObjects;
  strategy: ResolvedStrategy;
  template: PodTemplate;
  records: RollingPodRecord[];
  service: LoadBalancerStats;
  timeline: Timeline;
  series: Series;
  http: LoadReport | undefined;
  websocket: WebSocketReport | undefined;
}

export async function buildReport(inputs: ReportInputs): Promise<SimulationReport> {
  const { options, objects, strategy, records } = inputs;
  // One pod's settings describe them all: the template is the same for every replica.
  const sample = (await inputs.template.build('settings')).pod;
  const preStop = !sample.preStop
    ? 'none'
    : 'exec' in sample.preStop
      ? `exec ${[sample.preStop.exec.command, ...(sample.preStop.exec.args ?? [])].join(' ')}`
      : `sleep ${sample.preStop.sleepMs} ms`;
  const { byResponder, ...http } = inputs.http ?? ({} as LoadReport);
  const ws = inputs.websocket;
  const expected = new Set(options.wsExpectedCloses);
  const wsClients = ws?.clients ?? [];
  const unexpectedCloses = wsClients.reduce(
    (n, c) => n + c.closes.filter((code) => !expected.has(code)).length,
    0,
  );
  const connectFailures = wsClients.reduce((n, c) => n + c.connectFailures.length, 0);
  const drained = wsClients.filter(
    (c) => c.closes.some((code) => expected.has(code)) && c.reconnectedAfterEveryClose,
  );
  const deleted = records.filter((r) => r.termination);
  const summary: SimulationReport['summary'] = {
    failedRequests: inputs.http?.failed ?? 0,
    websocketFailures: unexpectedCloses + connectFailures,
    podsKilledAfterGrace: deleted.filter((r) => r.termination?.killed).length,
    podsExitedNonZero: deleted.filter(
      (r) => r.termination && !r.termination.killed && r.termination.code !== 0,
    ).length,
    restarts: records.reduce((n, r) => n + r.restarts, 0),
  };
  const latencies = inputs.series.latencies();
  const latency = stats(latencies);
  if (latency) {
    const p99 = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)] as number;
    summary.httpLatencyMs = { ...latency, p99 };
  }
  const timeToReady = stats(records.map((r) => r.timeToReadyMs));
  const termination = stats(deleted.map((r) => r.termination?.durationMs));
  const drain = stats(deleted.map((r) => r.termination?.afterSigtermMs));
  if (timeToReady) summary.timeToReadyMs = timeToReady;
  if (termination) summary.terminationMs = termination;
  if (drain) summary.drainAfterSigtermMs = drain;
  return {
    passed:
      summary.failedRequests === 0 && summary.websocketFailures === 0 && summary.podsKilledAfterGrace === 0,
    source: {
      ...(options.chart === undefined ? {} : { chart: options.chart }),
      ...(options.manifest === undefined ? {} : { manifest: options.manifest }),
      deployment: objects.deployment.metadata.name,
      container: objects.container.name,
      ...(objects.service ? { service: objects.service.metadata.name } : {}),
      workspace: inputs.template.workspace,
      command: inputs.template.argv,
    },
    settings: {
      ...strategy,
      rollouts: options.rollouts,
      propagationDelayMs: options.propagationDelayMs,
      terminationGracePeriodMs: sample.terminationGracePeriodMs,
      preStop,
      probes: {
        startup: describeProbe(sample.startupProbe),
        readiness: describeProbe(sample.readinessProbe),
        liveness: describeProbe(sample.livenessProbe),
      },
      load: {
        ratePerSec: options.rate,
        method: options.method,
        path: options.path,
        wsClients: options.wsClients,
        wsPath: options.wsPath,
      },
    },
    ...(inputs.http ? { http: { ...http, podsAnswering: Object.keys(byResponder).length } } : {}),
    ...(ws
      ? {
          websocket: {
            opens: ws.opens,
            closesByCode: ws.closesByCode,
            connectFailures: ws.connectFailures,
            clients: wsClients.length,
            perClient: wsClients,
            unexpectedCloses,
            clientsDrainedAndReconnected: drained.length,
            clientsWithoutReconnect: wsClients.filter((c) => !c.reconnectedAfterEveryClose).length,
          },
        }
      : {}),
    service: { ...inputs.service },
    pods: records,
    summary,
    timeline: [...inputs.timeline.events].sort((a, b) => a.atMs - b.atMs),
    series: inputs.series.points(),
    warnings: inputs.template.warnings,
  };
}

const fmt = (s: Stats | undefined): string =>
  s ? `median ${s.median} ms (min ${s.min}, max ${s.max}, n ${s.count})` : 'n/a';

/** The report in a few lines, for the terminal. */
export function summaryText(report: SimulationReport): string {
  const s = report.summary;
  const lines = [
    `${report.passed ? 'PASS' : 'FAIL'} ${report.source.deployment}: ${report.settings.rollouts} rollouts of ${report.settings.replicas} replicas (maxSurge ${report.settings.maxSurge}, maxUnavailable ${report.settings.maxUnavailable}), preStop ${report.settings.preStop}, grace ${report.settings.terminationGracePeriodMs} ms`,
  ];
  if (report.http)
    lines.push(
      `  HTTP: ${report.http.sent} requests at ${report.http.achievedRatePerSec}/s, ${report.http.failed} failed ${JSON.stringify(report.http.failures)}, ${report.http.podsAnswering} pods answered`,
    );
  if (report.websocket)
    lines.push(
      `  WebSocket: ${report.websocket.clients} clients, closes ${JSON.stringify(report.websocket.closesByCode)}, failed handshakes ${JSON.stringify(report.websocket.connectFailures)}, ${report.websocket.clientsDrainedAndReconnected} drained and reconnected`,
    );
  if (s.httpLatencyMs) lines.push(`  HTTP latency: ${fmt(s.httpLatencyMs)}, p99 ${s.httpLatencyMs.p99} ms`);
  lines.push(
    `  time to ready: ${fmt(s.timeToReadyMs)}`,
    `  termination (delete -> exit): ${fmt(s.terminationMs)}; SIGTERM -> exit: ${fmt(s.drainAfterSigtermMs)}`,
    `  SIGKILLed after the grace period: ${s.podsKilledAfterGrace}; exited non-zero: ${s.podsExitedNonZero}; container restarts: ${s.restarts}`,
    `  Service: ${report.service.accepted} connections, ${report.service.noEndpoint} reset with no endpoint, ${report.service.upstreamErrors} reset by the pod`,
  );
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
