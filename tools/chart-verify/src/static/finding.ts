/** What a rule reports, and the context every rule reads. */
import type { V1Service } from '@kubernetes/client-node';
import type { RuleId, StaticConfig } from './config.ts';
import type { K8sObject, Workload } from './objects.ts';

/** The rule id of findings about the waiver annotations themselves. */
export const waiverRule = 'waivers';

/** One check of one rule on one object (and container): passed, failed, or failed but waived. */
export interface Finding {
  rule: RuleId | typeof waiverRule;
  /** The object the finding is about, `Kind/name`; its annotations waive the finding. */
  ref: string;
  container?: string;
  passed: boolean;
  /** What was checked (passed) or what is wrong and by how much (failed). */
  message: string;
  /** The reason from the waiver annotation, when a failure is waived. */
  waived?: string;
}

export interface RuleContext {
  objects: K8sObject[];
  workloads: Workload[];
  services: V1Service[];
  config: StaticConfig;
}

export type Rule = (context: RuleContext) => Finding[];

export function pass(rule: RuleId, ref: string, message: string, container?: string): Finding {
  return { rule, ref, passed: true, message, ...(container ? { container } : {}) };
}

export function fail(rule: RuleId, ref: string, message: string, container?: string): Finding {
  return { rule, ref, passed: false, message, ...(container ? { container } : {}) };
}
