/**
 * `@tether/ws-client` bundled for the browser, as the console page loads it: esbuild (the bundler
 * the workspace already has), platform browser with the package's `browser` condition, so the
 * native WebSocket transport is used and no `ws` or Node built-in is in the bundle. Bundled by path,
 * like the apps are started by path: the devstack is a testkit and may not import a lib.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

/** The ES module the page imports as `/ws-client.js`. */
export async function bundleWsClient(workspaceRoot: string): Promise<string> {
  const result = await build({
    entryPoints: [join(workspaceRoot, 'libs/ws-client/src/index.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@tether/source', 'browser'],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
