import { get } from 'node:http';

export interface ProbeSettings {
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  /** Wait before the first probe (k8s initialDelaySeconds). Default: a random offset inside the first period. */
  initialDelayMs?: number;
}

/** One HTTP GET like the kubelet's httpGet probe: 200–399 within the timeout is a success. */
export function probeOnce(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy(new Error('probe timeout')));
    req.once('error', () => resolve(false));
  });
}

/**
 * Probes one URL every `periodMs` and reports a state change after `failureThreshold` failures /
 * `successThreshold` successes in a row, like the kubelet's httpGet probes. The state starts unknown,
 * so the first threshold reached is always reported (a startup probe that never passes reports
 * `false`). Without `initialDelayMs` the first probe lands at a random offset inside the first period,
 * as the kubelet's readiness probes do.
 */
export class HttpProber {
  readonly #url: string;
  readonly #settings: ProbeSettings;
  readonly #onChange: (ok: boolean) => void;
  #state: boolean | undefined;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    url: string,
    settings: ProbeSettings,
    onChange: (ok: boolean) => void,
    random: () => number = Math.random,
  ) {
    this.#url = url;
    this.#settings = settings;
    this.#onChange = onChange;
    this.#schedule(settings.initialDelayMs ?? Math.floor(random() * settings.periodMs));
  }

  /** The last reported state; false while unknown. */
  get ok(): boolean {
    return this.#state === true;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    const startedAt = performance.now();
    const ok = await probeOnce(this.#url, this.#settings.timeoutMs);
    if (this.#stopped) return;
    if (ok) {
      this.#failures = 0;
      this.#successes += 1;
      if (this.#state !== true && this.#successes >= this.#settings.successThreshold) {
        this.#state = true;
        this.#onChange(true);
      }
    } else {
      this.#successes = 0;
      this.#failures += 1;
      if (this.#state !== false && this.#failures >= this.#settings.failureThreshold) {
        this.#state = false;
        this.#onChange(false);
      }
    }
    this.#schedule(Math.max(0, this.#settings.periodMs - (performance.now() - startedAt)));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
