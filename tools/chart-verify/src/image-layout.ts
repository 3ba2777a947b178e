/**
 * Assembles one workspace's container image filesystem: the workspace and the workspace libs it
 * depends on (sources, as the apps run them with --conditions=@tether/source), and exactly their
 * production dependencies copied from an installed node_modules, as package-lock.json resolves
 * them — no devDependencies, no other app's dependencies. docker/Dockerfile runs it in its build
 * stage; image.test.ts runs it on the repository and starts the result.
 *
 *   node tools/chart-verify/src/image-layout.ts <workspace, e.g. apps/api> <output dir>
 */
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

interface LockEntry {
  name?: string;
  version?: string;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Folders of a workspace that are not part of its image. */
const skippedInWorkspace = new Set(['test', 'node_modules', 'dist', 'out-tsc', 'examples', 'coverage']);

/** Where Node finds `name` from the package at `from`: its own node_modules, then each parent's. */
function resolve(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut >= 0 ? base.slice(0, cut) : '';
  }
}

export interface ImageLayout {
  /** Lockfile paths copied: workspace folders (libs/config) and packages (node_modules/pg). */
  workspaces: string[];
  packages: string[];
}

/** The production closure of `workspace` in the lockfile. */
export function productionClosure(
  lock: { packages: Record<string, LockEntry> },
  workspace: string,
): ImageLayout {
  const packages = lock.packages;
  const seen = new Set<string>();
  const workspaces: string[] = [];
  const installed: string[] = [];
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const entry = packages[path];
    if (!entry) throw new Error(`${path} is not in package-lock.json`);
    if (entry.link) return visit(entry.resolved as string);
    if (path.startsWith('node_modules/') || path.includes('/node_modules/')) installed.push(path);
    else workspaces.push(path);
    // Optional dependencies come along when the lockfile installed them. Optional peers only for the
    // workspace libs: theirs are deliberate (@tether/pooling imports pg and ioredis), while a
    // third-party package's optional peer (typescript for a migration tool) is not needed to run.
    const isWorkspace = !path.includes('node_modules/');
    const optional = new Set([
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependenciesMeta ?? {}).filter(
        (n) => entry.peerDependenciesMeta?.[n]?.optional,
      ),
    ]);
    const required = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => isWorkspace || !optional.has(n)),
    ];
    for (const name of required) {
      const target = resolve(packages, path, name);
      if (target) visit(target);
      else if (!optional.has(name))
        throw new Error(`${path} needs ${name}, which the lockfile does not hold`);
    }
  };
  visit(workspace);
  return { workspaces: workspaces.sort(), packages: installed.sort() };
}

export function assembleImageLayout(root: string, workspace: string, out: string): ImageLayout {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const layout = productionClosure(lock, workspace);
  mkdirSync(out, { recursive: true });
  for (const dir of layout.workspaces) {
    cpSync(join(root, dir), join(out, dir), {
      recursive: true,
      filter: (source) => {
        const rel = relative(join(root, dir), source).split('/');
        return !(skippedInWorkspace.has(rel[0] as string) || rel[0]?.endsWith('.test.ts'));
      },
    });
    const name = (lock.packages[dir] as LockEntry).name as string;
    const link = join(out, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), join(out, dir)), link);
  }
  for (const path of layout.packages) {
    const source = join(root, path);
    if (!existsSync(source)) throw new Error(`${path} is not installed: run npm ci first`);
    cpSync(source, join(out, path), {
      recursive: true,
      // Nested node_modules are packages of their own, copied only when the closure needs them.
      filter: (file) => !relative(source, file).split('/').includes('node_modules'),
    });
  }
  // The layout's own package.json: ESM, like the repository, and a record of what is inside.
  writeFileSync(
    join(out, 'package.json'),
    `${JSON.stringify({ name: 'tether-image', private: true, type: 'module', workspaces: layout.workspaces }, null, 2)}\n`,
  );
  return layout;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const [workspace, out] = process.argv.slice(2);
  if (!workspace || !out) {
    console.error('usage: node image-layout.ts <workspace, e.g. apps/api> <output dir>');
    process.exit(2);
  }
  const layout = assembleImageLayout(process.cwd(), workspace, out);
  console.log(
    `${workspace}: ${layout.workspaces.length} workspaces, ${layout.packages.length} packages -> ${out}`,
  );
}
