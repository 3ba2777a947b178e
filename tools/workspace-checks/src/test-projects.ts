/**
 * The projects with a test target, found the way the @nx/vitest plugin finds them (a workspace
 * package with a vitest config) but without Nx: `npm test` falls back to this list when Nx cannot
 * build its project graph, which one vitest config that throws while loading is enough to cause.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestProject {
  name: string;
  dir: string;
}

const configNames = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs'];

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Workspace packages (root package.json `workspaces`, `dir/*` patterns) that have a vitest config. */
export function projectsWithVitest(root: string): TestProject[] {
  const patterns = (readJson(join(root, 'package.json')).workspaces as string[] | undefined) ?? [];
  const found: TestProject[] = [];
  for (const pattern of patterns) {
    const parent = pattern.endsWith('/*') ? pattern.slice(0, -2) : undefined;
    const dirs = parent
      ? (existsSync(join(root, parent)) ? readdirSync(join(root, parent)) : []).map((d) =>
          join(root, parent, d),
        )
      : [join(root, pattern)];
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      if (!configNames.some((c) => existsSync(join(dir, c)))) continue;
      found.push({ name: readJson(join(dir, 'package.json')).name as string, dir });
    }
  }
  return found;
}

/** Nx-style `--projects`/`--exclude` patterns: comma-separated names, `*` matches anything. */
export function selectProjects(projects: TestProject[], include: string[], exclude: string[]): TestProject[] {
  const matcher = (patterns: string[]) => {
    const regexes = patterns
      .flatMap((p) => p.split(','))
      .map(
        (p) =>
          new RegExp(
            `^${p
              .trim()
              .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '.*')}$`,
          ),
      );
    return (name: string) => regexes.some((r) => r.test(name));
  };
  const included = matcher(include);
  const excluded = matcher(exclude);
  return projects.filter((p) => (include.length === 0 || included(p.name)) && !excluded(p.name));
}
