import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as errors from '@tether/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../src/error-catalogue/codes.ts';
import { apiProblems, cataloguePath, renderCatalogue, root } from '../src/error-catalogue/render.ts';

type ErrorsModule = typeof errors;
type Constructor = new (...args: unknown[]) => Error;

const byCode = new Map(CATALOGUE.map((e) => [e.code, e]));

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name));
}

/** The shipped source of every lib and app: what the catalogue must cover. */
const shipped = ['libs', 'apps'].flatMap((group) =>
  readdirSync(join(root, group)).flatMap((p) => {
    try {
      return sources(join(root, group, p, 'src'));
    } catch {
      return [];
    }
  }),
);

describe('docs/errors.md', () => {
  // Regenerate with: node tools/workspace-checks/src/error-catalogue/cli.ts
  it('is what the generator writes', async () => {
    expect(readFileSync(cataloguePath, 'utf8')).toBe(renderCatalogue(await apiProblems()));
  });

  it('lists every TETHER_* code thrown in a lib or app, and none that nobody throws', () => {
    const thrown = new Set(
      shipped.flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/'(TETHER_[A-Z0-9_]+)'/g)].map((m) => m[1]),
      ),
    );
    expect([...thrown].filter((c) => !byCode.has(c as `TETHER_${string}`)).sort()).toEqual([]);
    expect(CATALOGUE.map((e) => e.code).filter((c) => !thrown.has(c))).toEqual([]);
  });

  it("names only catalogued codes in the API's problem types", async () => {
    for (const [slug, p] of Object.entries(await apiProblems()))
      for (const code of p.codes)
        expect(byCode.has(code as `TETHER_${string}`), `${slug}: ${code}`).toBe(true);
  });

  it('goes stale when a problem type changes in apps/api, so the first check fails', async () => {
    const page = readFileSync(cataloguePath, 'utf8');
    const problems = await apiProblems();
    const [slug, p] = Object.entries(problems).find(([, q]) => q.codes.length > 0)!;
    const edits: Partial<typeof p>[] = [
      { action: `${p.action} Then call us.` },
      { type: `${p.type}-v2` },
      { codes: p.codes.slice(1) },
    ];
    for (const edit of edits)
      expect(renderCatalogue({ ...problems, [slug]: { ...p, ...edit } }), JSON.stringify(edit)).not.toBe(
        page,
      );
  });
});

// A second copy of @tether/errors, as a second version in node_modules would be.
const copyDir = mkdtempSync(join(tmpdir(), 'tether-errors-copy-'));
cpSync(join(root, 'libs', 'errors', 'src'), copyDir, { recursive: true });
afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

/** Every public entry point of every lib (from its package.json `exports`), plus the apps' error modules. */
function entryPoints(): string[] {
  const specifiers: string[] = [];
  for (const dir of readdirSync(join(root, 'libs'))) {
    const manifest = JSON.parse(readFileSync(join(root, 'libs', dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, unknown>;
    };
    for (const path of Object.keys(manifest.exports ?? {})) {
      if (path === './package.json') continue;
      specifiers.push(path === '.' ? manifest.name : `${manifest.name}/${path.slice(2)}`);
    }
  }
  const apps = ['worker/src/job-errors.ts', 'worker/src/options.ts', 'ws-gateway/src/options.ts'];
  return [...specifiers, ...apps.map((f) => pathToFileURL(join(root, 'apps', f)).href)];
}

// Constructor arguments for the classes whose constructors need some; the others take none.
const sampleArgs: Record<string, unknown[]> = {
  TetherError: ['TETHER_SAMPLE', 'sample', { retryable: false }],
  TetherInvalidOptionError: ['max', 'must be an integer >= 1', { value: 0 }],
  ShutdownError: ['TETHER_SAMPLE', 'sample'],
  JobsError: ['TETHER_SAMPLE', 'sample'],
  RetryExhaustedError: ['op', 3, new Error('boom')],
  DeadlineExceededError: ['op', 100, 2, new Error('boom')],
  RetryBudgetExhaustedError: ['op', 2, new Error('boom')],
  BreakerOpenError: ['postgres'],
  PoolDrainingError: ['postgres'],
  CommitOutcomeUnknownError: [new Error('boom')],
  TransactionRolledBackError: [new Error('boom')],
  PgBouncerUnsupportedError: ['a named prepared statement'],
  RedisConnectionLostError: ['redis', 'INCR'],
  RedisOfflineQueueFullError: ['redis', 1000],
  RedisCommandAbandonedError: ['redis', 'GET'],
  LifecycleBudgetError: ['too short', 30_000, 20_000],
  ConfigError: [[{ variable: 'PORT', problem: 'must be a port number' }]],
  IdempotencyKeyReusedError: ['job-1'],
  JobsInputError: ['owner: must be a non-empty string'],
  JobNotFoundError: ['job-1'],
  TokenRejectedError: ['expired'],
  WsAuthError: [401],
  WsRejectedError: [404],
  WsConnectionError: ['closed', {}],
  WsHeartbeatTimeoutError: [5000],
  WsTokenTimeoutError: [100],
  TransientJobError: ['try later'],
  PermanentJobError: ['never'],
};
// Bases a lib subclasses: they carry whatever code they are given, so have no entry of their own.
const bases = new Set(['TetherError', 'ShutdownError', 'JobsError']);

describe('every error class a lib exports', () => {
  it('extends TetherError, is recognised by isTetherError of two copies, has a catalogued code', async () => {
    const copy = (await import(pathToFileURL(join(copyDir, 'index.ts')).href)) as ErrorsModule;
    const classes = new Map<Constructor, string[]>();
    for (const specifier of entryPoints()) {
      for (const [name, value] of Object.entries((await import(specifier)) as Record<string, unknown>)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
        classes.set(value as Constructor, [
          ...(classes.get(value as Constructor) ?? []),
          `${specifier} ${name}`,
        ]);
      }
    }
    expect(classes.size).toBeGreaterThan(30);
    for (const [cls, exportedAs] of classes) {
      const where = `${cls.name} (${exportedAs.join(', ')})`;
      expect(cls === errors.TetherError || cls.prototype instanceof errors.TetherError, where).toBe(true);
      const instance = new cls(...(sampleArgs[cls.name] ?? []));
      expect(errors.isTetherError(instance), where).toBe(true);
      expect(copy.isTetherError(instance), where).toBe(true);
      if (bases.has(cls.name)) continue;
      const { code, retryable } = instance as unknown as { code: `TETHER_${string}`; retryable: boolean };
      const entry = byCode.get(code);
      expect(entry, `${where}: ${code} is not in docs/errors.md`).toBeDefined();
      expect(entry?.classes, where).toContain(cls.name);
      expect(retryable, where).toBe(entry?.retryable);
    }
  }, 180_000);
});
