import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPrerequisites, reachableByOthers } from '../src/preflight.ts';

const cli = join(import.meta.dirname, '..', 'src', 'preflight-cli.ts');
const emptyDir = mkdtempSync(join(tmpdir(), 'tether-preflight-'));

// Folders and files that hold the prerequisites on this (Debian) machine. The "bare machine" runs
// the CLI in a private mount namespace where they are covered up, with a PATH of one empty folder.
// The workspace's own .cache/bin too: helm lands there once a chart test or .ci/run unpacked it, so
// without hiding it the bare machine would depend on what ran before this test.
const workspaceBin = join(import.meta.dirname, '..', '..', '..', '.cache', 'bin');
const hiddenDirs = ['/usr/lib/postgresql', '/usr/local/bin', '/usr/local/sbin', '/usr/sbin', workspaceBin];
const hiddenFiles = ['/usr/bin/redis-server', '/usr/bin/pgbouncer', '/usr/bin/nft', '/usr/bin/ip'];

interface Run {
  status: number | null;
  output: string;
}

function runPreflight(
  command: string,
  { bare = false, env = {}, uid }: { bare?: boolean; env?: Record<string, string>; uid?: number } = {},
): Run {
  const node = `'${process.execPath}' '${cli}' ${command}`;
  const script = bare
    ? [
        ...hiddenDirs.map((d) => `[ -d ${d} ] && /usr/bin/mount -t tmpfs none ${d}`),
        ...hiddenFiles.map((f) => `[ -e ${f} ] && /usr/bin/mount --bind /dev/null ${f}`),
        `exec ${node}`,
      ].join('; ')
    : `exec ${node}`;
  const argv = bare
    ? ['/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script]]
    : ['/bin/sh', ['-c', script]];
  const result = spawnSync(argv[0] as string, argv[1] as string[], {
    encoding: 'utf8',
    env: {
      HOME: tmpdir(),
      PATH: bare ? emptyDir : (process.env.PATH ?? ''),
      ...env,
    },
    ...(uid === undefined ? {} : { uid, gid: uid }),
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('preflight', () => {
  afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

  it('passes on this machine, which has every prerequisite (the control for the bare machine)', () => {
    const test = runPreflight('test');
    expect(test.output).not.toMatch(/missing/);
    expect(test.status).toBe(0);
    expect(runPreflight('start').status).toBe(0);
  });

  it('lists every missing prerequisite of npm test at once, with Debian/Ubuntu and macOS commands', () => {
    const { status, output } = runPreflight('test', { bare: true });
    expect(status).toBe(1);
    expect(output).toMatch(/npm test cannot run: 7 prerequisites are missing/);
    for (const [name, debian] of [
      ['PostgreSQL server binaries', 'sudo apt-get install postgresql'],
      ['redis-server', 'sudo apt-get install redis-server'],
      ['pgbouncer', 'sudo apt-get install pgbouncer'],
      ['nftables', 'sudo apt-get install nftables'],
      ['iproute2', 'sudo apt-get install iproute2'],
      ['helm', 'bash .ci/install-k8s-tools.sh'],
      ['chromium', 'sudo apt-get install chromium'],
    ]) {
      expect(output).toContain(`missing   ${name}`);
      expect(output).toContain(`Debian/Ubuntu: ${debian}`);
    }
    expect(output).toContain('macOS:         brew install postgresql@17');
    expect(output).toContain('macOS:         brew install redis');
  });

  it('fails npm start only for what it needs: Postgres and Redis, unless their URLs are given', () => {
    const bare = runPreflight('start', { bare: true });
    expect(bare.status).toBe(1);
    expect(bare.output).toMatch(/npm start cannot run: 2 prerequisites are missing/);
    expect(bare.output).not.toMatch(/pgbouncer|nftables|iproute2/);

    const withUrls = runPreflight('start', {
      bare: true,
      env: { DATABASE_URL: 'postgres://db.example/app', REDIS_URL: 'redis://cache.example' },
    });
    expect(withUrls.output).not.toMatch(/missing/);
    expect(withUrls.status).toBe(0);
  });

  it('notes a checkout other users cannot reach (a 0700 folder above it), without failing npm test', () => {
    const locked = mkdtempSync(join(tmpdir(), 'tether-preflight-locked-'));
    const root = join(locked, 'checkout');
    try {
      mkdirSync(root, { mode: 0o755 });
      chmodSync(locked, 0o700);
      expect(reachableByOthers(root)).toBe(false);
      const missing = checkPrerequisites({ command: 'test', env: {}, root, platform: 'linux' });
      const note = missing.find((m) => m.name.startsWith('a checkout other users can reach'));
      if (process.getuid?.() === 0) expect(note).toMatchObject({ required: false });
      else expect(note).toBeUndefined();
      // Control: the same checkout once the folder lets others through.
      chmodSync(locked, 0o755);
      expect(reachableByOthers(root)).toBe(true);
      expect(
        checkPrerequisites({ command: 'test', env: {}, root, platform: 'linux' }).some((m) =>
          m.name.startsWith('a checkout other users can reach'),
        ),
      ).toBe(false);
    } finally {
      rmSync(locked, { recursive: true, force: true });
    }
  });

  it('needs root for the kernel-drop tests, not for npm start', () => {
    const nobody = 65534;
    const test = runPreflight('test', { uid: nobody });
    expect(test.status).toBe(1);
    expect(test.output).toMatch(/npm test cannot run: 1 prerequisite is missing/);
    expect(test.output).toContain('missing   root (CAP_NET_ADMIN) for nftables');
    expect(runPreflight('start', { uid: nobody }).status).toBe(0);
  });
});
