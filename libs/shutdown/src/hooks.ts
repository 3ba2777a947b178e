import { describeError, type Logger } from './logger.ts';

export type ShutdownHookFn = () => Promise<void> | void;

export interface ShutdownHookOptions {
  /** The hook is abandoned (and the exit code becomes 1) after this long. Default: the lifecycle's hookTimeoutMs (5000 ms). */
  timeoutMs?: number;
}

export interface Hook {
  name: string;
  fn: ShutdownHookFn;
  timeoutMs: number;
}

const timedOut = Symbol('timed out');

/**
 * Runs hooks in reverse order of registration: what was set up last (servers, consumers) stops
 * before what it uses (pools), and telemetry, registered first, flushes last. Each hook gets its own
 * timeout, cut short by the overall deadline; a hook that fails or times out is logged by name and
 * the rest still run. Returns false when any hook did not finish cleanly.
 */
export async function runHooks(
  hooks: readonly Hook[],
  deadline: number,
  logger: Logger,
  onRunning: (name: string | undefined) => void,
): Promise<boolean> {
  let clean = true;
  for (const hook of [...hooks].reverse()) {
    const budgetMs = Math.min(hook.timeoutMs, Math.floor(deadline - performance.now()));
    if (budgetMs <= 0) {
      logger.error({ hook: hook.name }, `shutdown hook ${hook.name} skipped: shutdown deadline reached`);
      clean = false;
      continue;
    }
    onRunning(hook.name);
    const startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        new Promise<void>((resolve) => resolve(hook.fn())),
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), budgetMs);
        }),
      ]);
      if (outcome === timedOut) {
        clean = false;
        logger.error(
          { hook: hook.name, timeoutMs: budgetMs },
          `shutdown hook ${hook.name} did not finish within ${budgetMs} ms`,
        );
      } else {
        logger.info(
          { hook: hook.name, durationMs: Math.round(performance.now() - startedAt) },
          `shutdown hook ${hook.name} done`,
        );
      }
    } catch (error) {
      clean = false;
      logger.error({ hook: hook.name, error: describeError(error) }, `shutdown hook ${hook.name} failed`);
    } finally {
      clearTimeout(timer);
      onRunning(undefined);
    }
  }
  return clean;
}
