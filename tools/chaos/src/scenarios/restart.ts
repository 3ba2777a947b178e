/** A dependency's restart, the same for Postgres and Redis: stop, stay down, start, mark both moments. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultWindow, ScenarioContext } from '../scenario.ts';

export async function restartServer(
  ctx: ScenarioContext,
  name: string,
  server: { stop(): Promise<void>; start(): Promise<void> },
): Promise<FaultWindow> {
  const startMs = ctx.mark(`${name} stops`);
  await server.stop();
  await sleep(ctx.size.quick ? 2_000 : 5_000);
  await server.start();
  return { startMs, backMs: ctx.mark(`${name} is back`) };
}
