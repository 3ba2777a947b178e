/**
 * `chart-verify simulate`: a local emulation of the kubelet, the endpoints controller and a Service
 * for one rendered Deployment, rolled under load. See the README's "simulate" section.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simulateHelp, parseSimulateArgs, UsageError } from './options.ts';
import { reportHtml } from './html.ts';
import { summaryText } from './report.ts';
import { simulate } from './run.ts';

export { simulateHelp } from './options.ts';
export { simulate } from './run.ts';
export type { SimulateOptions } from './options.ts';
export type { SimulationReport } from './report.ts';

/**
 * Runs `chart-verify simulate` with `argv` (the arguments after the subcommand). Writes report.json
 * and report.html to --out and a summary to stdout. Resolves to the exit code: 0 passed, 1 failures
 * found, 2 bad options or a simulation that could not run.
 */
export async function runSimulate(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseSimulateArgs(argv);
  } catch (error) {
    process.stderr.write(
      `chart-verify simulate: ${(error as Error).message}\n(chart-verify simulate --help lists the options)\n`,
    );
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${simulateHelp}\n`);
    return 0;
  }
  try {
    const report = await simulate(options, (line) => process.stdout.write(`simulate: ${line}\n`));
    const out = resolve(options.out);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(out, 'report.html'), reportHtml(report));
    process.stdout.write(`${summaryText(report)}\nreport: ${join(out, 'report.html')}\n`);
    return report.passed ? 0 : 1;
  } catch (error) {
    const prefix = error instanceof UsageError ? '' : 'simulation failed: ';
    process.stderr.write(`chart-verify simulate: ${prefix}${(error as Error).message}\n`);
    return 2;
  }
}
