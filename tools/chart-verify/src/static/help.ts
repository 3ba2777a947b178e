/** `chart-verify static --help`, kept apart so that printing it loads no Kubernetes client. */
import { minimumReasonLength, ruleIds, waiverPrefix } from './config.ts';

export const staticHelp = `chart-verify static <chart-dir | manifest.yaml | dir | -> ... [options]

Checks that a workload's probes, preStop, grace period, disruption budget, rollout strategy,
resources and securityContext add up to rollouts and drains that drop no request. A chart
directory (it has Chart.yaml) is rendered with \`helm template\` (file:// dependencies are built in
a temporary copy); a file is read as YAML manifests; a directory is every *.yaml/*.yml/*.json
under it; \`-\` reads stdin (e.g. \`kubectl get deploy,svc,pdb -o yaml | chart-verify static -\`).

rendering (charts only):
  -f, --values FILE     values file (repeatable)
  --set KEY=VALUE       value (repeatable)
  --kube-version V      Kubernetes version for the chart (e.g. 1.34.0)
  --api-versions API    extra API version the cluster serves (repeatable)
  --release NAME        release name                                 (default release)
  -n, --namespace NS    namespace                                    (default default)

checking:
  --config FILE         YAML/JSON: turn rules on/off and set their options (see the README)
  --rule ID             run only this rule (repeatable)

output:
  --format F            table, json or junit on stdout               (default table)
  --junit FILE          also write JUnit XML to FILE
  --json FILE           also write the JSON report to FILE
  -v, --verbose         the table lists passed checks too
  -h, --help            this text

rules: ${ruleIds.join(', ')}
  (image-policy is off unless the config turns it on). Waive a finding on one object with the
  annotation ${waiverPrefix}<rule>: "<reason, ${minimumReasonLength}+ characters>" on the object it names.

exit status: 0 no violation, 1 at least one violation, 2 bad input (path, chart, config, option).`;
