/** One simulation: the Deployment's pods behind an emulated Service, rolled under load. */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LoadBalancer,
  RollingDeployment,
  runLoad,
  runWebSocketClients,
  Timeline,
  type LoadReport,
  type WebSocketReport,
} from '@tether/rollout-sim';
import { startDevstack, type SimulationDevstack } from './devstack.ts';
import type { SimulateOptions } from './options.ts';
import { podTemplate } from './pod-template.ts';
import { buildReport, type SimulationReport } from './report.ts';
import { Series } from './series.ts';
import { loadObjects } from './source.ts';
import { resolveStrategy } from './strategy.ts';

/** Runs the simulation the options describe; `log` gets one line per phase. */
export async function simulate(
  options: SimulateOptions,
  log: (line: string) => void,
): Promise<SimulationReport> {
  const objects = loadObjects(options);
  const strategy = resolveStrategy(objects.deployment.spec, options.replicas);
  const cleanup: (() => Promise<unknown>)[] = [];
  const stop = new AbortController();
  try {
    let devstack: SimulationDevstack | undefined;
    if (options.devstack) {
      log('starting ephemeral Postgres and Redis (--devstack)');
      devstack = await startDevstack();
      cleanup.push(() => (devstack as SimulationDevstack).close());
    }
    const headers = { ...options.headers };
    if (devstack && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization'))
      headers.authorization = devstack.authorization;
    const template = podTemplate({
      objects,
      ...(options.command ? { command: options.command } : {}),
      ...(options.workspace ? { workspace: options.workspace } : {}),
      env: { ...devstack?.env, ...options.env },
    });
    const timeline = new Timeline();
    const series = new Series(timeline);
    const loadBalancer = await LoadBalancer.start({ propagationDelayMs: options.propagationDelayMs });
    cleanup.push(() => loadBalancer.close());
    const name = objects.deployment.metadata.name;
    log(
      `starting ${strategy.replicas} replicas of ${name} (${template.workspace}: ${template.argv.join(' ')})`,
    );
    const deployment = await RollingDeployment.start({
      loadBalancer,
      template: (id) => template.build(id),
      ...strategy,
      name,
      timeline,
    });
    // Replicas must not outlive this process, even when it exits without running the cleanup.
    const killNow = (): void => deployment.killNow();
    process.once('exit', killNow);
    cleanup.push(() => {
      process.off('exit', killNow);
      return deployment.kill();
    });
    // Ready is not yet routable: load before the propagation delay passed would meet no endpoint.
    await Promise.all(
      deployment.pods.map((pod) =>
        loadBalancer.waitUntilRoutable(pod.id, options.propagationDelayMs + 30_000),
      ),
    );

    const http: Promise<LoadReport | undefined> =
      options.rate > 0
        ? runLoad({
            url: `${loadBalancer.url}${options.path}`,
            ratePerSec: options.rate,
            // Stopped by the abort below, once the rollouts are done.
            durationMs: 24 * 3600_000,
            maxSockets: options.maxSockets,
            keepAlive: options.keepAlive,
            timeoutMs: options.timeoutMs,
            method: options.method,
            headers,
            ...(options.body === undefined ? {} : { body: options.body }),
            signal: stop.signal,
            onOutcome: (outcome) => series.request(outcome),
          })
        : Promise.resolve(undefined);
    const websocket: Promise<WebSocketReport | undefined> =
      options.wsClients > 0
        ? runWebSocketClients({
            url: `ws://${loadBalancer.host}:${loadBalancer.port}${options.wsPath}`,
            clients: options.wsClients,
            headers,
            ...(options.wsMessage === undefined ? {} : { message: options.wsMessage }),
            signal: stop.signal,
            onEvent: (event) => series.websocket(event),
          })
        : Promise.resolve(undefined);
    // The load stops when the rollouts are done, or when one of them fails.
    cleanup.push(() => {
      stop.abort();
      return Promise.allSettled([http, websocket]);
    });
    await sleep(options.settleMs);
    for (let round = 1; round <= options.rollouts; round += 1) {
      log(`rollout ${round}/${options.rollouts}`);
      await deployment.rollout();
    }
    log('waiting for the old pods to terminate');
    await deployment.settled();
    await sleep(options.settleMs);
    stop.abort();
    const [httpReport, wsReport] = await Promise.all([http, websocket]);
    return buildReport({
      options,
      objects,
      strategy,
      template,
      records: deployment.records,
      service: loadBalancer.stats,
      timeline,
      series,
      http: httpReport,
      websocket: wsReport,
    });
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  }
}
