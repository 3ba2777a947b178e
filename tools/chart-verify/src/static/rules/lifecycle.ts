/**
 * The lifecycle budget, per container: a preStop holds SIGTERM back while the endpoint leaves
 * rotation, the grace period covers preStop + the app's drain delay + its shutdown timeout +
 * a margin, and a failing readiness probe takes the pod out within that preStop window.
 */
import type { V1Container, V1Service } from '@kubernetes/client-node';
import { fail, pass, type Finding, type Rule, type RuleContext } from '../finding.ts';
import { sameNamespace, serviceSelects, type Workload } from '../objects.ts';
import { describeEnv, envDuration, gracePeriodOf, preStopOf, readinessWindowOf, seconds } from '../timing.ts';

/**
 * Containers that take traffic from a Service: those declaring a port a selecting Service
 * targets (all containers with ports when the Service targets a bare number none declares).
 * A workload no Service selects (a queue worker) has no endpoint to drain.
 */
export function servedContainers(workload: Workload, services: V1Service[]): V1Container[] {
  const selecting = services.filter(
    (s) => sameNamespace(workload.object, s) && serviceSelects(s, workload.labels),
  );
  if (selecting.length === 0) return [];
  const targets = selecting.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.targetPort ?? p.port));
  const declaring = workload.pod.containers.filter((c) =>
    (c.ports ?? []).some((p) => targets.some((t) => t === p.name || Number(t) === p.containerPort)),
  );
  return declaring.length > 0 ? declaring : workload.pod.containers.filter((c) => (c.ports ?? []).length > 0);
}

function eachServed(context: RuleContext, check: (c: V1Container, w: Workload) => Finding): Finding[] {
  return context.workloads
    .filter((w) => w.longRunning)
    .flatMap((w) => servedContainers(w, context.services).map((c) => check(c, w)));
}

export const preStopPresent: Rule = (context) =>
  eachServed(context, (container, workload) => {
    const preStop = preStopOf(container);
    const grace = gracePeriodOf(workload.pod);
    const drain = envDuration(container, context.config.drainDelayEnv);
    if (!preStop.present) {
      if (context.config.acceptAppDrainDelay && drain.kind === 'seconds' && drain.seconds > 0)
        return pass(
          'prestop-present',
          workload.ref,
          `no preStop, the app drains for ${describeEnv(drain, [])}`,
          container.name,
        );
      return fail(
        'prestop-present',
        workload.ref,
        `container ${container.name} is behind a Service and has no preStop hook (nor an in-app drain delay ${context.config.drainDelayEnv.map((e) => e.name).join('/')} > 0)`,
        container.name,
      );
    }
    return preStop.seconds < grace
      ? pass(
          'prestop-present',
          workload.ref,
          `${preStop.text} < terminationGracePeriodSeconds ${grace} s`,
          container.name,
        )
      : fail(
          'prestop-present',
          workload.ref,
          `container ${container.name}: ${preStop.text} is not shorter than terminationGracePeriodSeconds ${grace} s`,
          container.name,
        );
  });

export const graceBudget: Rule = (context) => {
  const { config } = context;
  return context.workloads
    .filter((w) => w.longRunning)
    .flatMap((workload) =>
      workload.pod.containers.map((container) => {
        const grace = gracePeriodOf(workload.pod);
        const preStop = preStopOf(container);
        const drain = envDuration(container, config.drainDelayEnv);
        const shutdown = envDuration(container, config.shutdownTimeoutEnv);
        for (const env of [drain, shutdown])
          if (env.kind === 'unreadable')
            return fail(
              'grace-budget',
              workload.ref,
              `container ${container.name}: ${env.why}`,
              container.name,
            );
        const parts: [string, number][] = [
          [preStop.present ? preStop.text : 'preStop 0 s', preStop.seconds],
          [describeEnv(drain, config.drainDelayEnv), drain.kind === 'seconds' ? drain.seconds : 0],
          [
            describeEnv(shutdown, config.shutdownTimeoutEnv),
            shutdown.kind === 'seconds' ? shutdown.seconds : 0,
          ],
          [`margin ${seconds(config.marginSeconds)}`, config.marginSeconds],
        ];
        const needed = parts.reduce((sum, [, s]) => sum + s, 0);
        const sum = `${parts.map(([text]) => text).join(' + ')} = ${seconds(needed)}`;
        return grace >= needed
          ? pass(
              'grace-budget',
              workload.ref,
              `terminationGracePeriodSeconds ${grace} s >= ${sum}`,
              container.name,
            )
          : fail(
              'grace-budget',
              workload.ref,
              `container ${container.name}: terminationGracePeriodSeconds ${grace} s < ${sum}`,
              container.name,
            );
      }),
    );
};

export const readinessWindow: Rule = (context) =>
  eachServed(context, (container, workload) => {
    const probe = container.readinessProbe;
    if (!probe)
      return fail(
        'readiness-window',
        workload.ref,
        `container ${container.name} has no readinessProbe to take it out of rotation`,
        container.name,
      );
    const needed = readinessWindowOf(probe);
    const preStop = preStopOf(container);
    const drain = envDuration(container, context.config.drainDelayEnv);
    const window = preStop.seconds + (drain.kind === 'seconds' ? drain.seconds : 0);
    const windowText = `${seconds(window)} (${preStop.present ? preStop.text : 'no preStop'} + ${describeEnv(drain, context.config.drainDelayEnv)})`;
    return needed.seconds <= window
      ? pass(
          'readiness-window',
          workload.ref,
          `readinessProbe ${needed.text} fits in the preStop window ${windowText}`,
          container.name,
        )
      : fail(
          'readiness-window',
          workload.ref,
          `container ${container.name}: readinessProbe ${needed.text} does not fit in the preStop window ${windowText}`,
          container.name,
        );
  });
