import { build, type Metafile } from 'esbuild';

/**
 * Bundles the package's entry as a browser app would (esbuild, platform browser, the "browser"
 * condition; @tether/source so the workspace sources are used). Node built-ins are not available
 * on that platform, so a stray import of one fails the build itself.
 */
export async function bundleForBrowser(
  platform: 'browser' | 'node' = 'browser',
): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform,
    conditions: platform === 'browser' ? ['@tether/source', 'browser'] : ['@tether/source'],
    metafile: true,
    logLevel: 'silent',
  });
  return {
    code: result.outputFiles[0]!.text,
    inputs: Object.keys((result.metafile as Metafile).inputs),
  };
}
