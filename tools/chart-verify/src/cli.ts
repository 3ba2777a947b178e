#!/usr/bin/env node
/**
 * chart-verify: prove that a chart's pod lifecycle drops no request. `chart-verify --help`.
 * Each subcommand is loaded only when it runs, and `<command> --help` loads only its help text
 * (the Kubernetes client takes seconds to import).
 */
const help = `chart-verify <command> [options]    (chart-verify <command> --help for each)

Proves that a workload's probes, preStop hook, grace period and rollout strategy add up to
rollouts and node drains that drop no request, three ways:

  static     check the rendered objects of a chart, or manifests, against the lifecycle policy
             (no cluster):  chart-verify static charts/api
  simulate   run the app's real entry point as local replicas behind an emulated kubelet,
             endpoints controller and Service, roll it under load, count failed requests
             (no cluster):  chart-verify simulate charts/api
  live       install the chart in the cluster of the --context you name (never another), roll
             it while an in-cluster load Job hits the Service, check every old endpoint left
             rotation before its pod stopped serving:  chart-verify live charts/api --context kind-kind

exit status: 0 passed, 1 a violation or a failed request, 2 bad input.`;

type Command = (argv: string[]) => Promise<number>;

interface Subcommand {
  help: () => Promise<string>;
  run: () => Promise<Command>;
}

/** Built separately in src/simulate; a variable specifier keeps this file compiling without it. */
async function simulateModule(): Promise<{ runSimulate: Command; simulateHelp: string } | undefined> {
  const specifier = './simulate/index.ts';
  try {
    return (await import(specifier)) as { runSimulate: Command; simulateHelp: string };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return undefined;
  }
}

const missingSimulate =
  'chart-verify simulate: not available in this build (src/simulate/index.ts is missing)';

const commands: Record<string, Subcommand> = {
  static: {
    help: async () => (await import('./static/help.ts')).staticHelp,
    run: async () => (await import('./static/command.ts')).runStatic,
  },
  simulate: {
    help: async () => (await simulateModule())?.simulateHelp ?? missingSimulate,
    run: async () =>
      (await simulateModule())?.runSimulate ??
      (async () => {
        console.error(missingSimulate);
        return 2;
      }),
  },
  live: {
    help: async () => (await import('./live/help.ts')).liveHelp,
    run: async () => (await import('./live/command.ts')).runLive,
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    console.log(help);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`chart-verify: unknown command "${name}" (commands: ${Object.keys(commands).join(', ')})`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(await command.help());
    return 0;
  }
  return (await command.run())(rest);
}

process.exitCode = await main(process.argv.slice(2));
