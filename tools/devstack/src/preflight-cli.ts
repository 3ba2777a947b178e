/**
 * `npm run preflight -- [test|start]` (`node tools/devstack/src/preflight-cli.ts test`): lists every
 * prerequisite the command lacks, with install commands; exits 1 when a required one is missing.
 * `npm test` runs it first; `npm start` runs the same check from its CLI.
 */
import { preflight, type PreflightCommand } from './preflight.ts';

const command = process.argv[2] ?? 'test';
if (command !== 'test' && command !== 'start') {
  console.error(`usage: node tools/devstack/src/preflight-cli.ts [test|start] (unexpected: ${command})`);
  process.exit(2);
}
preflight(command satisfies PreflightCommand);
console.error(`preflight: ready for npm ${command}`);
