#!/usr/bin/env node
/**
 * `npm run chaos [-- <scenario>...] [--quick] [--out <dir>] [--verbose]`: runs main.ts with the
 * workspace's source condition (the root script cannot pass Node flags).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
const result = spawnSync(process.execPath, ['--conditions=@tether/source', main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
