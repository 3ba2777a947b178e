import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRuntimeConfig, pgPoolSettings, redisSettings } from '@tether/config';
import { createPgPool, createRedis } from '@tether/pooling';
import { applyHttpServerDefaults, checkLifecycleBudget, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { k8sEnvironment } from '@tether/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appCharts, chartsDir, prepareCharts, render, renderError } from '../src/helm.ts';
import {
  type Container,
  type Deployment,
  envValue,
  ofKind,
  onlyOne,
  preStopSeconds,
  probePort,
  type Service,
} from '../src/manifests.ts';

const charts = prepareCharts();
afterAll(() => charts.remove());
const kubeVersions = ['1.29.0', '1.30.0', '1.34.0', '1.36.0'];

/**
 * The OpenTelemetry SDK's own variables the charts may set (opentelemetry.io/docs/specs/otel/
 * configuration/sdk-environment-variables); read by the SDK that @tether/telemetry starts.
 */
const otelSdkVariables = [
  'OTEL_SERVICE_NAME',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
];

function container(chart: string, kubeVersion = '1.34.0', set: Record<string, string> = {}): Container {
  const deployment = onlyOne<Deployment>(
    render(charts.path(chart as never), { kubeVersion, set }),
    'Deployment',
  );
  return deployment.spec.template.spec.containers[0] as Container;
}

/** Does `read` (a lib's env reader) complain about `name` when it holds garbage? Then it reads it. */
function readsVariable(name: string, read: (env: NodeJS.ProcessEnv) => unknown): boolean {
  try {
    read({ [name]: '::not-valid::' });
    return false;
  } catch (error) {
    return JSON.stringify(error, Object.getOwnPropertyNames(error)).includes(name);
  }
}

describe.each(appCharts)('%s', (chart) => {
  it('probes /startupz, /readyz, /livez on the named admin port, which is ADMIN_PORT', () => {
    const c = container(chart);
    const admin = c.ports?.find((p) => p.name === 'admin');
    expect(admin?.containerPort).toBe(Number(envValue(c, 'ADMIN_PORT')));
    expect(c.startupProbe?.httpGet).toEqual({ path: '/startupz', port: 'admin' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'admin' });
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe])
      expect(probePort(c, probe as NonNullable<typeof probe>)).toBe(admin?.containerPort);
  });

  it.each(kubeVersions)(
    'preStop is the native sleep from 1.30 and an exec sleep below (Kubernetes %s)',
    (v) => {
      const c = container(chart, v, { 'lifecycle.preStopSleepSeconds': '7' });
      const preStop = c.lifecycle?.preStop;
      if (v === '1.29.0') {
        expect(preStop).toEqual({ exec: { command: ['sleep', '7'] } });
      } else {
        expect(preStop).toEqual({ sleep: { seconds: 7 } });
      }
    },
  );

  it.each(kubeVersions)(
    'the grace period holds the lifecycle budget by @tether/shutdown (Kubernetes %s)',
    (v) => {
      const variants: Record<string, string>[] = [
        {},
        { 'lifecycle.shutdownTimeoutMs': '61000', 'lifecycle.preStopSleepSeconds': '20' },
      ];
      for (const set of variants) {
        const deployment = onlyOne<Deployment>(
          render(charts.path(chart), { kubeVersion: v, set }),
          'Deployment',
        );
        const pod = deployment.spec.template.spec;
        const c = pod.containers[0] as Container;
        const env = Object.fromEntries(
          (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
        );
        const lifecycle = lifecycleOptionsFromEnv(env);
        const budget = checkLifecycleBudget({
          terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
          preStopSleepSeconds: preStopSeconds(c),
          drainDelayMs: lifecycle.drainDelayMs ?? 5000,
          shutdownTimeoutMs: lifecycle.shutdownTimeoutMs ?? 15_000,
        });
        expect(budget.slackMs).toBeGreaterThanOrEqual(0);
        expect(budget.warnings.filter((w) => w.includes('add up'))).toEqual([]);
      }
    },
  );

  it('the admin port is in no Service, and no other object exposes it', () => {
    const manifests = render(charts.path(chart), { set: { 'service.type': 'LoadBalancer' } });
    const c = onlyOne<Deployment>(manifests, 'Deployment').spec.template.spec.containers[0] as Container;
    const adminPort = c.ports?.find((p) => p.name === 'admin')?.containerPort;
    for (const service of ofKind<Service>(manifests, 'Service')) {
      for (const port of service.spec.ports) {
        expect(port.targetPort).not.toBe('admin');
        expect(port.targetPort).not.toBe(adminPort);
        expect(port.port).not.toBe(adminPort);
      }
    }
    expect(ofKind(manifests, 'Service')).toHaveLength(chart === 'worker' ? 0 : 1);
  });

  it('sets only environment variables the libs read, and everything @tether/config requires', () => {
    const c = container(chart, '1.34.0', { 'otel.endpoint': 'http://collector:4318' });
    const names = (c.env ?? []).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const readByConfig = (env: NodeJS.ProcessEnv) =>
      loadRuntimeConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h', ...env });
    for (const name of names) {
      const reader = otelSdkVariables.includes(name)
        ? 'opentelemetry-sdk'
        : name in k8sEnvironment
          ? '@tether/telemetry'
          : readsVariable(name, readByConfig)
            ? '@tether/config'
            : readsVariable(name, lifecycleOptionsFromEnv)
              ? '@tether/shutdown'
              : 'nobody';
      expect({ name, reader }).not.toEqual({ name, reader: 'nobody' });
    }
    // What @tether/config cannot start without (PORT and auth for the apps with clients).
    const required: ('PORT' | 'AUTH')[] = chart === 'worker' ? [] : ['PORT', 'AUTH'];
    let missing: string[] = [];
    try {
      loadRuntimeConfig({}, { require: required });
    } catch (error) {
      missing = (error as { variables: string[] }).variables;
    }
    expect(missing).toContain('DATABASE_URL');
    for (const variable of missing) expect(names).toContain(variable);
  });

  it('renders the connection-setting defaults as the PG_* / REDIS_KEEPALIVE_MS env, accepted by @tether/pooling', async () => {
    const values = parse(readFileSync(join(chartsDir, chart, 'values.yaml'), 'utf8')) as {
      connections: { postgres: Record<string, number>; redis: Record<string, number> };
    };
    const { postgres, redis } = values.connections;
    const c = container(chart);
    const env = Object.fromEntries(
      (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    const config = loadRuntimeConfig({ DATABASE_URL: 'postgres://app@h/db', REDIS_URL: 'redis://h', ...env });
    expect(pgPoolSettings(config)).toEqual({
      max: postgres['poolMax'],
      keepAliveInitialDelayMs: postgres['keepAliveMs'],
      idleTimeoutMs: postgres['idleTimeoutMs'],
      maxLifetimeMs: postgres['maxLifetimeMs'],
      maxLifetimeJitterMs: postgres['maxLifetimeJitterMs'],
      statementTimeoutMs: postgres['statementTimeoutMs'],
    });
    expect(redisSettings(config)).toEqual({ keepAliveMs: redis['keepAliveMs'] });
    // Safe by the reasons in values.yaml: keepalive well below the shortest cloud NAT/LB idle
    // timeout (Azure 240 s), idle connections closed before it, jitter within the lifetime.
    expect(postgres['keepAliveMs']).toBeLessThan(240_000);
    expect(redis['keepAliveMs']).toBeLessThan(240_000);
    expect(postgres['idleTimeoutMs']).toBeGreaterThan(0);
    expect(postgres['idleTimeoutMs']).toBeLessThan(240_000);
    expect(postgres['maxLifetimeJitterMs']).toBeGreaterThan(0);
    expect(postgres['maxLifetimeJitterMs']).toBeLessThanOrEqual(postgres['maxLifetimeMs'] as number);
    expect(postgres['statementTimeoutMs']).toBeGreaterThan(0);
    // The pooling lib validates every option when a pool is created (no connection is opened yet).
    const db = createPgPool({ connectionString: 'postgres://app@127.0.0.1:1/db', ...pgPoolSettings(config) });
    await db.drain(1_000);
    const client = createRedis({ url: 'redis://127.0.0.1:1', ...redisSettings(config) });
    await client.drain(1_000);
  });

  it('a connection-setting value is rendered as its variable', () => {
    const c = container(chart, '1.34.0', {
      'connections.postgres.poolMax': '7',
      'connections.postgres.statementTimeoutMs': '0',
      'connections.redis.keepAliveMs': '30000',
    });
    expect(envValue(c, 'PG_POOL_MAX')).toBe('7');
    expect(envValue(c, 'PG_STATEMENT_TIMEOUT_MS')).toBe('0');
    expect(envValue(c, 'REDIS_KEEPALIVE_MS')).toBe('30000');
  });

  it('a variable nobody reads is caught (control for the check above)', () => {
    const readByConfig = (env: NodeJS.ProcessEnv) =>
      loadRuntimeConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h', ...env });
    expect(readsVariable('DATABASE_URL', readByConfig)).toBe(true);
    expect(readsVariable('DATABSE_URL', readByConfig)).toBe(false);
    expect(readsVariable('SHUTDOWN_TIMEOUT_MS', lifecycleOptionsFromEnv)).toBe(true);
    expect(readsVariable('SHUTDOWN_TIMEOUT', lifecycleOptionsFromEnv)).toBe(false);
  });

  it('downward API feeds the K8S_* variables @tether/telemetry maps to resource attributes', () => {
    const env = container(chart).env ?? [];
    const fieldPaths = Object.fromEntries(
      env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]),
    );
    expect(fieldPaths).toMatchObject({
      K8S_POD_NAME: 'metadata.name',
      K8S_POD_UID: 'metadata.uid',
      K8S_NAMESPACE_NAME: 'metadata.namespace',
      K8S_NODE_NAME: 'spec.nodeName',
      K8S_CONTAINER_NAME: chart,
    });
    for (const name of Object.keys(k8sEnvironment)) expect(fieldPaths).toHaveProperty(name);
  });

  it('rolls out with maxUnavailable 0 / maxSurge 1, spreads over zones and nodes, runs hardened', () => {
    const manifests = render(charts.path(chart));
    const deployment = onlyOne<Deployment>(manifests, 'Deployment');
    expect(deployment.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    const pod = deployment.spec.template.spec;
    expect(pod.topologySpreadConstraints?.map((t) => t.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(ofKind(manifests, 'PodDisruptionBudget')).toHaveLength(1);
    expect(ofKind(manifests, 'NetworkPolicy')).toHaveLength(1);
    for (const m of manifests)
      expect(m.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': chart,
        'app.kubernetes.io/instance': 'rel',
        'app.kubernetes.io/managed-by': 'Helm',
      });
  });
});

describe('HTTP keep-alive and load-balancer idle timeouts', () => {
  const appKeepAliveSeconds = applyHttpServerDefaults(createServer()).keepAliveTimeout / 1000;

  it("refuses an LB idle timeout at the apps' keep-alive (@tether/shutdown's default) and accepts one below", () => {
    expect(
      renderError(charts.path('api'), {
        set: { 'service.loadBalancerIdleTimeoutSeconds': String(appKeepAliveSeconds) },
      }),
    ).toMatch(
      new RegExp(
        `service.loadBalancerIdleTimeoutSeconds \\(${appKeepAliveSeconds} s\\) must be below the apps' HTTP keep-alive timeout \\(${appKeepAliveSeconds} s`,
      ),
    );
    const service = onlyOne<Service>(
      render(charts.path('api'), {
        set: { 'service.loadBalancerIdleTimeoutSeconds': String(appKeepAliveSeconds - 5) },
      }),
      'Service',
    );
    expect(service.metadata.annotations).toMatchObject({
      'service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout': String(appKeepAliveSeconds - 5),
      'service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout': '4',
    });
  });

  it('sets the TCP keepalive sysctls only when asked', () => {
    const off = onlyOne<Deployment>(render(charts.path('api')), 'Deployment').spec.template.spec;
    expect(off.securityContext).not.toHaveProperty('sysctls');
    const on = onlyOne<Deployment>(
      render(charts.path('api'), { set: { 'tcpKeepalive.enabled': 'true' } }),
      'Deployment',
    );
    expect(on.spec.template.spec.securityContext?.['sysctls']).toEqual([
      { name: 'net.ipv4.tcp_keepalive_time', value: '60' },
      { name: 'net.ipv4.tcp_keepalive_intvl', value: '10' },
      { name: 'net.ipv4.tcp_keepalive_probes', value: '6' },
    ]);
  });
});
