/**
 * No Docker engine here: what can be proven about the images without one. docker/Dockerfile's build
 * stage runs src/image-layout.ts; these tests run the same script on the repository, check the
 * layout holds production dependencies only, and run the rendered pod specs from it — the app
 * starts, passes its probes, drains and exits 0 on SIGTERM; the migrations Job applies the schema.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EphemeralPostgres, EphemeralRedis, freePort } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageCmd, imageEntrypoint, runContainer, waitForStatus } from '../src/container-run.ts';
import { prepareCharts, render, workspaceRoot, type Manifest } from '../src/helm.ts';
import { assembleImageLayout, productionClosure } from '../src/image-layout.ts';
import { type Container, type Deployment, onlyOne, probePort } from '../src/manifests.ts';

const charts = prepareCharts();
const dockerfile = readFileSync(join(workspaceRoot, 'docker', 'Dockerfile'), 'utf8');
const lock = JSON.parse(readFileSync(join(workspaceRoot, 'package-lock.json'), 'utf8'));
const out = mkdtempSync(join(tmpdir(), 'chart-verify-image-'));
// The image's user (uid 1000) must be able to read the layout, and nothing more: it is made
// read-only below, as the pod's root filesystem is. Only possible as root (CI and this VM are).
const asImageUser = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : undefined;
chmodSync(out, 0o755);

function readOnly(dir: string): void {
  execFileSync('chmod', ['-R', 'a-w,a+rX', dir]);
}
let postgres: EphemeralPostgres;
let redis: EphemeralRedis;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()]);
  execFileSync('chmod', ['-R', 'u+w', out]);
  rmSync(out, { recursive: true, force: true });
  charts.remove();
}, 120_000);

/** Every package name a lockfile path holds (node_modules/a/node_modules/@b/c -> @b/c). */
const packageName = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Tooling no running app needs (some @types/* are real dependencies of production packages, so not listed). */
const devOnlyPackages = [
  'vitest',
  'vite',
  'nx',
  '@nx/js',
  'typescript',
  'eslint',
  'prettier',
  'node',
  'k8s-models-136',
];

describe('docker/Dockerfile', () => {
  it('is multi-stage on Node 24, runs as uid 1000, and starts node as PID 1 in exec form', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(imageEntrypoint).replace(',', ', ')}`);
    expect(dockerfile).toContain(`CMD ${JSON.stringify(imageCmd)}`);
    expect(dockerfile).toContain('node tools/chart-verify/src/image-layout.ts "$WORKSPACE" /out');
    expect(dockerfile).toMatch(/^WORKDIR \/app\/\$\{WORKSPACE\}$/m);
  });
});

describe.each(['apps/api', 'apps/worker', 'apps/ws-gateway', 'libs/migrations'])(
  'the %s image layout',
  (workspace) => {
    it('holds its production closure only: no devDependencies, no other app', () => {
      const closure = productionClosure(lock, workspace);
      const names = new Set(closure.packages.map(packageName));
      for (const dev of devOnlyPackages) expect(names.has(dev), dev).toBe(false);
      expect(closure.workspaces).toContain(workspace);
      for (const other of ['apps/api', 'apps/worker', 'apps/ws-gateway', 'tools/devstack'])
        if (other !== workspace) expect(closure.workspaces).not.toContain(other);
    });

    it('the full install would hold devDependencies (control: the closure prunes)', () => {
      const installed = Object.keys(lock.packages)
        .filter((p) => p.startsWith('node_modules/'))
        .map(packageName);
      expect(installed).toEqual(expect.arrayContaining(['vitest', 'typescript']));
    });
  },
);

describe('run from the assembled layout, read-only, as uid 1000', () => {
  it('runs as root here, so the uid switch and the read-only layout are really exercised', () => {
    expect(asImageUser).toEqual({ uid: 1000, gid: 1000 });
  });

  it('first, as the pre-install hook does: the migrations Job applies the schema from the libs/migrations layout, twice without harm', async () => {
    const root = join(out, 'migrations');
    assembleImageLayout(workspaceRoot, 'libs/migrations', root);
    readOnly(root);
    const job = onlyOne<Manifest & { spec: { template: { spec: { containers: Container[] } } } }>(
      render(charts.path('tether')),
      'Job',
    );
    const container = job.spec.template.spec.containers[0] as Container;
    const outputs: string[] = [];
    for (let run = 0; run < 2; run++) {
      const migrate = runContainer(container, {
        root,
        workspace: 'libs/migrations',
        secrets: { DATABASE_URL: postgres.url },
        user: asImageUser,
      });
      expect(await migrate.exited, migrate.output()).toBe(0);
      outputs.push(migrate.output());
    }
    // tether-migrate prints what it applied, then "schema is current" when nothing is left.
    expect(outputs[0]).toMatch(/applied: .*jobs/);
    expect(outputs[1]).toContain('schema is current');
  }, 120_000);

  it.each(['api', 'worker', 'ws-gateway'])(
    '%s starts with its rendered pod spec, passes startup/readiness/liveness, drains on SIGTERM and exits 0',
    async (app) => {
      const root = join(out, app);
      assembleImageLayout(workspaceRoot, `apps/${app}`, root);
      expect(existsSync(join(root, 'node_modules', 'vitest'))).toBe(false);
      expect(readdirSync(join(root, 'node_modules', '@tether'))).not.toContain('devstack');
      readOnly(root);
      const [publicPort, adminPort] = await Promise.all([freePort(), freePort()]);
      const set: Record<string, string> = { 'ports.admin': String(adminPort) };
      if (app !== 'worker') set['ports.public'] = String(publicPort);
      const deployment = onlyOne<Deployment>(render(charts.path(app as never), { set }), 'Deployment');
      const container = deployment.spec.template.spec.containers[0] as Container;
      const running = runContainer(container, {
        root,
        workspace: `apps/${app}`,
        secrets: {
          DATABASE_URL: postgres.url,
          REDIS_URL: redis.url,
          AUTH_JWT_SECRET: 'image-test-'.repeat(4),
        },
        user: asImageUser,
      });
      try {
        for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
          const p = probe as NonNullable<typeof probe>;
          await waitForStatus(
            running,
            `http://127.0.0.1:${probePort(container, p)}${p.httpGet.path}`,
            200,
            150_000,
          );
        }
        const stopped = Date.now();
        expect(await running.stop('SIGTERM'), running.output()).toBe(0);
        const graceMs = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        expect(Date.now() - stopped).toBeLessThan(graceMs);
      } finally {
        await running.stop('SIGKILL');
      }
    },
    300_000,
  );
});
