import { register as registerAsyncHooks } from 'node:module';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';

/**
 * Modules our instrumentations patch. Only these go through the ESM loader hook: wrapping every
 * module costs start-up time and has broken packages in the past.
 */
export const hookedModules = ['express', 'pg', 'ioredis', 'http', 'https', 'node:http', 'node:https'];

let registered = false;

/**
 * Makes ESM `import express from 'express'` patchable. require-in-the-middle only sees `require()`:
 * a CJS package imported from ESM is loaded by Node's ESM translator and never passes through it,
 * so without this hook express (imported directly by the app) is silently not instrumented.
 * Modules loaded BEFORE this runs stay unpatched: see the README for the two safe start-up shapes.
 */
export function registerEsmHooks(): void {
  if (registered) return;
  registered = true;
  if (supportsSyncHooks()) {
    // In-thread (module.registerHooks): no loader thread, no message channel to acknowledge.
    registerSyncHooks({ include: hookedModules });
  } else {
    registerAsyncHooks('import-in-the-middle/hook.mjs', import.meta.url, {
      data: { include: hookedModules },
    });
  }
}
