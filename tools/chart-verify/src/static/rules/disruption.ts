/**
 * Voluntary disruptions and rollouts: every multi-replica workload has a PodDisruptionBudget, no
 * budget forbids every eviction, and a Deployment's rollout never goes below its desired count.
 */
import { fail, pass, type Rule } from '../finding.ts';
import { pdbsOf, refOf, sameNamespace, selectorMatches, type Workload } from '../objects.ts';

const replicated = (w: Workload) =>
  (w.kind === 'Deployment' || w.kind === 'StatefulSet') && w.replicas.max > 1;

export const pdbCoverage: Rule = (context) => {
  const pdbs = pdbsOf(context.objects);
  return context.workloads.filter(replicated).map((workload) => {
    const covering = pdbs.filter(
      (p) => sameNamespace(workload.object, p) && selectorMatches(p.spec?.selector, workload.labels),
    );
    return covering.length > 0
      ? pass(
          'pdb-coverage',
          workload.ref,
          `${workload.replicas.max} replicas, covered by ${covering.map(refOf).join(', ')}`,
        )
      : fail(
          'pdb-coverage',
          workload.ref,
          `${workload.ref} runs up to ${workload.replicas.max} replicas and no PodDisruptionBudget selects its pods`,
        );
  });
};

/** "25%" of `total`, rounded the way the disruption controller rounds it (up). */
function resolve(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  return percent ? Math.ceil((Number(percent[1]) / 100) * total) : Number(value);
}

export const pdbAllowsEviction: Rule = (context) =>
  pdbsOf(context.objects).map((pdb) => {
    const ref = refOf(pdb);
    const covered = context.workloads.filter(
      (w) => sameNamespace(w.object, pdb) && selectorMatches(pdb.spec?.selector, w.labels),
    );
    const { maxUnavailable, minAvailable } = pdb.spec ?? {};
    if (maxUnavailable !== undefined) {
      const fewest = Math.min(...covered.map((w) => w.replicas.min), Number.MAX_SAFE_INTEGER);
      return resolve(maxUnavailable, fewest) <= 0
        ? fail(
            'pdb-allows-eviction',
            ref,
            `${ref} has maxUnavailable ${JSON.stringify(maxUnavailable)}: it never allows a voluntary eviction`,
          )
        : pass(
            'pdb-allows-eviction',
            ref,
            `maxUnavailable ${JSON.stringify(maxUnavailable)} allows evictions`,
          );
    }
    if (minAvailable !== undefined) {
      const blocked = covered.find((w) => resolve(minAvailable, w.replicas.min) >= w.replicas.min);
      return blocked
        ? fail(
            'pdb-allows-eviction',
            ref,
            `${ref} has minAvailable ${JSON.stringify(minAvailable)} and ${blocked.ref} runs ${blocked.replicas.min} replicas: it never allows a voluntary eviction`,
          )
        : pass(
            'pdb-allows-eviction',
            ref,
            `minAvailable ${JSON.stringify(minAvailable)} leaves room to evict`,
          );
    }
    return pass(
      'pdb-allows-eviction',
      ref,
      'no minAvailable or maxUnavailable (the API refuses that; nothing blocked)',
    );
  });

export const rolloutMaxUnavailable: Rule = (context) =>
  context.workloads
    .filter((w) => w.deployment)
    .map((workload) => {
      const strategy = workload.deployment?.spec?.strategy;
      if (strategy?.type === 'Recreate')
        return fail(
          'rollout-max-unavailable',
          workload.ref,
          `${workload.ref} uses the Recreate strategy: every pod stops before a new one starts`,
        );
      const maxUnavailable = strategy?.rollingUpdate?.maxUnavailable;
      if (maxUnavailable === undefined)
        return fail(
          'rollout-max-unavailable',
          workload.ref,
          `${workload.ref} leaves strategy.rollingUpdate.maxUnavailable unset (Kubernetes defaults it to 25%); set it to 0`,
        );
      return /^0%?$/.test(String(maxUnavailable))
        ? pass(
            'rollout-max-unavailable',
            workload.ref,
            `maxUnavailable ${JSON.stringify(maxUnavailable)}, maxSurge ${JSON.stringify(strategy?.rollingUpdate?.maxSurge ?? '25%')}`,
          )
        : fail(
            'rollout-max-unavailable',
            workload.ref,
            `${workload.ref} has strategy.rollingUpdate.maxUnavailable ${JSON.stringify(maxUnavailable)}; set it to 0`,
          );
    });
