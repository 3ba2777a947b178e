/**
 * Hardening, for every container of every pod template (init containers, Jobs and hook Pods
 * included): resources set, a restrictive securityContext, and optionally pinned images.
 */
import type { V1Container, V1PodSecurityContext } from '@kubernetes/client-node';
import { fail, pass, type Finding, type Rule, type RuleContext } from '../finding.ts';
import { allContainers } from '../objects.ts';

function eachContainer(
  context: RuleContext,
  check: (container: V1Container, pod: V1PodSecurityContext, ref: string) => Finding,
): Finding[] {
  return context.workloads.flatMap((w) =>
    allContainers(w.pod).map((c) => check(c, w.pod.securityContext ?? {}, w.ref)),
  );
}

export const resourcesSet: Rule = (context) =>
  eachContainer(context, (container, _pod, ref) => {
    const { requests = {}, limits = {} } = container.resources ?? {};
    const missing = [
      requests['cpu'] === undefined && 'resources.requests.cpu',
      requests['memory'] === undefined && 'resources.requests.memory',
      limits['memory'] === undefined && 'resources.limits.memory',
      context.config.requireCpuLimit && limits['cpu'] === undefined && 'resources.limits.cpu',
    ].filter((m): m is string => typeof m === 'string');
    return missing.length === 0
      ? pass('resources', ref, 'requests and memory limit set', container.name)
      : fail('resources', ref, `container ${container.name} has no ${missing.join(', ')}`, container.name);
  });

export const securityContextHardened: Rule = (context) =>
  eachContainer(context, (container, pod, ref) => {
    const own = container.securityContext ?? {};
    const seccomp = (own.seccompProfile ?? pod.seccompProfile)?.type;
    const problems = [
      (own.runAsNonRoot ?? pod.runAsNonRoot) !== true && 'runAsNonRoot is not true',
      own.allowPrivilegeEscalation !== false && 'allowPrivilegeEscalation is not false',
      own.readOnlyRootFilesystem !== true && 'readOnlyRootFilesystem is not true',
      !(own.capabilities?.drop ?? []).includes('ALL') && 'capabilities.drop lacks ALL',
      own.privileged === true && 'privileged is true',
      seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost' && `seccompProfile is ${seccomp ?? 'unset'}`,
    ].filter((p): p is string => typeof p === 'string');
    return problems.length === 0
      ? pass(
          'security-context',
          ref,
          'non-root, no privilege escalation, read-only root, drops ALL, seccomp',
          container.name,
        )
      : fail('security-context', ref, `container ${container.name}: ${problems.join(', ')}`, container.name);
  });

/** `repo:tag@sha256:…` split into its tag and digest (a registry port is not a tag). */
export function imageParts(image: string): { tag?: string; digest?: string } {
  const [name = '', digest] = image.split('@');
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  return {
    ...(colon >= 0 ? { tag: lastPart.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

export const imagePolicy: Rule = (context) =>
  eachContainer(context, (container, _pod, ref) => {
    const image = container.image ?? '';
    const { tag, digest } = imageParts(image);
    if (context.config.requireDigest && !digest)
      return fail(
        'image-policy',
        ref,
        `container ${container.name}: image "${image}" has no digest (requireDigest)`,
        container.name,
      );
    if (!digest && (tag === undefined || tag === 'latest'))
      return fail(
        'image-policy',
        ref,
        `container ${container.name}: image "${image}" is ${tag ? ':latest' : 'untagged (latest)'} with no digest`,
        container.name,
      );
    return pass('image-policy', ref, `image "${image}" is pinned`, container.name);
  });
