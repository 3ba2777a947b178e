import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appCharts, chartsDir, prepareCharts, render, type Manifest } from '../src/helm.ts';
import { isKnownKind, loadModels, schemaSources, validateObject } from '../src/k8s-schema.ts';

const charts = prepareCharts();
afterAll(() => charts.remove());
const require = createRequire(import.meta.url);
type Json = Record<string, unknown>;
interface EditableDeployment extends Manifest {
  spec: Json & {
    template: {
      spec: Json & { containers: (Json & { readinessProbe: { httpGet: Json }; ports: Json[] })[] };
    };
  };
}
/** CRDs of the Prometheus Operator: not in the Kubernetes models; checked in monitoring.test.ts. */
const crdKinds = new Set(['PodMonitor', 'PrometheusRule']);
const monitoringApis = [
  'monitoring.coreos.com/v1',
  'monitoring.coreos.com/v1/PodMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
];

const cases = [...appCharts, 'tether' as const].flatMap((chart) => {
  const dir = join(chartsDir, chart, 'ci');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-values.yaml')) : [];
  return [undefined, ...files].map((values) => ({ chart, values }));
});

describe.each(schemaSources)('Kubernetes $kubeVersion (models of $packageName, $apiRelease)', (source) => {
  it('the package really holds the models of that release', () => {
    const pkgDir = dirname(require.resolve(`${source.packageName}/package.json`));
    const candidates = ['dist/gen/model/v1Pod.js', 'dist/gen/models/V1Pod.js'].map((f) => join(pkgDir, f));
    const text = readFileSync(candidates.find((f) => existsSync(f)) as string, 'utf8');
    expect(text).toMatch(
      new RegExp(`(OpenAPI document|OpenAPI spec version): ${source.apiRelease.replace('.', '\\.')}\\b`),
    );
  });

  for (const { chart, values } of cases) {
    it(`${chart} with ${values ?? 'default values'}: every object validates`, async () => {
      const models = await loadModels(source);
      const manifests = render(charts.path(chart), {
        kubeVersion: source.kubeVersion,
        valuesFiles: values ? [join(charts.path(chart), 'ci', values)] : [],
        apiVersions: monitoringApis,
      });
      expect(manifests.length).toBeGreaterThan(3);
      const problems = manifests
        .filter((m) => !crdKinds.has(m.kind))
        .flatMap((m) => validateObject(models, m).map((p) => `${m.kind}/${m.metadata.name}: ${p}`));
      expect(problems).toEqual([]);
      for (const m of manifests)
        if (!crdKinds.has(m.kind)) expect(isKnownKind(models, m.apiVersion, m.kind)).toBe(true);
    });
  }

  it('rejects an unknown field and wrong types (control: the validator is strict)', async () => {
    const models = await loadModels(source);
    const deployment = render(charts.path('api'), { kubeVersion: source.kubeVersion }).find(
      (m) => m.kind === 'Deployment',
    ) as Manifest;
    const broken = structuredClone(deployment) as unknown as EditableDeployment;
    const container = broken.spec.template.spec
      .containers[0] as EditableDeployment['spec']['template']['spec']['containers'][number];
    container.readinessProbe.httpGet.paht = '/readyz';
    broken.spec.replicas = '2';
    (container.ports[0] as Json)['containerPort'] = 8080.5;
    broken.spec.template.spec.terminationGracePeriodSeconds = 'thirty';
    const problems = validateObject(models, broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/readinessProbe\.httpGet\.paht: unknown field/),
        expect.stringMatching(/spec\.replicas: expected a number, got string "2"/),
        expect.stringMatching(/terminationGracePeriodSeconds: expected a number/),
      ]),
    );
    if (source.packageName !== 'k8s-models-129')
      expect(problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/containerPort: expected an integer/)]),
      );
  });
});
