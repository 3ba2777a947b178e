/**
 * The fixed-rate load generator's own process (started by `fixedRateInChild` in load.ts): receives
 * its options over IPC, imports the op factory, runs the warm-up and the measured window, and sends
 * the tally back.
 */
import { pathToFileURL } from 'node:url';
import { type ChildLoadOptions, type ChildLoadResult, emptyTally, fixedRate, type Op } from './load.ts';

type Factory = (args: unknown) => Op | Promise<Op>;

async function run(options: ChildLoadOptions): Promise<ChildLoadResult> {
  const loaded = (await import(pathToFileURL(String(options.module)).href)) as Record<string, unknown>;
  const factory = loaded[options.exportName ?? 'createOp'];
  if (typeof factory !== 'function')
    return { error: `${String(options.module)} exports no function ${options.exportName ?? 'createOp'}` };
  const op = await (factory as Factory)(options.args);
  try {
    if (options.warmupMs) await fixedRate(op, options.perSecond, options.warmupMs, emptyTally());
    const tally = emptyTally();
    await fixedRate(op, options.perSecond, options.durationMs, tally);
    return { tally };
  } finally {
    const close = loaded['close'];
    if (typeof close === 'function') await (close as () => Promise<void>)();
  }
}

process.once('message', (options: ChildLoadOptions) => {
  run(options).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) =>
      process.send?.({ error: error instanceof Error ? error.message : String(error) }, () =>
        process.exit(1),
      ),
  );
});
