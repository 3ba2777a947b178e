import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DevstackError } from './errors.ts';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `name` from PATH, else from `extraDirs` (package locations that are often not on PATH, such as
 * `/usr/sbin` for a non-root user); undefined when it is nowhere.
 */
export function findExecutable(
  name: string,
  extraDirs: string[] = [],
  path = process.env.PATH,
): string | undefined {
  for (const dir of [...(path ?? '').split(delimiter), ...extraDirs]) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Versioned install folders, newest first: `/usr/lib/postgresql/17/bin`, Homebrew's `postgresql@17`. */
function versionedDirs(parent: string, pattern: RegExp, suffix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return [];
  }
  return entries
    .map((entry) => ({ entry, version: Number(pattern.exec(entry)?.[1]) }))
    .filter(({ version }) => Number.isFinite(version) && version > 0)
    .sort((a, b) => b.version - a.version)
    .map(({ entry }) => join(parent, entry, suffix));
}

function postgresDirs(): string[] {
  const onPath = findExecutable('initdb');
  return [
    ...(onPath ? [onPath.slice(0, -'/initdb'.length)] : []),
    ...versionedDirs('/usr/lib/postgresql', /^(\d+)$/, 'bin'),
    ...versionedDirs('/opt/homebrew/opt', /^postgresql@(\d+)$/, 'bin'),
    ...versionedDirs('/usr/local/opt', /^postgresql@(\d+)$/, 'bin'),
  ];
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * Finds `initdb` and `postgres`: the same folder as an `initdb` on PATH, else the newest
 * `/usr/lib/postgresql/<v>/bin` (Debian/Ubuntu), else Homebrew's folders. Both must come from one
 * folder so initdb and the server agree on the data-directory format.
 */
export function findPostgres(candidateDirs: string[] = postgresDirs()): PostgresBinaries {
  for (const dir of candidateDirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (isExecutable(initdb) && isExecutable(postgres)) return { initdb, postgres };
  }
  throw new DevstackError(
    'TETHER_DEVSTACK_MISSING_BINARY',
    'PostgreSQL server binaries (initdb, postgres) were not found on PATH or in /usr/lib/postgresql/*/bin. ' +
      'Install them: Debian/Ubuntu `sudo apt-get install postgresql`; macOS `brew install postgresql@17`.',
  );
}

/** `redis-server` from PATH, else the usual package locations. */
export function findRedis(
  candidates: (string | undefined)[] = [
    findExecutable('redis-server'),
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    '/opt/homebrew/bin/redis-server',
  ],
): string {
  const found = candidates.find((p): p is string => p !== undefined && isExecutable(p));
  if (found) return found;
  throw new DevstackError(
    'TETHER_DEVSTACK_MISSING_BINARY',
    'redis-server was not found on PATH or in /usr/bin, /usr/local/bin, /opt/homebrew/bin. ' +
      'Install it: Debian/Ubuntu `sudo apt-get install redis-server`; macOS `brew install redis`.',
  );
}
