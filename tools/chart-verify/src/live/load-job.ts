/**
 * The bounded load generator: a Job inside the cluster that requests the Service through its
 * ClusterIP at a fixed rate for a fixed time (what real clients do; a port-forward would pin one
 * pod and bypass the endpoints) and logs one summary line. A failed request is a connection
 * error, a timeout or a 5xx; any other status means the app answered.
 */
import type { V1Job } from '@kubernetes/client-node';

export const summaryMarker = 'CHART_VERIFY_LOAD ';

export interface LoadSettings {
  name: string;
  namespace: string;
  url: string;
  ratePerSec: number;
  durationMs: number;
  timeoutMs: number;
  image: string;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failed: number;
  /** Failed requests by cause: `HTTP 503`, `ECONNREFUSED`, `TimeoutError`. */
  errors: Record<string, number>;
}

const script = `
const url = process.env.TARGET_URL, rate = Number(process.env.RATE), duration = Number(process.env.DURATION_MS);
const timeout = Number(process.env.TIMEOUT_MS);
const summary = { sent: 0, ok: 0, failed: 0, errors: {} };
const fail = (why) => { summary.failed++; summary.errors[why] = (summary.errors[why] ?? 0) + 1; };
const inflight = new Set();
const start = Date.now();
while (Date.now() - start < duration) {
  const due = Math.floor(((Date.now() - start) * rate) / 1000);
  while (summary.sent < due && inflight.size < 2000) {
    summary.sent++;
    const request = fetch(url, { signal: AbortSignal.timeout(timeout) })
      .then(async (res) => { await res.arrayBuffer(); if (res.status >= 500) fail('HTTP ' + res.status); else summary.ok++; })
      .catch((error) => fail(error.cause?.code ?? error.name));
    inflight.add(request);
    request.finally(() => inflight.delete(request));
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await Promise.all(inflight);
console.log(${JSON.stringify(summaryMarker)} + JSON.stringify(summary));
`;

/** The Job: hardened, no retries, a deadline past the load's own duration. */
export function loadJob(settings: LoadSettings): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: settings.name,
      namespace: settings.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'chart-verify', 'app.kubernetes.io/component': 'load' },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(settings.durationMs / 1000) + 300,
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: {
          labels: { 'app.kubernetes.io/managed-by': 'chart-verify', 'app.kubernetes.io/component': 'load' },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'load',
              image: settings.image,
              command: ['node', '--input-type=module', '-e', script],
              env: [
                { name: 'TARGET_URL', value: settings.url },
                { name: 'RATE', value: String(settings.ratePerSec) },
                { name: 'DURATION_MS', value: String(settings.durationMs) },
                { name: 'TIMEOUT_MS', value: String(settings.timeoutMs) },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
}

/** The summary line from the Job's log, or undefined when the log has none (the Job died). */
export function parseLoadLog(log: string): LoadSummary | undefined {
  const line = log.split('\n').find((l) => l.startsWith(summaryMarker));
  return line ? (JSON.parse(line.slice(summaryMarker.length)) as LoadSummary) : undefined;
}
