/**
 * The chaos run (started by cli.ts under `--conditions=@tether/source`): one shared stack, the chosen
 * scenarios one after the other, then the table, `.tether/chaos/<scenario>.json` and `index.html`.
 * Exit 1 when a scenario fails its budget or a control unexpectedly passes.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReports } from './report.ts';
import { brokenResult, runScenario, type ScenarioResult } from './scenario.ts';
import { scenarios } from './scenarios/index.ts';
import { sizeFor } from './size.ts';
import { ChaosStack, workspaceRoot } from './stack.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(workspaceRoot, '.tether', 'chaos') },
    verbose: { type: 'boolean', default: false },
  },
});

const names = scenarios.map((s) => s.name);
const unknown = positionals.filter((p) => !names.includes(p));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${names.join(', ')}`);
  process.exit(2);
}
const size = sizeFor(values.quick);
// Named scenarios always run; otherwise a quick run leaves out the full-run-only ones.
const chosen =
  positionals.length > 0
    ? scenarios.filter((s) => positionals.includes(s.name))
    : scenarios.filter((s) => !(size.quick && s.fullOnly));
const log = (line: string) => console.log(line);
const appLog = values.verbose ? log : () => {};

const stack = await ChaosStack.start({ stateDir: values.out, leaseTtlMs: size.leaseTtlMs, log: appLog });
const results: ScenarioResult[] = [];
let ok = false;
try {
  for (const scenario of chosen) {
    log(`scenario ${scenario.name}: ${scenario.fault}`);
    const t0 = Date.now();
    results.push(
      await runScenario(scenario, stack, size, log).catch((error: unknown) => {
        log(`  ${scenario.name} could not run: ${(error as Error).stack ?? String(error)}`);
        return brokenResult(scenario, size, error);
      }),
    );
    log(`  ${scenario.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  // Before the stack is closed: a close that hangs must not take the run's evidence with it.
  ok = writeReports(results, values.out);
} finally {
  // Bounded: a connection the fault left half-open can keep a server's close waiting for ever; the
  // exit hooks (stack.ts, the devstack's watchdog) still take down whatever is left.
  const closed = await Promise.race([
    stack.close().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 60_000).unref()),
  ]);
  if (!closed) console.log('the stack did not close within 60 s: left to the exit hooks');
}
process.exit(ok ? 0 : 1);
