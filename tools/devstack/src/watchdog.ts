/**
 * Orphan reaper, started detached by cleanup.ts: when the owner process disappears without having
 * cleaned up (SIGKILL, OOM kill), kill the process groups and remove the dirs its manifest lists.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive, signalTree } from './process-tree.ts';

const manifestPath = process.argv[2];
if (!manifestPath) process.exit(2);

function read(): { ownerPid: number; pgids: number[]; dirs: string[]; nftTables?: string[] } | undefined {
  try {
    return JSON.parse(readFileSync(manifestPath as string, 'utf8'));
  } catch {
    return undefined;
  }
}

const timer = setInterval(() => {
  const manifest = read();
  if (!manifest) {
    clearInterval(timer); // the owner cleaned up and removed its folder
    return;
  }
  if (isAlive(manifest.ownerPid)) return;
  clearInterval(timer);
  for (const pgid of manifest.pgids) {
    for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
      signalTree(pgid, signal);
      try {
        process.kill(-pgid, signal);
      } catch {
        // gone already
      }
    }
  }
  for (const table of manifest.nftTables ?? []) {
    try {
      execFileSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
  for (const dir of manifest.dirs) rmSync(dir, { recursive: true, force: true });
  rmSync(dirname(manifestPath as string), { recursive: true, force: true });
}, 500);
