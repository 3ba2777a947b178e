/** Work in progress that shutdown waits for: a running job, a transaction, a long upload. */
export interface Beacon {
  readonly name: string;
  /**
   * Aborts when the shutdown deadline arrives while this work is still running: stop, put the work
   * back (requeue the job) and call `release()`; the lifecycle gives that `releaseGraceMs`.
   */
  readonly signal: AbortSignal;
  /** The work is finished (or handed back). Idempotent. */
  release(): void;
}

interface Entry {
  name: string;
  controller: AbortController;
}

/** Live beacons; shutdown waits until it is empty, up to its deadline. */
export class BeaconRegistry {
  readonly #entries = new Set<Entry>();
  readonly #waiters = new Set<() => void>();

  create(name: string): Beacon {
    const entry: Entry = { name, controller: new AbortController() };
    this.#entries.add(entry);
    let released = false;
    return {
      name,
      signal: entry.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        this.#entries.delete(entry);
        if (this.#entries.size === 0) for (const wake of this.#waiters) wake();
      },
    };
  }

  whenEmpty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
  }

  abortAll(reason: Error): void {
    for (const entry of this.#entries) entry.controller.abort(reason);
  }

  names(): string[] {
    return [...this.#entries].map((entry) => entry.name);
  }
}
