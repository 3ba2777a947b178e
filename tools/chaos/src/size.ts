/** How big a run is: `--quick` (inside `npm test`) or full (`npm run chaos`). */
export interface Size {
  quick: boolean;
  /** HTTP requests started per second against the platform (and as many against the control). */
  ratePerS: number;
  /** Steady load before the fault, ms. */
  warmupMs: number;
  /** Load after the fault is over, ms. */
  afterMs: number;
  /** WebSocket clients following jobs. */
  clients: number;
  /** Clients in the gateway-restart scenario. */
  gatewayClients: number;
  /** How long the database traffic is blackholed, ms. */
  blackholeMs: number;
  /** A logical request is given up after this long, ms. */
  deadlineMs: number;
  /** One HTTP attempt's timeout, ms (generous: a busy 2-core machine answers slowly). */
  attemptTimeoutMs: number;
  /** How long to wait for the last jobs to finish and their events to arrive, ms. */
  settleMs: number;
  /** Worker lease TTL, ms (a killed worker's jobs are requeued after it). */
  leaseTtlMs: number;
  /** The job every POST asks for. */
  job: { type: string; payload: Record<string, unknown> };
}

export function sizeFor(quick: boolean): Size {
  const job = { type: 'demo.sleep', payload: { ms: 400, steps: 4 } };
  return quick
    ? {
        quick,
        ratePerS: 4,
        warmupMs: 2_000,
        afterMs: 3_000,
        clients: 4,
        gatewayClients: 50,
        blackholeMs: 6_000,
        deadlineMs: 30_000,
        attemptTimeoutMs: 10_000,
        settleMs: 30_000,
        leaseTtlMs: 3_000,
        job,
      }
    : {
        quick,
        ratePerS: 10,
        warmupMs: 5_000,
        afterMs: 10_000,
        clients: 50,
        gatewayClients: 1_000,
        blackholeMs: 30_000,
        deadlineMs: 60_000,
        attemptTimeoutMs: 10_000,
        settleMs: 60_000,
        leaseTtlMs: 10_000,
        job,
      };
}
