/**
 * Runs the enabled rules over a set of objects and applies the per-object waivers:
 * `chart-verify.tether.dev/waive-<rule-id>: "<reason>"` on the object a finding names turns its
 * failure into a waived finding. A waiver needs a reason of at least 10 characters; one
 * without, or one naming no rule, is itself a failure.
 */
import { minimumReasonLength, ruleIds, waiverPrefix, type RuleId, type StaticConfig } from './config.ts';
import { waiverRule, type Finding, type Rule } from './finding.ts';
import { refOf, servicesOf, workloadsOf, type K8sObject } from './objects.ts';
import { pdbAllowsEviction, pdbCoverage, rolloutMaxUnavailable } from './rules/disruption.ts';
import { imagePolicy, resourcesSet, securityContextHardened } from './rules/hardening.ts';
import { graceBudget, preStopPresent, readinessWindow } from './rules/lifecycle.ts';
import { livenessNoDependencies, probePortDeclared, probesDistinct, probesPresent } from './rules/probes.ts';

const rules: Record<RuleId, Rule> = {
  'probes-present': probesPresent,
  'probe-port': probePortDeclared,
  'probes-distinct': probesDistinct,
  'liveness-no-dependencies': livenessNoDependencies,
  'prestop-present': preStopPresent,
  'grace-budget': graceBudget,
  'readiness-window': readinessWindow,
  'pdb-coverage': pdbCoverage,
  'pdb-allows-eviction': pdbAllowsEviction,
  'rollout-max-unavailable': rolloutMaxUnavailable,
  resources: resourcesSet,
  'security-context': securityContextHardened,
  'image-policy': imagePolicy,
};

/** Every finding of every enabled rule, waivers applied. */
export function checkObjects(objects: K8sObject[], config: StaticConfig): Finding[] {
  const context = { objects, workloads: workloadsOf(objects), services: servicesOf(objects), config };
  const waivers = new Map(objects.map((o) => [refOf(o), o.metadata.annotations ?? {}]));
  const findings = ruleIds.filter((id) => config.enabled[id]).flatMap((id) => rules[id](context));
  return [...waiverProblems(objects), ...findings.map((f) => applyWaiver(f, waivers.get(f.ref) ?? {}))];
}

function applyWaiver(finding: Finding, annotations: Record<string, string>): Finding {
  if (finding.passed) return finding;
  const reason = annotations[`${waiverPrefix}${finding.rule}`]?.trim();
  if (reason === undefined) return finding;
  if (reason.length < minimumReasonLength)
    return {
      ...finding,
      message: `${finding.message} (waiver ${waiverPrefix}${finding.rule} ignored: its reason must be at least ${minimumReasonLength} characters)`,
    };
  return { ...finding, waived: reason };
}

function waiverProblems(objects: K8sObject[]): Finding[] {
  const problems: Finding[] = [];
  for (const object of objects)
    for (const key of Object.keys(object.metadata.annotations ?? {})) {
      if (!key.startsWith(waiverPrefix)) continue;
      const rule = key.slice(waiverPrefix.length);
      if (!(ruleIds as readonly string[]).includes(rule))
        problems.push({
          rule: waiverRule,
          ref: refOf(object),
          passed: false,
          message: `annotation ${key} waives no rule (rules: ${ruleIds.join(', ')})`,
        });
    }
  return problems;
}

/** Failures that are not waived: any one makes `static` exit 1. */
export function violations(findings: Finding[]): Finding[] {
  return findings.filter((f) => !f.passed && !f.waived);
}
