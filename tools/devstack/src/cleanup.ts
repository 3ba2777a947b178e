/**
 * Nothing the devstack starts may outlive the process that started it, even when a test fails,
 * the runner is interrupted, or the runner itself is killed with SIGKILL.
 *
 * - Every server runs in its own process group, recorded here; `exit` (which also follows an
 *   uncaught error) kills the groups with SIGKILL and removes their temp dirs synchronously.
 * - SIGINT/SIGTERM/SIGHUP, when nobody else handles them, run the same cleanup and exit.
 * - A detached watchdog process polls our pid and does the same cleanup if we die without running
 *   `exit` handlers (SIGKILL, OOM). It reads what to clean from a manifest file we keep current.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalTree } from './process-tree.ts';

interface Manifest {
  ownerPid: number;
  pgids: number[];
  dirs: string[];
  nftTables: string[];
}

const groups = new Set<number>();
const dirs = new Set<string>();
const nftTables = new Set<string>();
let manifestPath: string | undefined;
let installed = false;

function writeManifest(): void {
  if (!manifestPath) return;
  const manifest: Manifest = {
    ownerPid: process.pid,
    pgids: [...groups],
    dirs: [...dirs],
    nftTables: [...nftTables],
  };
  writeFileSync(manifestPath, JSON.stringify(manifest));
}

/** Signal a server's process group and every descendant (some, like Postgres backends, leave the group). */
export function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  signalTree(pgid, signal);
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function cleanupNow(): void {
  for (const pgid of groups) {
    killGroup(pgid, 'SIGCONT');
    killGroup(pgid, 'SIGKILL');
  }
  groups.clear();
  for (const table of nftTables) deleteNftTable(table);
  nftTables.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
  manifestPath = undefined; // its folder is gone; the watchdog sees that and exits
}

/**
 * The watchdog beside this module: `watchdog.ts` when running from source, `watchdog.js` from the
 * built package (a `.ts` path there names a file that does not exist, and the detached child would
 * die silently, leaving orphans unreaped).
 */
function watchdogScript(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./watchdog.${extension}`, import.meta.url));
}

function install(): void {
  if (installed) return;
  installed = true;
  const root = mkdtempSync(join(tmpdir(), 'tether-devstack-owner-'));
  manifestPath = join(root, 'manifest.json');
  dirs.add(root);
  writeManifest();
  process.once('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // Only act when nobody else (a test runner, the `npm start` CLI) owns this signal; adding a
      // listener disables Node's default exit, so without an owner we must exit ourselves.
      if (process.listenerCount(signal) === 1) {
        cleanupNow();
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      }
    });
  }
  const watchdog = spawn(process.execPath, [watchdogScript(), manifestPath], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
}

/** Remove an nftables table (fault-proxy blackhole rules); ignores one that is already gone. */
export function deleteNftTable(table: string): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export function trackNftTable(table: string): void {
  install();
  nftTables.add(table);
  writeManifest();
}

export function untrackNftTable(table: string): void {
  nftTables.delete(table);
  writeManifest();
}

/** A fresh temp dir removed at exit (and by the watchdog). */
export function tempDir(prefix: string): string {
  install();
  mkdirSync(tmpdir(), { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), `tether-${prefix}-`));
  dirs.add(dir);
  writeManifest();
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
  writeManifest();
}

/** Track a process group (the pid of a child spawned with `detached: true`). */
export function trackGroup(pgid: number): void {
  install();
  groups.add(pgid);
  writeManifest();
}

export function untrackGroup(pgid: number): void {
  groups.delete(pgid);
  writeManifest();
}
