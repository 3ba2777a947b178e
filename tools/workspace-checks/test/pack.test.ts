import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'node_modules', '.bin');
const scratch = mkdtempSync(join(tmpdir(), 'tether-consumer-'));

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/** A strict TypeScript consumer of `main.ts` that checks the installed packages' declarations too. */
function writeConsumerTsconfig(dir: string, types: string[]): void {
  const compilerOptions = {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2023',
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...compilerOptions, noEmit: true, skipLibCheck: false, types },
      files: ['main.ts'],
    }),
  );
}

describe('a packed lib in a project outside the repo', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs from its tarball, imports as ESM with types, and works', () => {
    const lib = join(root, 'libs', 'retry');
    run('tsc', ['-b', 'tsconfig.lib.json'], lib); // builds @tether/redact and @tether/errors too (references)
    // @tether/retry depends on @tether/redact and @tether/errors, which are not on the registry: pack
    // them all, install them all.
    run('npm', ['pack', '--pack-destination', scratch, '--silent'], join(root, 'libs', 'redact'));
    run('npm', ['pack', '--pack-destination', scratch, '--silent'], join(root, 'libs', 'errors'));
    run('npm', ['pack', '--pack-destination', scratch, '--silent'], lib);
    const tarball = readdirSync(scratch).find((f) => f.startsWith('tether-retry-'));
    expect(tarball).toMatch(/^tether-retry-0\.1\.0\.tgz$/);
    const listing = run('tar', ['-tzf', join(scratch, tarball as string)], scratch);
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('package/test/');

    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--silent',
        './tether-redact-0.1.0.tgz',
        './tether-errors-0.1.0.tgz',
        `./${tarball}`,
      ],
      scratch,
    );

    // Types resolve for a TypeScript consumer (strict, nodenext) without our tsconfig.
    writeFileSync(
      join(scratch, 'main.ts'),
      [
        "import { classify, type Classification } from '@tether/retry';",
        "const verdict: Classification = classify(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));",
        'console.log(JSON.stringify(verdict));',
        '',
      ].join('\n'),
    );
    writeConsumerTsconfig(scratch, []);
    run('tsc', ['-p', 'tsconfig.json'], scratch);

    // And runs as plain JavaScript, resolving dist/ through the package's exports.
    writeFileSync(
      join(scratch, 'main.mjs'),
      "import { classify } from '@tether/retry';\nconsole.log(JSON.stringify(classify(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))));\n",
    );
    const out = JSON.parse(run(process.execPath, ['main.mjs'], scratch));
    expect(out).toMatchObject({ kind: 'transient', safety: 'always' });
  }, 600_000);
});

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports?: Record<string, string | { types?: string; default?: string }>;
}

/** The workspace libs by package name. */
function libs(): Map<string, { dir: string; manifest: Manifest }> {
  const found = new Map<string, { dir: string; manifest: Manifest }>();
  for (const entry of readdirSync(join(root, 'libs'))) {
    const dir = join(root, 'libs', entry);
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      found.set(manifest.name, { dir, manifest });
    } catch {
      // not a package
    }
  }
  return found;
}

/** `name` and every workspace lib it depends on at runtime, transitively. */
function withInternalDependencies(
  name: string,
  all: ReturnType<typeof libs>,
  seen = new Set<string>(),
): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const lib = all.get(name);
  if (!lib) throw new Error(`${name} is not a workspace lib`);
  const internal = Object.keys(lib.manifest.dependencies ?? {}).filter((d) => all.has(d));
  return [name, ...internal.flatMap((d) => withInternalDependencies(d, all, seen))];
}

describe.each(['@tether/pooling'])('%s packed with its workspace dependencies', (name) => {
  const consumer = mkdtempSync(join(tmpdir(), 'tether-consumer-subpaths-'));
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  it('installs outside the repo, and every subpath of its `exports` imports with types', () => {
    const all = libs();
    const packages = withInternalDependencies(name, all);
    expect(packages.length, 'the lib under test must have internal dependencies').toBeGreaterThan(1);
    const tarballs = join(consumer, 'tarballs');
    mkdirSync(tarballs);
    for (const pkg of packages) {
      const { dir } = all.get(pkg) as { dir: string };
      run('tsc', ['-b', 'tsconfig.lib.json'], dir);
      run('npm', ['pack', '--pack-destination', tarballs, '--silent'], dir);
    }
    const files = readdirSync(tarballs).map((f) => `./tarballs/${f}`);
    expect(files).toHaveLength(packages.length);

    const { manifest } = all.get(name) as { manifest: Manifest };
    const subpaths = Object.entries(manifest.exports ?? {}).filter(([path]) => path !== './package.json');
    expect(subpaths.length).toBeGreaterThan(0);
    const tarball = files.find((f) => f.includes(name.replace('@', '').replace('/', '-'))) as string;
    const listing = run('tar', ['-tzf', join(consumer, tarball)], consumer);
    for (const [path, target] of subpaths) {
      // Each subpath ships both its JavaScript and its declarations, never the sources.
      expect(typeof target, path).toBe('object');
      const { types, default: js } = target as { types: string; default: string };
      expect(listing, path).toContain(`package/${types.replace(/^\.\//, '')}`);
      expect(listing, path).toContain(`package/${js.replace(/^\.\//, '')}`);
    }
    expect(listing).not.toContain('package/src/');

    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    // All tarballs in one install, so the libs' dependencies on each other resolve to them.
    // A TypeScript consumer on Node has @types/node, and installs the (optional) peer drivers the
    // libs declare, with their @types when the libs build against those: the workspace's versions.
    const version = (pkg: string) =>
      (
        JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    const peers = packages.flatMap((pkg) => {
      const { manifest: m } = all.get(pkg) as { manifest: Manifest };
      return Object.keys(m.peerDependencies ?? {}).flatMap((peer) => [
        peer,
        ...(m.devDependencies?.[`@types/${peer}`] ? [`@types/${peer}`] : []),
      ]);
    });
    const install = [...files, ...['@types/node', ...new Set(peers)].map((pkg) => `${pkg}@${version(pkg)}`)];
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', ...install], consumer);

    const specifiers = subpaths.map(([path]) => (path === '.' ? name : `${name}/${path.slice(2)}`));
    writeFileSync(
      join(consumer, 'main.ts'),
      specifiers
        .map((s, i) => `import * as m${i} from '${s}';\nconsole.log(Object.keys(m${i}).length);\n`)
        .join(''),
    );
    writeConsumerTsconfig(consumer, ['node']);
    run('tsc', ['-p', 'tsconfig.json'], consumer);

    // Plain JavaScript: every subpath resolves to dist/ and exports something.
    writeFileSync(
      join(consumer, 'main.mjs'),
      `const specifiers = ${JSON.stringify(specifiers)};\n` +
        'const counts = [];\nfor (const s of specifiers) counts.push(Object.keys(await import(s)).length);\n' +
        'console.log(JSON.stringify(counts));\n',
    );
    const counts = JSON.parse(run(process.execPath, ['main.mjs'], consumer)) as number[];
    expect(counts).toHaveLength(specifiers.length);
    for (const count of counts) expect(count).toBeGreaterThan(0);
  }, 600_000);
});
