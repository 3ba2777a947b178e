/**
 * `node --import @tether/telemetry/register ./src/main.ts`: installs the ESM loader hook before the
 * app's module graph loads, so static `import express from 'express'` can be instrumented even
 * though `startTelemetry()` runs later (in the first module main.ts imports).
 */
import { registerEsmHooks } from './esm-hooks.ts';

registerEsmHooks();
